"""Small dialogs over the app: a fact's words (Profile's edit and add) and a yes/no question."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class FactInput(ModalScreen[tuple[str, str] | None]):
    """A small dialog for a fact's words (edit, add); add also takes an optional category."""

    DEFAULT_CSS = """
    FactInput { align: center middle; }
    FactInput > Vertical { width: 70; max-width: 95%; height: auto; border: thick $primary; padding: 0 1;
                           background: $surface; }
    FactInput Label { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", with_category: bool = False) -> None:
        super().__init__()
        self.title_text, self.value, self.with_category = title, value, with_category

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.value, placeholder="e.g. I live in Denver", id="fact-text")
            if self.with_category:
                yield Input(placeholder="category (empty: guessed), e.g. home, work, diet", id="fact-category")
            yield Label("Enter saves, Escape cancels.", classes="hint")

    @on(Input.Submitted)
    def submitted(self) -> None:
        category = self.query_one("#fact-category", Input).value.strip() if self.with_category else ""
        self.dismiss((self.query_one("#fact-text", Input).value, category))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Static { width: 70; max-width: 95%; height: auto; border: thick $error; padding: 1 2;
                       background: $surface; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(Text(self.question + "\n\ny: yes   n: no"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
