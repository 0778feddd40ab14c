"""The Suggestions area: the `suggest` skill's list (unanswered mail, open promises) with its
evidence; Enter asks the app to open the Draft area with what `assistant draft --from-suggestion ID`
would draft (`SuggestionsPane.DraftRequested`)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from assistant.tui.pane import StorePane

INTRO = ("Mail from people you write to that you have not answered, and promises in your sent mail that no "
         "later email follows up. Enter (or d) opens a draft for the highlighted one.")
NOTHING = ("Nothing to suggest: no unanswered mail from people you write to, and no open promises in your "
           "sent mail.")
KINDS = {"unanswered": "reply", "commitment": "promise"}


class SuggestionsPane(StorePane):
    DEFAULT_CSS = """
    SuggestionsPane #suggestions-table { height: auto; max-height: 12; }
    SuggestionsPane #suggestion-evidence-box { height: 1fr; min-height: 3; border-top: solid $primary; }
    """
    BINDINGS = [Binding("d", "draft", "Draft it")]

    class DraftRequested(Message):
        """Open the Draft area with this request: the instruction and recipient `assistant draft
        --from-suggestion ID` uses, and for unanswered mail the Message-ID of the email to answer."""

        def __init__(self, instruction: str, to: str, reply_to: str | None, item=None) -> None:
            super().__init__()
            self.instruction, self.to, self.reply_to = instruction, to, reply_to
            self.item = item  # the `Suggestion`

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield Static("Looking for what you may want to act on…", id="suggestions-note", markup=False)
        yield DataTable(id="suggestions-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="suggestion-evidence-box"):
            yield Static("", id="suggestion-evidence", markup=False)

    def on_mount(self) -> None:
        self.query_one("#suggestions-table", DataTable).add_columns("kind", "person", "subject", "date")

    def on_show(self) -> None:
        """Enter and d act on the list at once when the area opens."""
        table = self.query_one("#suggestions-table", DataTable)
        if table.display:
            table.focus()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="suggestions")
    def load(self) -> None:
        app = self.app
        try:
            with app.lock:  # the skill reads through the Assistant's connection
                items = app.assistant.skill("suggest").run(app.assistant)
        except Exception as exc:  # noqa: BLE001 - reported, the rest of the app goes on
            app.fail("Could not list suggestions", exc)
            return
        app.call_from_thread(self._show, items)

    def _show(self, items: list) -> None:
        self.items = {item.id: item for item in items}
        self.query_one("#suggestions-note", Static).update(INTRO if items else NOTHING)
        table = self.query_one("#suggestions-table", DataTable)
        table.clear()
        table.display = bool(items)
        for item in items:
            table.add_row(KINDS.get(item.kind, item.kind), Text(item.person), Text(item.document), item.date,
                          key=item.id)
        if not items:
            self.query_one("#suggestion-evidence", Static).update("")

    @on(DataTable.RowHighlighted, "#suggestions-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = self.items[event.row_key.value]
        what = "Unanswered" if item.kind == "unanswered" else "You promised"
        lines = [f"{what} — {item.person} <{item.address}>, {item.date}, “{item.document}”",
                 f"“{item.evidence}”"]
        if item.suggested_reply:
            lines.append(f"Suggested reply: {item.suggested_reply}")
        lines.append(f"ID {item.id}: Enter or d drafts it (assistant draft --from-suggestion {item.id})")
        self.query_one("#suggestion-evidence", Static).update(Text("\n".join(lines)))

    @on(DataTable.RowSelected, "#suggestions-table")
    def selected(self, event: DataTable.RowSelected) -> None:
        self.request_draft(event.row_key.value)

    def action_draft(self) -> None:
        table = self.query_one("#suggestions-table", DataTable)
        if not table.row_count:
            self.app.notify("There is no suggestion to draft from.", title="Nothing to draft", severity="warning")
            return
        self.request_draft(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @work(thread=True, exclusive=True, group="suggestion-draft")
    def request_draft(self, suggestion_id: str) -> None:
        """Turn the item into a draft request as `draft --from-suggestion` does, and hand it to the app."""
        app = self.app
        try:
            with app.lock:
                instruction, to, reply_to = app.assistant.skill("suggest").draft_request(app.assistant, suggestion_id)
        except Exception as exc:  # noqa: BLE001
            app.fail("Could not turn the suggestion into a draft", exc)
            return
        app.call_from_thread(self.post_message,
                             self.DraftRequested(instruction, to, reply_to, self.items.get(suggestion_id)))
