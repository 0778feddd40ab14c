"""The Suggestions area: what the person may want to act on."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from assistant.tui import data
from assistant.tui.pane import StorePane

OWED = ("Replies you may owe: mail from people you have written to at least twice that no email of yours "
        "in the store answers. Other suggestions arrive with the suggest skill, which has not landed yet.")
NONE_OWED = ("No replies owed: every email from the people you write to has an answer from you in the store. "
             "Other suggestions arrive with the suggest skill, which has not landed yet.")


class SuggestionsPane(StorePane):
    DEFAULT_CSS = """
    SuggestionsPane DataTable { height: auto; max-height: 12; margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Looking for mail you have not answered…", id="suggestions-note", markup=False)
            yield DataTable(id="suggestions-owed", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#suggestions-owed", DataTable).add_columns("from", "subject", "date")

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="suggestions")
    def load(self) -> None:
        try:
            with self.app.reader() as db:
                owed = data.unanswered(db)
        except Exception as exc:  # noqa: BLE001
            self.app.fail("Could not read the store", exc)
            return
        self.app.call_from_thread(self._show_owed, owed)

    def _show_owed(self, owed: list[dict]) -> None:
        self.query_one("#suggestions-note", Static).update(OWED if owed else NONE_OWED)
        table = self.query_one("#suggestions-owed", DataTable)
        table.clear()
        table.display = bool(owed)
        for row in owed:
            table.add_row(Text(row["from"]), Text(row["subject"]), row["date"])
