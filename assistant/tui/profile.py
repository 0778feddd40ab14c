"""The Profile area: the facts the assistant believes about the person (with their evidence, for
them to correct), how they write in each context and to each person, and their persona.

Every change goes through the functions `assistant profile edit|pin|reject|forget|add` call
(`assistant.profile.fact_actions`, `assistant.forget.forget_fact`), in a thread worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, DataTable, Input, Static, Tab, Tabs

from assistant.tui.dialogs import Confirm, FactInput
from assistant.tui.pane import StorePane

NO_FACTS = ("No facts about you yet. `assistant profile refresh` (or indexing) reads your writing for them; "
            "press a to tell me one.")
NO_PERSONA = ("No persona yet: `assistant profile refresh` induces one from your style notes and facts, "
              "and keeps each version here.")
# The facts table's columns: (key, label); sorting is by key.
COLUMNS = [("category", "category"), ("text", "fact"), ("confidence", "conf"), ("last_seen", "last seen"),
           ("status", "status"), ("sensitive", "sens")]
# The fact column takes the table's width less the other columns (and their padding, and the
# scroll bar), at least MIN_TEXT_WIDTH; the viewer below shows a fact in full.
OTHER_COLUMNS_WIDTH = 48
MIN_TEXT_WIDTH = 16


@dataclass
class FactRow:
    id: int
    category: str
    text: str
    confidence: float
    last_seen: str
    status: str
    sensitive: bool


def shown_facts(rows: list[FactRow], query: str, key: str, reverse: bool) -> list[FactRow]:
    """The rows whose category, text or status hold every word of `query`, sorted by column `key`."""
    words = query.lower().split()
    kept = [r for r in rows if all(w in f"{r.category} {r.text} {r.status}".lower() for w in words)]
    return sorted(kept, key=lambda r: (getattr(r, key), -r.id), reverse=reverse)


class ProfilePane(StorePane):
    DEFAULT_CSS = """
    ProfilePane #profile-tabs { height: 2; }
    ProfilePane #facts-filter-row { height: auto; }
    ProfilePane #facts-filter { width: 1fr; }
    ProfilePane #facts-caption { width: auto; padding: 1 1 0 1; color: $text-muted; }
    ProfilePane #facts-table { height: 1fr; min-height: 4; }
    ProfilePane #fact-evidence-box { height: 1fr; min-height: 3; border-top: solid $primary; }
    ProfilePane DataTable.small { height: auto; max-height: 10; margin-bottom: 1; }
    ProfilePane .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("p", "pin", "Pin"),
        Binding("r", "reject", "Reject"),
        Binding("x,delete", "forget", "Forget"),
        Binding("a", "add", "Add"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[FactRow] = []
        self.style = None
        self.personas: dict[str, dict] = {}
        self.sort_key, self.sort_reverse = "confidence", True

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("Facts", id="tab-facts"), Tab("Style", id="tab-style"), Tab("Persona", id="tab-persona"),
                   id="profile-tabs")
        with ContentSwitcher(initial="view-facts", id="profile-views"):
            with Vertical(id="view-facts"):
                with Horizontal(id="facts-filter-row"):
                    yield Input(placeholder="Filter: words, a category or a status", id="facts-filter")
                    yield Static("", id="facts-caption", markup=False)
                yield DataTable(id="facts-table", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="fact-evidence-box"):
                    yield Static("Reading your facts…", id="fact-evidence", markup=False)
            with VerticalScroll(id="view-style"):
                yield Static("Reading how you write…", id="profile-style", markup=False)
                yield Static("The people you write to most (highlight one for its notes)", classes="heading")
                yield DataTable(id="profile-people", cursor_type="row", zebra_stripes=True, classes="small")
                yield Static("", id="person-notes", markup=False)
            with VerticalScroll(id="view-persona"):
                yield Static("Reading your persona…", id="persona-text", markup=False)
                yield Static("Versions (highlight one for its statements)", classes="heading")
                yield DataTable(id="persona-versions", cursor_type="row", zebra_stripes=True, classes="small")
                yield Static("", id="persona-version", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#facts-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#profile-people", DataTable).add_columns("correspondent", "emails", "greeting", "sign-off")
        self.query_one("#persona-versions", DataTable).add_columns("version", "made", "model", "statements kept")

    def on_show(self) -> None:
        """Keys act on the facts at once when the area opens on them."""
        outside = self.screen.focused is None or self not in self.screen.focused.ancestors
        if outside and self.query_one(ContentSwitcher).current == "view-facts":
            self.query_one("#facts-table", DataTable).focus()

    @on(Tabs.TabActivated, "#profile-tabs")
    def switch_view(self, event: Tabs.TabActivated) -> None:
        event.stop()  # not the app's area tabs
        self.query_one(ContentSwitcher).current = "view-" + event.tab.id.removeprefix("tab-")
        self.refresh_bindings()  # the fact keys leave the footer outside the facts view

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """The fact actions only while the facts are shown."""
        if action in ("edit", "pin", "reject", "forget", "add", "sort", "filter"):
            return self.query_one(ContentSwitcher).current == "view-facts"
        return True

    # -- reading --------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_facts()
        self.load_profile()

    @work(thread=True, exclusive=True, group="profile-facts")
    def load_facts(self, select: int | None = None) -> None:
        from assistant.profile import facts

        try:
            with self.app.reader() as db:
                rows = [FactRow(f.id, f.category, f.text, f.confidence, (f.last_seen or "")[:10], f.status,
                                f.sensitive) for f in facts.all_facts(db)]
        except Exception as exc:  # noqa: BLE001 - reported, the rest of the app goes on
            self.app.fail("Could not read your facts", exc)
            return
        self.app.call_from_thread(self._show_facts, rows, select)

    @work(thread=True, exclusive=True, group="profile-style")
    def load_profile(self) -> None:
        from assistant.profile.persona import versions
        from assistant.profile.style import stored_style

        try:
            with self.app.reader() as db:
                style, personas = stored_style(db), versions(db)
        except Exception as exc:  # noqa: BLE001
            self.app.fail("Could not read your profile", exc)
            return
        self.app.call_from_thread(self._show_style, style)
        self.app.call_from_thread(self._show_personas, personas)

    @work(thread=True, exclusive=True, group="profile-evidence")
    def load_evidence(self, fact_id: int) -> None:
        from assistant.profile.facts_summary import why_data

        try:
            with self.app.reader() as db:
                data = why_data(db, fact_id)
        except Exception as exc:  # noqa: BLE001
            self.app.fail("Could not read the fact's evidence", exc)
            return
        self.app.call_from_thread(self._show_evidence, data)

    # -- facts ----------------------------------------------------------------------------------

    def _show_facts(self, rows: list[FactRow], select: int | None = None) -> None:
        self.rows = rows
        self._fill(select)

    def _fill(self, select: int | None = None) -> None:
        table = self.query_one("#facts-table", DataTable)
        keep = select if select is not None else self.selected()
        table.clear()
        width = max(MIN_TEXT_WIDTH, table.size.width - OTHER_COLUMNS_WIDTH)
        column = table.columns["text"]
        column.auto_width, column.width = False, width
        query = self.query_one("#facts-filter", Input).value
        shown = shown_facts(self.rows, query, self.sort_key, self.sort_reverse)
        for r in shown:
            text = r.text if len(r.text) <= width else r.text[:width - 1] + "…"
            table.add_row(r.category, Text(text), f"{r.confidence:.2f}", r.last_seen, r.status,
                          "yes" if r.sensitive else "", key=str(r.id))
        label = dict(COLUMNS)[self.sort_key]
        self.query_one("#facts-caption", Static).update(
            f"{len(shown)} of {len(self.rows)} · by {label} {'↓' if self.sort_reverse else '↑'}")
        if not shown:
            self.query_one("#fact-evidence", Static).update(
                NO_FACTS if not self.rows else "No fact matches the filter; clear it to see them all.")
            return
        ids = [r.id for r in shown]
        table.move_cursor(row=ids.index(keep) if keep in ids else 0)
        self.load_evidence(ids[table.cursor_row])

    def on_resize(self) -> None:
        if self.rows:
            self._fill()  # the fact column's width follows the table's

    def selected(self) -> int | None:
        table = self.query_one("#facts-table", DataTable)
        if not table.row_count:
            return None
        return int(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @on(DataTable.RowHighlighted, "#facts-table")
    def fact_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.load_evidence(int(event.row_key.value))

    def _show_evidence(self, data: dict) -> None:
        from assistant.profile.facts_summary import describe

        if data["id"] != self.selected():
            return  # the cursor moved on while this was read
        lines = [f"#{data['id']} {data['text']}", *describe(data, short_sources=True)]
        lines += ["History:"] + [f"  {h['at'][:10]} {h['action']}: {h['reason']}" for h in data["history"]]
        self.query_one("#fact-evidence", Static).update(Text("\n".join(lines)))

    @on(Input.Changed, "#facts-filter")
    def filter_changed(self) -> None:
        self._fill()

    @on(DataTable.HeaderSelected, "#facts-table")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        self.sort_reverse = not self.sort_reverse if key == self.sort_key else key in ("confidence", "last_seen")
        self.sort_key = key
        self._fill()

    def action_sort(self) -> None:
        """Sort by the next column (highest confidence, newest and sensitive first)."""
        keys = [key for key, _ in COLUMNS]
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self.sort_reverse = self.sort_key in ("confidence", "last_seen", "sensitive")
        self._fill()

    def action_filter(self) -> None:
        self.query_one("#facts-filter", Input).focus()

    # -- the command palette --------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """The fact actions for the command palette (title, help, callback): each on the highlighted
        fact, which its help names, in the Profile area's facts view."""
        fact = next((row for row in self.rows if row.id == self.selected()), None) if self.rows else None
        about = f"#{fact.id} {fact.text}" if fact else "no fact highlighted"

        def in_facts(action: str) -> Callable[[], None]:
            def run() -> None:
                self.app.action_area("profile")
                self.query_one("#profile-tabs", Tabs).active = "tab-facts"
                getattr(self, f"action_{action}")()
            return run

        return [(f"Profile: {verb} the highlighted fact", about, in_facts(action))
                for action, verb in (("pin", "pin"), ("reject", "reject"), ("forget", "forget"), ("edit", "edit"))] + [
            ("Profile: add a fact", "Tell the assistant something about you", in_facts("add")),
            ("Profile: refresh", "Read the facts, style and persona from the store again", self.reload),
        ]

    # -- changes --------------------------------------------------------------------------------

    def _fact(self) -> FactRow | None:
        fact_id = self.selected()
        fact = next((r for r in self.rows if r.id == fact_id), None)
        if fact is None:
            self.app.notify("There is no fact to change here: clear the filter, or press a to add one.",
                            title="No fact selected", severity="warning")
        return fact

    def action_edit(self) -> None:
        if fact := self._fact():
            self.app.push_screen(FactInput(f"Correct fact #{fact.id}: it then counts as something you said",
                                           fact.text),
                                 lambda answer: answer and self.change("edit", fact.id, answer[0]))

    def action_pin(self) -> None:
        if fact := self._fact():
            self.change("pin", fact.id)

    def action_reject(self) -> None:
        if fact := self._fact():
            self.change("reject", fact.id)

    def action_forget(self) -> None:
        if fact := self._fact():
            self.app.push_screen(Confirm(f"Forget #{fact.id} “{fact.text}”? It is deleted with its links to your "
                                         "writing and everything that quoted it; this cannot be undone."),
                                 lambda yes: yes and self.change("forget", fact.id))

    def action_add(self) -> None:
        self.app.push_screen(FactInput("Tell me a fact about you", with_category=True),
                             lambda answer: answer and self.change("add", None, *answer))

    @work(thread=True, group="profile-change")
    def change(self, action: str, fact_id: int | None, text: str = "", category: str = "") -> None:
        """Apply one correction with the functions the `assistant profile` commands use; then read again."""
        from assistant.forget import forget_fact
        from assistant.profile import fact_actions

        app = self.app
        try:
            if action == "add":
                with app.lock:  # the embedding model is the Assistant's
                    embedder = app.assistant.embedder
                with app.reader() as db:
                    added = fact_actions.add(db, embedder, text, category or None)
                message, fact_id = added.summary(), added.id
            elif action == "forget":
                with app.reader() as db:
                    forget_fact(db, app.assistant.home, fact_id)
                message = f"#{fact_id} forgotten"
            else:
                with app.reader() as db:
                    fact = {"edit": lambda: fact_actions.edit(db, fact_id, text),
                            "pin": lambda: fact_actions.pin(db, fact_id),
                            "reject": lambda: fact_actions.reject(db, fact_id)}[action]()
                message = f"#{fact.id} {fact.text}: {fact.status}"
        except Exception as exc:  # noqa: BLE001
            app.fail(f"Could not {action} the fact", exc)
            return
        done = {"edit": "edited", "pin": "pinned", "reject": "rejected", "forget": "forgotten", "add": "added"}
        app.call_from_thread(app.notify, message, title=f"Fact {done[action]}")
        app.call_from_thread(self.load_facts, fact_id)

    # -- style and persona ----------------------------------------------------------------------

    def _show_style(self, style) -> None:
        from assistant.profile.style import CONTEXT_NOUNS

        self.style = style
        if not style.contexts:
            self.query_one("#profile-style", Static).update(
                "Nothing written by you is indexed yet, so no style profile. Check that the emails in your "
                "config's [me] section match your From address (`assistant whoami`).")
            return
        lines = []
        for context, figures in style.contexts.items():
            noun = CONTEXT_NOUNS[context]
            if context == "email":
                lines.append(f"From {figures['docs']} emails you sent, about {style.median_words} words each:")
            else:
                lines.append(f"From {figures['docs']} {'chat messages' if context == 'chat' else noun} of yours:")
            lines += [f"  • {note}" for note in figures["notes"]]
        self.query_one("#profile-style", Static).update(Text("\n".join(lines)))
        table = self.query_one("#profile-people", DataTable)
        table.clear()
        for address, emails in style.correspondents:
            habits = style.by_correspondent.get(address, {})
            table.add_row(address, emails, habits.get("greeting", "—"),
                          " / ".join(habits.get("signoff", "—").splitlines()), key=address)

    @on(DataTable.RowHighlighted, "#profile-people")
    def person_highlighted(self, event: DataTable.RowHighlighted) -> None:
        habits = self.style.by_correspondent.get(event.row_key.value, {}) if self.style else {}
        name = habits.get("name") or event.row_key.value
        self.query_one("#person-notes", Static).update(Text(
            f"To {name} ({habits.get('emails', 0)} emails):\n" + "\n".join(f"  • {n}" for n in habits.get("notes", []))))

    def _show_personas(self, personas: list[dict]) -> None:
        self.personas = {str(p["id"]): p for p in personas}
        text = personas[0]["text"] if personas else ""
        self.query_one("#persona-text", Static).update(
            Text(f"Your persona (v{personas[0]['id']}, the first thing a draft's prompt says):\n{text}")
            if personas else NO_PERSONA)
        table = self.query_one("#persona-versions", DataTable)
        table.clear()
        table.display = bool(personas)
        for p in personas:
            statements = _statements(p)
            table.add_row(f"v{p['id']}", (p["created_at"] or "")[:16].replace("T", " "), p["model"],
                          f"{sum(bool(s.get('kept', True)) for s in statements)} of {len(statements)}", key=str(p["id"]))

    @on(DataTable.RowHighlighted, "#persona-versions")
    def persona_highlighted(self, event: DataTable.RowHighlighted) -> None:
        version = self.personas[event.row_key.value]
        lines = [f"v{version['id']}:"]
        for s in _statements(version):
            gain = f" (gain {s['gain']:+.3f})" if s.get("gain") is not None else ""
            lines.append(f"  {'kept   ' if s.get('kept', True) else 'dropped'} {s['text']}{gain}")
        self.query_one("#persona-version", Static).update(Text("\n".join(lines)))


def _statements(version: dict) -> list[dict]:
    """A version's statements: stored as {"statements": [...], margins...} (or, in older rows, a bare list)."""
    stored = version["statements"]
    return stored.get("statements", []) if isinstance(stored, dict) else stored
