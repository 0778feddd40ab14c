"""`assistant tui`: one window with Chat, Draft, Profile, Sources and Suggestions over the same core.

The first screen (the area names and Chat) is drawn before anything else: the other areas are
built after the first frame, and models, searches, generation, indexing and store reads all run
in thread workers and hand results back with `call_from_thread`. While the daemon runs, Chat and
Draft ask its warm models instead (`warm`). The `Assistant` (its connection, index and models)
is used under one lock, one worker at a time; read-only panes open their own short-lived
connection in their worker. Every failure is a notification that names the cause and the fix;
the rest of the app keeps working.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from typing import Callable

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from assistant.core import Assistant
from assistant.home import Home
from assistant.tui import data
from assistant.tui.chat import ChatArea

AREAS = {"chat": "Chat", "draft": "Draft", "profile": "Profile", "sources": "Sources", "suggestions": "Suggestions"}

WELCOME = (
    "Nothing is indexed yet, so there is nothing to answer from.\n\n"
    "1. Say who you are:  assistant init --name \"Your Name\" --email you@example.com\n"
    "2. Index what you wrote: type a folder or mailbox in Sources (F4) and press Re-index,\n"
    "   or run  assistant index ~/Documents ~/Mail/Sent.mbox\n\n"
    "Then ask here about anything in it, or draft an email in your voice under Draft (F2)."
)


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
        profile = app.query_one("ProfilePane").commands() if app.built else []
        return areas + profile + [
            ("Re-index sources", "Index the configured source paths again", app.action_reindex),
            ("Refresh every area", "Read the store again into Profile, Sources and Suggestions", app.reload),
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
        self.built = False  # the areas other than Chat are in their panes
        self._when_built: list[Callable[[], object]] = []
        self.theme = "ansi-dark"  # the terminal's own colours (set before the first stylesheet is built)

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The first screen: the area names and Chat. The other areas' panes start empty and are
        filled after the first frame (`build_areas`), the footer with them: their modules, widgets
        and the store they read are not needed to draw it."""
        with TabbedContent(initial="chat"):
            with TabPane("Chat", id="chat"):
                yield ChatArea(self.assistant.home.root / "sessions")
            for area, label in AREAS.items():
                if area != "chat":
                    yield TabPane(label, id=area)

    def on_mount(self) -> None:
        self.query_one("#chat-input", Input).focus()

    def on_ready(self) -> None:
        self.call_after_refresh(self.build_areas)

    async def build_areas(self) -> None:
        """After the first frame: the other areas, then the store read into them and the models loaded
        in workers. What was asked of an area before it was there (`when_built`) runs once it is."""
        from assistant.tui.draft import DraftArea
        from assistant.tui.profile import ProfilePane
        from assistant.tui.sources import SourcesPane
        from assistant.tui.suggestions import SuggestionsPane

        areas = {"draft": DraftArea(), "profile": ProfilePane(), "sources": SourcesPane(),
                 "suggestions": SuggestionsPane()}
        for area, widget in areas.items():
            pane = self.query_one(f"#{area}", TabPane)
            if not pane.is_attached:  # quit before this: the screen is being taken down
                return
            await pane.mount(widget)
        await self.mount(Footer())  # its keys came a frame after the first anyway; composed once, not per focus change
        self.screen.refresh_bindings()  # tells it which keys to list
        self.built = True
        waiting, self._when_built = self._when_built, []
        for callback in waiting:
            callback()
        self.reload()
        if self.preload:
            self.load_models()

    def when_built(self, callback: Callable[[], object]) -> None:
        """Run `callback` now if every area is there, else as soon as they are."""
        if self.built:
            callback()
        else:
            self._when_built.append(callback)

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
        """Warm the embedding and drafting models so the first question is quick; not while the
        daemon runs: Chat and Draft then use its warm models (`warm`)."""
        from assistant.tui.warm import daemon_running

        if daemon_running(self.assistant.home):
            return
        with self.lock:
            try:
                self.assistant.embedder
            except Exception as exc:  # noqa: BLE001 - any load failure is reported, the rest goes on
                self.fail("Embedding model unavailable: search will not work", exc)
            try:
                self.assistant.generator
            except Exception as exc:  # noqa: BLE001
                self.fail("Drafting model unavailable: chat answers and drafts will not work", exc)

    def reload(self) -> None:
        """Read the store again into every area: after they are built and after indexing."""
        from assistant.tui.pane import StorePane

        self.load_overview()
        for pane in self.query(StorePane):
            pane.reload()

    @work(thread=True, exclusive=True, group="overview")
    def load_overview(self) -> None:
        """What Chat and Draft need from the store (is it empty; whom the person writes to), off the UI thread."""
        try:
            with self.reader() as db:
                documents, people = data.document_count(db), data.correspondents(db)
        except Exception as exc:  # noqa: BLE001
            self.fail("Could not read the store", exc)
            return
        self.call_from_thread(self._show_overview, documents, people)

    def _show_overview(self, documents, people) -> None:
        if documents == 0:
            self.query_one("#chat-hint", Static).update(WELCOME)
        self.query_one("#draft-to", Input).suggester = SuggestFromList(people, case_sensitive=False)

    def on_suggestions_pane_draft_requested(self, request) -> None:
        """A suggestion to draft from (Suggestions area): the Draft area, filled in as `assistant draft
        --from-suggestion ID` would (for unanswered mail, a reply in its thread), ready for Enter."""
        self.query_one("#draft-instruction", Input).value = request.instruction
        self.query_one("#draft-to", Input).value = request.to or ""
        item = request.item
        self.query_one("DraftArea").answer({"title": item.document, "author": item.person, "mine": False,
                                          "date": item.date, "message_id": request.reply_to}
                                         if request.reply_to and item else {})
        self.action_area("draft")
        self.notify("Check the request, then press Enter to draft it.", title="Draft from a suggestion")

    # -- actions --------------------------------------------------------------------------------

    def action_area(self, area: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.query_one("Tabs").focus()  # a focused box in the old pane would pull its pane back
        tabs.active = area
        first = {"chat": "#chat-input", "draft": "#draft-instruction", "sources": "#index-path"}.get(area)
        if first:
            self.when_built(lambda: tabs.active == area and self.query_one(first, Input).focus())

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
        self.when_built(lambda: self.query_one("SourcesPane").index_pressed())

    def start_draft_from_chat(self, instruction: str) -> None:
        """`/draft INSTRUCTION`: open Draft with the request and start it."""
        self.action_area("draft")
        self.when_built(lambda: self.query_one("DraftArea").request(instruction))


def make_app(home: Home | str | None = None, assistant: Assistant | None = None, *, preload: bool = True,
             max_tokens: int = 220) -> AssistantApp:
    """The app for a home: what `assistant tui` runs and what the tests drive."""
    if assistant is None:
        assistant = Assistant(home if isinstance(home, Home) else Home.resolve(home))
    return AssistantApp(assistant, preload=preload, max_tokens=max_tokens)
