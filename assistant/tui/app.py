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

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, Footer, Input, Static, TabbedContent, TabPane, TextArea

from assistant.core import Assistant
from assistant.home import Home
from assistant.tui import data
from assistant.tui.pane import StorePane
from assistant.tui.profile import ProfilePane
from assistant.tui.sources import SourcesPane
from assistant.tui.suggestions import SuggestionsPane

AREAS = {"chat": "Chat", "draft": "Draft", "profile": "Profile", "sources": "Sources", "suggestions": "Suggestions"}

WELCOME = (
    "Nothing is indexed yet, so there is nothing to answer from.\n\n"
    "1. Say who you are:  assistant init --name \"Your Name\" --email you@example.com\n"
    "2. Index what you wrote: type a folder or mailbox in Sources (F4) and press Re-index,\n"
    "   or run  assistant index ~/Documents ~/Mail/Sent.mbox\n\n"
    "Then ask here about anything in it, or draft an email in your voice under Draft (F2)."
)
CHAT_HINT = ("Ask about anything you wrote or were told; answers cite your own documents as [n].\n"
             "Commands: /draft INSTRUCTION, /forget (delete this session), /help.")
CHAT_HELP = ("/draft INSTRUCTION  open Draft with this request and start it\n"
             "/forget             delete this session's file and start a new one\n"
             "/help               this list\n"
             "Keys: F1-F5 switch areas, ctrl+p commands, ? keys (outside a text box), ctrl+q quit.")


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
    #chat-log { height: 1fr; }
    .turn-user { color: $accent; margin-top: 1; }
    .turn-sources { color: $text-muted; }
    .turn-answer { margin-bottom: 1; }
    #draft-form { width: 2fr; }
    #draft-why { width: 1fr; min-width: 24; padding: 0 1; border-left: solid $primary; }
    #draft-buttons { height: auto; }
    #draft-buttons Button { margin-right: 1; min-width: 8; }
    #draft-text { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("f1", "area('chat')", "Chat"),
        Binding("f2", "area('draft')", "Draft"),
        Binding("f3", "area('profile')", "Profile"),
        Binding("f4", "area('sources')", "Sources"),
        Binding("f5", "area('suggestions')", "Suggest"),
        Binding("question_mark", "help", "Keys"),
        Binding("escape", "leave_input", "Leave text box", show=False),
        Binding("ctrl+s", "save_eml", "Save .eml", show=False),
    ]

    def __init__(self, assistant: Assistant, *, preload: bool = True, max_tokens: int = 220) -> None:
        super().__init__()
        self.assistant = assistant
        self.preload = preload
        self.max_tokens = max_tokens
        self.lock = threading.Lock()  # one worker at a time uses the Assistant (connection, index, model)
        self.session = data.Session.new(assistant.home.root / "sessions")
        self.last_draft: tuple[str, str] | None = None

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="chat"):
            with TabPane("Chat", id="chat"):
                yield VerticalScroll(Static(CHAT_HINT, id="chat-hint", markup=False), id="chat-log")
                yield Input(placeholder="Ask, or /help", id="chat-input")
            with TabPane("Draft", id="draft"):
                with Horizontal():
                    with Vertical(id="draft-form"):
                        yield Input(placeholder="What should the email say?", id="draft-instruction",
                                    select_on_focus=False)
                        yield Input(placeholder="To (a name; → accepts a suggestion)", id="draft-to")
                        with Horizontal(id="draft-buttons"):
                            yield Button("Draft", id="draft-go", variant="primary")
                            yield Button("Again", id="draft-again")
                            yield Button("Save .eml", id="draft-save")
                            yield Button("Copy", id="draft-copy")
                        yield TextArea(id="draft-text", soft_wrap=True)
                    yield Static("Why this draft: the exemplars and style notes it used appear here.",
                                 id="draft-why", markup=False)
            with TabPane("Profile", id="profile"):
                yield ProfilePane()
            with TabPane("Sources", id="sources"):
                yield SourcesPane()
            with TabPane("Suggestions", id="suggestions"):
                yield SuggestionsPane()
        yield Footer()

    def on_mount(self) -> None:
        self.theme = "ansi-dark"  # the terminal's own colours
        self.query_one("#chat-input", Input).focus()

    def on_ready(self) -> None:
        """After the first frame: worker threads importing the store and models would slow it down."""
        self.reload()
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

    def reload(self) -> None:
        """Read the store again into every area: at start and after indexing."""
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

    @on(SuggestionsPane.DraftRequested)
    def draft_from_suggestion(self, request: SuggestionsPane.DraftRequested) -> None:
        """A suggestion to draft from (Suggestions area): the Draft area, filled in as `assistant draft
        --from-suggestion ID` would, ready for Enter. (`request.reply_to`: the email it answers, if any.)"""
        self.query_one("#draft-instruction", Input).value = request.instruction
        self.query_one("#draft-to", Input).value = request.to or ""
        self.action_area("draft")
        self.notify("Check the request, then press Enter to draft it.", title="Draft from a suggestion")

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
        self.session = data.Session.new(self.assistant.home.root / "sessions")
        self._clear_chat(CHAT_HINT)
        self.notify("New chat session started.")

    def action_forget_session(self) -> None:
        existed = self.session.forget()
        self.session = data.Session.new(self.assistant.home.root / "sessions")
        self._clear_chat("This session was forgotten: its file is deleted. " + CHAT_HINT)
        self.notify("Session file deleted." if existed else "Nothing was saved in this session yet.")

    def action_reindex(self) -> None:
        self.action_area("sources")
        self.query_one(SourcesPane).index_pressed()

    def action_save_eml(self) -> None:
        text = self.query_one("#draft-text", TextArea).text.strip()
        if not text:
            self.notify("There is no draft to save yet: write a request and press Draft.",
                        title="Nothing to save", severity="warning")
            return
        instruction, to = self.last_draft or (self.query_one("#draft-instruction", Input).value, "")
        me = self.assistant.config.me
        try:
            path = data.save_eml(self.assistant.home.root / "drafts", me.emails[0] if me.emails else "", to,
                                 instruction[:78] or "Draft", text)
        except OSError as exc:
            self.notify(f"{exc}; check that the folder is writable and the disk has space.",
                        title="Could not save the draft", severity="error")
            return
        self.notify(f"Saved {path}", title="Draft saved")

    # -- chat -----------------------------------------------------------------------------------

    def _clear_chat(self, hint: str) -> None:
        for turn in self.query_one("#chat-log", VerticalScroll).children:
            if turn.id != "chat-hint":
                turn.remove()
        self.query_one("#chat-hint", Static).update(hint)

    def _say(self, text: str, kind: str) -> Static:
        log = self.query_one("#chat-log", VerticalScroll)
        widget = Static(Text(text), classes=f"turn-{kind}")
        log.mount(widget)
        log.scroll_end(animate=False)
        return widget

    @on(Input.Submitted, "#chat-input")
    def chat_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if not text:
            return
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command == "/help":
                self._say(CHAT_HELP, "sources")
            elif command == "/forget":
                self.action_forget_session()
            elif command == "/draft":
                box = self.query_one("#draft-instruction", Input)
                box.value = rest.strip()
                box.cursor_position = len(box.value)
                self.action_area("draft")
                if rest.strip():
                    self.start_draft()
            else:
                self.notify(f"No command {command}; type /help for the list.", title="Unknown command",
                            severity="error")
            return
        self._say(f"You: {text}", "user")
        self.session.append("user", text)
        self.answer(text, self._say("…searching your history", "sources"), self._say("", "answer"))

    @work(thread=True, exclusive=True, group="chat")
    def answer(self, question: str, sources: Static, reply: Static) -> None:
        from assistant.prompt.chat import chat_messages, completion_prompt, passages_of

        try:
            with self.lock:
                hits = self.assistant.search(question, k=4)
        except Exception as exc:  # noqa: BLE001
            self.call_from_thread(sources.update, "Search failed.")
            self.fail("Search failed", exc)
            return
        passages = passages_of(hits)
        listing = "\n".join(f"[{p.number}] {p.title} — {p.date or 'undated'}" for p in passages)
        self.call_from_thread(sources.update, Text(listing or "Nothing in your history matches that."))
        if not passages:
            return
        name = self.assistant.config.me.display_name
        text = ""
        try:
            with self.lock:
                generator = self.assistant.generator
                if generator.has_chat_template:
                    for piece in generator.stream(chat_messages(name, question, passages),
                                                  max_tokens=self.max_tokens, temperature=0.3):
                        text += piece
                        self.call_from_thread(reply.update, Text(text))
                else:
                    text = generator.complete(completion_prompt(name, question, passages),
                                              max_tokens=self.max_tokens, temperature=0.3,
                                              stop=["\nQuestion:", "\n\n"])
        except Exception as exc:  # noqa: BLE001
            self.fail("Could not generate an answer", exc)
            return
        text = text.strip() or "(the model gave no answer; the passages above are what I found)"
        self.call_from_thread(reply.update, Text(text))
        self.session.append("assistant", text)

    # -- draft ----------------------------------------------------------------------------------

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
        self.copy_to_clipboard(text)
        self.notify("Draft copied to the clipboard.")

    @work(thread=True, exclusive=True, group="draft")
    def make_draft(self, instruction: str, to: str) -> None:
        from assistant.profile.style import stored_style

        try:
            with self.lock:
                assistant = self.assistant
                result = assistant.skill("draft").run(assistant, instruction=instruction, to=to or None,
                                                      max_tokens=self.max_tokens)
                notes = stored_style(assistant.db).notes(to or None)
                exemplars = data.exemplar_sources(assistant.db, result.used)
        except Exception as exc:  # noqa: BLE001
            self.call_from_thread(self.query_one("#draft-why", Static).update, "The draft failed; see the message.")
            self.fail("Could not draft", exc)
            return
        why = ["Why this draft", f"Model: {result.model}", "", "Your emails used as examples:"]
        why += [f"• {line}" for line in exemplars] or ["• none found"]
        why += ["", "Style notes:"] + ([f"• {note}" for note in notes] or ["• none yet"])
        self.call_from_thread(self._show_draft, result.draft, "\n".join(why))

    def _show_draft(self, text: str, why: str) -> None:
        self.query_one("#draft-text", TextArea).text = text
        self.query_one("#draft-why", Static).update(Text(why))

def make_app(home: Home | str | None = None, assistant: Assistant | None = None, *, preload: bool = True,
             max_tokens: int = 220) -> AssistantApp:
    """The app for a home: what `assistant tui` runs and what the tests drive."""
    if assistant is None:
        assistant = Assistant(home if isinstance(home, Home) else Home.resolve(home))
    return AssistantApp(assistant, preload=preload, max_tokens=max_tokens)
