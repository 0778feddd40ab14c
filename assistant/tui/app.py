"""`assistant tui`: one window with Chat, Draft, Profile, Sources and Suggestions over the same core.

The first screen is drawn before any model loads: models, searches, generation, indexing and
store reads all run in thread workers and hand results back with `call_from_thread`. The
`Assistant` (its connection, index and models) is used under one lock, one worker at a time;
read-only panes open their own short-lived connection in their worker. Every failure is a
notification that names the cause and the fix; the rest of the app keeps working.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, DataTable, Footer, Input, ProgressBar, Static, TabbedContent, TabPane

from assistant.core import Assistant
from assistant.home import Home
from assistant.tui import data
from assistant.tui.chat import ChatArea
from assistant.tui.draft import DraftArea

AREAS = {"chat": "Chat", "draft": "Draft", "profile": "Profile", "sources": "Sources", "suggestions": "Suggestions"}

WELCOME = (
    "Nothing is indexed yet, so there is nothing to answer from.\n\n"
    "1. Say who you are:  assistant init --name \"Your Name\" --email you@example.com\n"
    "2. Index what you wrote: type a folder or mailbox in Sources (F4) and press Re-index,\n"
    "   or run  assistant index ~/Documents ~/Mail/Sent.mbox\n\n"
    "Then ask here about anything in it, or draft an email in your voice under Draft (F2)."
)
NO_FACTS = ("Facts about you are not learned yet: when they are, each will be listed here with its "
            "evidence, for you to edit or delete. Below is only what your own emails show.")
OWED = ("Replies you may owe: mail from people you have written to at least twice that no email of yours "
        "in the store answers. Other suggestions arrive with the suggest skill, which has not landed yet.")
NONE_OWED = ("No replies owed: every email from the people you write to has an answer from you in the store. "
             "Other suggestions arrive with the suggest skill, which has not landed yet.")


def _describe(exc: BaseException) -> str:
    """The cause of a failure, with a fix where the error does not name one itself."""
    from assistant.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return (f"{type(exc).__name__}: {exc}. Check the model with `assistant models list` and "
            "`assistant doctor`, and the store with `assistant profile show`.")


class AssistantCommands(Provider):
    """The app's own commands in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        assert isinstance(app, AssistantApp)
        areas = [(f"Go to {label}", f"Show the {label} area", partial(app.action_area, area))
                 for area, label in AREAS.items()]
        return areas + [
            ("Re-index sources", "Index the configured source paths again", app.action_reindex),
            ("New chat session", "Start a fresh chat session file", app.action_new_session),
            ("Forget this chat session", "Delete this session's file", app.action_forget_session),
            ("Show keys", "List the key bindings", app.action_help),
        ]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class AssistantApp(App):
    TITLE = "assistant"
    COMMANDS = App.COMMANDS | {AssistantCommands}
    CSS = """
    TabbedContent, TabPane { height: 1fr; }
    TabPane { padding: 0 1; }
    #index-row { height: auto; }
    #index-row Button { margin-right: 1; min-width: 8; }
    #index-path { width: 1fr; }
    #index-progress { display: none; }
    #index-progress.running { display: block; }
    DataTable { height: auto; max-height: 12; margin-bottom: 1; }
    .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS = [
        Binding("f1", "area('chat')", "Chat"),
        Binding("f2", "area('draft')", "Draft"),
        Binding("f3", "area('profile')", "Profile"),
        Binding("f4", "area('sources')", "Sources"),
        Binding("f5", "area('suggestions')", "Suggest"),
        Binding("question_mark", "help", "Keys"),
        Binding("escape", "leave_input", "Leave text box", show=False),
    ]

    def __init__(self, assistant: Assistant, *, preload: bool = True, max_tokens: int = 220) -> None:
        super().__init__()
        self.assistant = assistant
        self.preload = preload
        self.max_tokens = max_tokens
        self.lock = threading.Lock()  # one worker at a time uses the Assistant (connection, index, model)

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="chat"):
            with TabPane("Chat", id="chat"):
                yield ChatArea(self.assistant.home.root / "sessions")
            with TabPane("Draft", id="draft"):
                yield DraftArea()
            with TabPane("Profile", id="profile"):
                with VerticalScroll():
                    yield Static(NO_FACTS, id="profile-facts", markup=False)
                    yield Static("How you write", classes="heading")
                    yield Static("Reading your profile…", id="profile-style", markup=False)
                    yield DataTable(id="profile-people", cursor_type="row", zebra_stripes=True)
            with TabPane("Sources", id="sources"):
                with VerticalScroll():
                    yield Static("Daemon: …", id="sources-daemon", markup=False)
                    yield DataTable(id="sources-counts", cursor_type="row", zebra_stripes=True)
                    yield Static("Could not be read", id="sources-errors-heading", classes="heading")
                    yield DataTable(id="sources-errors", cursor_type="row", zebra_stripes=True)
                    with Horizontal(id="index-row"):
                        yield Input(placeholder="Folder or mailbox to add (empty: configured paths)",
                                    id="index-path")
                        yield Button("Re-index", id="index-go", variant="primary")
                    yield ProgressBar(id="index-progress", show_eta=False)
            with TabPane("Suggestions", id="suggestions"):
                with VerticalScroll():
                    yield Static("Looking for mail you have not answered…", id="suggestions-note", markup=False)
                    yield DataTable(id="suggestions-owed", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.theme = "ansi-dark"  # the terminal's own colours
        self.query_one("#profile-people", DataTable).add_columns("correspondent", "emails", "greeting", "sign-off")
        self.query_one("#sources-counts", DataTable).add_columns("source", "kind", "documents", "yours", "others")
        self.query_one("#sources-errors", DataTable).add_columns("file", "source", "reason")
        self.query_one("#suggestions-owed", DataTable).add_columns("from", "subject", "date")
        self.query_one("#chat-input", Input).focus()

    def on_ready(self) -> None:
        """After the first frame: worker threads importing the store and models would slow it down."""
        self.load_overview()
        if self.preload:
            self.load_models()

    # -- helpers --------------------------------------------------------------------------------

    @contextmanager
    def reader(self):
        """A connection of this worker thread's own, closed after use."""
        from assistant.store import connect

        db = connect(self.assistant.home.db_path)
        try:
            yield db
        finally:
            db.conn.close()

    def fail(self, title: str, exc: BaseException) -> None:
        """Report a failure from any thread as an error notification."""
        message = _describe(exc)
        if threading.current_thread() is threading.main_thread():
            self.notify(message, title=title, severity="error", timeout=12)
        else:
            self.call_from_thread(self.notify, message, title=title, severity="error", timeout=12)

    # -- start-up -------------------------------------------------------------------------------

    @work(thread=True, group="models")
    def load_models(self) -> None:
        """Warm the embedding and drafting models so the first question is quick."""
        with self.lock:
            try:
                self.assistant.embedder
            except Exception as exc:  # noqa: BLE001 - any load failure is reported, the rest goes on
                self.fail("Embedding model unavailable: search will not work", exc)
            try:
                self.assistant.generator
            except Exception as exc:  # noqa: BLE001
                self.fail("Drafting model unavailable: chat answers and drafts will not work", exc)

    @work(thread=True, exclusive=True, group="overview")
    def load_overview(self) -> None:
        """Counts, errors, daemon state, style profile and correspondents, read off the UI thread."""
        from assistant.daemon.runtime import DaemonFiles
        from assistant.profile.style import stored_style

        try:
            with self.reader() as db:
                documents = data.document_count(db)
                counts, errors = data.source_counts(db), data.quarantine(db)
                style, people, owed = stored_style(db), data.correspondents(db), data.unanswered(db)
            files = DaemonFiles(self.assistant.home)
            daemon = "running" if files.is_running() else "stopped (start it: assistant daemon start)"
        except Exception as exc:  # noqa: BLE001
            self.fail("Could not read the store", exc)
            return
        self.call_from_thread(self._show_overview, documents, counts, errors, style, people, daemon)
        self.call_from_thread(self._show_owed, owed)

    def _show_overview(self, documents, counts, errors, style, people, daemon) -> None:
        if documents == 0:
            self.query_one("#chat-hint", Static).update(WELCOME)
        self.query_one("#sources-daemon", Static).update(
            f"Daemon: {daemon}.  {documents} documents in the store.")
        table = self.query_one("#sources-counts", DataTable)
        table.clear()
        for row in counts:
            table.add_row(row["source"], row["kind"], row["documents"], row["mine"], row["documents"] - row["mine"])
        self.query_one("#sources-errors-heading", Static).update(
            f"Could not be read: {len(errors)}" + ("" if errors else " (everything indexed was stored)"))
        errors_table = self.query_one("#sources-errors", DataTable)
        errors_table.clear()
        for row in errors:
            errors_table.add_row(Path(row["uri"]).name, row["source"], Text(row["reason"]))
        self._show_style(style)
        self.query_one("#draft-to", Input).suggester = SuggestFromList(people, case_sensitive=False)

    def _show_owed(self, owed: list[dict]) -> None:
        self.query_one("#suggestions-note", Static).update(OWED if owed else NONE_OWED)
        table = self.query_one("#suggestions-owed", DataTable)
        table.clear()
        table.display = bool(owed)
        for row in owed:
            table.add_row(Text(row["from"]), Text(row["subject"]), row["date"])

    def _show_style(self, style) -> None:
        box = self.query_one("#profile-style", Static)
        if not style.emails:
            box.update("No email written by you yet, so no style profile. Check that the emails in your "
                       "config's [me] section match your From address (`assistant whoami`).")
            return
        lines = [f"From {style.emails} emails you sent, about {style.median_words} words each."]
        if style.greetings:
            lines.append("Greetings: " + ", ".join(f"“{g}” ×{n}" for g, n in style.greetings))
        if style.signoffs:
            lines.append("Sign-offs: " + ", ".join(f"“{' / '.join(s.splitlines())}” ×{n}"
                                                   for s, n in style.signoffs))
        per = style.per_100_words
        lines.append(f"Per 100 words: {per['em_dash']} em-dashes, {per['semicolon']} semicolons, "
                     f"{per['exclamation']} exclamation marks.")
        if style.phrases:
            lines.append("Phrases that set you apart: " + ", ".join(f"“{p}”" for p in style.phrases[:6]))
        box.update("\n".join(lines))
        table = self.query_one("#profile-people", DataTable)
        table.clear()
        for address, emails in style.correspondents:
            habits = style.by_correspondent.get(address, {})
            table.add_row(address, emails, habits.get("greeting", "—"),
                          " / ".join(habits.get("signoff", "—").splitlines()))

    # -- actions --------------------------------------------------------------------------------

    def action_area(self, area: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.query_one("Tabs").focus()  # a focused box in the old pane would pull its pane back
        tabs.active = area
        first = {"chat": "#chat-input", "draft": "#draft-instruction", "sources": "#index-path"}.get(area)
        if first:
            self.query_one(first, Input).focus()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_leave_input(self) -> None:
        self.query_one(TabbedContent).query_one("Tabs").focus()

    def action_new_session(self) -> None:
        self.query_one(ChatArea).new_session()

    def action_forget_session(self) -> None:
        self.query_one(ChatArea).forget_session()

    def action_reindex(self) -> None:
        self.action_area("sources")
        self.reindex(self.query_one("#index-path", Input).value.strip())

    def start_draft_from_chat(self, instruction: str) -> None:
        """`/draft INSTRUCTION`: open Draft with the request and start it."""
        self.action_area("draft")
        self.query_one(DraftArea).request(instruction)

    # -- sources --------------------------------------------------------------------------------

    @on(Button.Pressed, "#index-go")
    @on(Input.Submitted, "#index-path")
    def index_pressed(self) -> None:
        self.reindex(self.query_one("#index-path", Input).value.strip())

    @work(thread=True, exclusive=True, group="index")
    def reindex(self, extra: str) -> None:
        from assistant.config import remember_source_path
        from assistant.ingest.pipeline import Indexer

        bar = self.query_one("#index-progress", ProgressBar)
        paths = [Path(extra).expanduser()] if extra else [Path(p) for p in self.assistant.config.source_paths]
        if not paths:
            self.call_from_thread(self.notify, "No source paths are configured yet: type a folder or mailbox in "
                                  "the box and press Re-index.", title="Nothing to index", severity="error")
            return
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            self.call_from_thread(self.notify, f"{', '.join(missing)} does not exist; check the path.",
                                  title="Nothing to index there", severity="error")
            return
        try:
            with self.lock:
                indexer = Indexer(self.assistant)
                units = indexer.discover(paths)
                self.call_from_thread(bar.update, total=max(len(units), 1), progress=0)
                self.call_from_thread(bar.add_class, "running")
                indexer.on_progress = lambda path: self.call_from_thread(bar.advance, 1)
                report = indexer.run(paths, units)
            for path in paths:
                remember_source_path(self.assistant.home, path.resolve())
        except Exception as exc:  # noqa: BLE001
            self.fail("Indexing failed", exc)
            return
        self.call_from_thread(bar.update, total=max(len(units), 1), progress=max(len(units), 1))
        self.call_from_thread(self.notify, report.summary(), title="Indexed")
        self.call_from_thread(self.load_overview)


def make_app(home: Home | str | None = None, assistant: Assistant | None = None, *, preload: bool = True,
             max_tokens: int = 220) -> AssistantApp:
    """The app for a home: what `assistant tui` runs and what the tests drive."""
    if assistant is None:
        assistant = Assistant(home if isinstance(home, Home) else Home.resolve(home))
    return AssistantApp(assistant, preload=preload, max_tokens=max_tokens)
