"""The Draft area: an email in the person's voice, with why it reads that way, saved or copied."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static, TextArea

from assistant.tui import data


class DraftArea(Horizontal):
    """The request (instruction, recipient), the draft, and beside it why it reads that way."""

    DEFAULT_CSS = """
    #draft-form { width: 2fr; }
    #draft-why { width: 1fr; min-width: 24; padding: 0 1; border-left: solid $primary; }
    #draft-buttons { height: auto; }
    #draft-buttons Button { margin-right: 1; min-width: 8; }
    #draft-text { height: 1fr; min-height: 4; }
    """
    BINDINGS = [Binding("ctrl+s", "save_eml", "Save .eml", show=False)]

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.last_draft: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="draft-form"):
            yield Input(placeholder="What should the email say?", id="draft-instruction", select_on_focus=False)
            yield Input(placeholder="To (a name; → accepts a suggestion)", id="draft-to")
            with Horizontal(id="draft-buttons"):
                yield Button("Draft", id="draft-go", variant="primary")
                yield Button("Again", id="draft-again")
                yield Button("Save .eml", id="draft-save")
                yield Button("Copy", id="draft-copy")
            yield TextArea(id="draft-text", soft_wrap=True)
        yield Static("Why this draft: the exemplars and style notes it used appear here.",
                     id="draft-why", markup=False)

    def request(self, instruction: str) -> None:
        """Put `instruction` in the box and, when there is one, start drafting it."""
        box = self.query_one("#draft-instruction", Input)
        box.value = instruction
        box.cursor_position = len(box.value)
        if instruction:
            self.start_draft()

    def action_save_eml(self) -> None:
        text = self.query_one("#draft-text", TextArea).text.strip()
        if not text:
            self.notify("There is no draft to save yet: write a request and press Draft.",
                        title="Nothing to save", severity="warning")
            return
        instruction, to = self.last_draft or (self.query_one("#draft-instruction", Input).value, "")
        assistant = self.app.assistant
        me = assistant.config.me
        try:
            path = data.save_eml(assistant.home.root / "drafts", me.emails[0] if me.emails else "", to,
                                 instruction[:78] or "Draft", text)
        except OSError as exc:
            self.notify(f"{exc}; check that the folder is writable and the disk has space.",
                        title="Could not save the draft", severity="error")
            return
        self.notify(f"Saved {path}", title="Draft saved")

    @on(Input.Submitted, "#draft-instruction")
    @on(Input.Submitted, "#draft-to")
    @on(Button.Pressed, "#draft-go")
    @on(Button.Pressed, "#draft-again")
    def start_draft(self) -> None:
        instruction = self.query_one("#draft-instruction", Input).value.strip()
        if not instruction:
            self.notify("Type what the email should say first, e.g. “thank Sam for the site visit”.",
                        title="No request", severity="warning")
            return
        to = self.query_one("#draft-to", Input).value.strip()
        self.last_draft = (instruction, to)
        self.query_one("#draft-why", Static).update("Drafting…")
        self.make_draft(instruction, to)

    @on(Button.Pressed, "#draft-save")
    def save_pressed(self) -> None:
        self.action_save_eml()

    @on(Button.Pressed, "#draft-copy")
    def copy_pressed(self) -> None:
        text = self.query_one("#draft-text", TextArea).text
        if not text.strip():
            self.notify("There is no draft to copy yet.", title="Nothing to copy", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify("Draft copied to the clipboard.")

    @work(thread=True, exclusive=True, group="draft")
    def make_draft(self, instruction: str, to: str) -> None:
        from assistant.profile.style import stored_style

        app = self.app
        try:
            with app.lock:
                assistant = app.assistant
                result = assistant.skill("draft").run(assistant, instruction=instruction, to=to or None,
                                                      max_tokens=app.max_tokens)
                notes = stored_style(assistant.db).notes(to or None)
                exemplars = data.exemplar_sources(assistant.db, result.used)
        except Exception as exc:  # noqa: BLE001
            app.call_from_thread(self.query_one("#draft-why", Static).update, "The draft failed; see the message.")
            app.fail("Could not draft", exc)
            return
        why = ["Why this draft", f"Model: {result.model}", "", "Your emails used as examples:"]
        why += [f"• {line}" for line in exemplars] or ["• none found"]
        why += ["", "Style notes:"] + ([f"• {note}" for note in notes] or ["• none yet"])
        app.call_from_thread(self._show_draft, result.draft, "\n".join(why))

    def _show_draft(self, text: str, why: str) -> None:
        self.query_one("#draft-text", TextArea).text = text
        self.query_one("#draft-why", Static).update(Text(why))
