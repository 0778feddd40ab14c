"""The Chat area: questions answered by the `ask` skill from the person's own history, streamed,
with citations that open the passage they name; commands for the other skills; the session
saved as JSONL (`data.Session`) so the profile can learn from it."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.worker import get_current_worker

from assistant.tui import data
from assistant.tui.stopping import Stopped, stoppable
from assistant.tui.warm import from_daemon

CHAT_HINT = ("Ask about anything you wrote or were told; answers cite your own documents as [n].\n"
             "Commands: /draft, /ask, /rewrite, /forget, /open N, /help.")
CHAT_HELP = ("/ask QUESTION          the same as typing the question\n"
             "/draft INSTRUCTION     open Draft with this request and start it\n"
             "/rewrite [--neutral] TEXT  TEXT in your voice (--neutral: stripped of it)\n"
             "/open N                show source [N] of the last answer (or Tab to its list, Enter)\n"
             "/forget                delete this session's file (and its copy in the store) and start anew\n"
             "/help                  this list\n"
             "Keys: Escape stops an answer; F1-F5 areas, ctrl+p commands, ? keys, ctrl+q quit.")


@dataclass
class Source:
    """A passage an answer cites: what it is, where it is stored, and its text."""

    n: int
    document: str
    date: str
    uri: str
    text: str

    @property
    def label(self) -> str:
        return f"[{self.n}] {self.document} — {self.date or 'undated'}"


class SourceScreen(ModalScreen):
    """One cited passage: its document, date, where it is stored and its text. Nothing in it is a
    link: a path or an address is shown, never opened or fetched."""

    DEFAULT_CSS = """
    SourceScreen { align: center middle; }
    #source-box { width: 90%; height: 90%; border: round $primary; padding: 0 1; background: $surface; }
    #source-where { color: $text-muted; margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("q", "dismiss", "Close", show=False)]

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="source-box"):
            yield Static(Text(self.source.label, style="bold"), id="source-title")
            yield Static(Text(f"Stored from {self.source.uri}  (Escape closes)"), id="source-where")
            yield Static(Text(self.source.text), id="source-text")

    def on_mount(self) -> None:
        self.query_one("#source-box").border_title = "Source"


class SourceList(OptionList):
    """The sources an answer cites, one line each; Enter (or a click) opens one."""

    def __init__(self, sources: list[Source]) -> None:
        super().__init__(*[Text(s.label) for s in sources], classes="turn-cites")
        self.sources = sources


class AnswerTurn(Static):
    """An answer as it is written, then settled with its citations; a click on [n] opens source n."""

    def __init__(self) -> None:
        super().__init__("", classes="turn-answer")
        self.sources: list[Source] = []

    def show(self, text: str) -> None:
        self.update(Text(text))

    def settle(self, answer: str, sources: list[Source]) -> None:
        self.sources = sources
        text = Text(answer)
        for source in sources:
            text.highlight_words([f"[{source.n}]"], Style(bold=True, meta={"@click": f"open_source({source.n})"}))
        self.update(text)

    def action_open_source(self, n: int) -> None:
        self.screen.query_one(ChatArea).open_source(n, self.sources)


class ChatArea(Vertical):
    """The conversation: a log of turns above the question box."""

    DEFAULT_CSS = """
    ChatArea { height: 1fr; }
    #chat-log { height: 1fr; }
    .turn-user { color: $accent; margin-top: 1; }
    .turn-sources { color: $text-muted; }
    .turn-cites { height: auto; max-height: 6; border: none; color: $text-muted; }
    .turn-answer { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "stop", "Stop / leave box", show=False)]

    def __init__(self, sessions, **options) -> None:
        super().__init__(**options)
        self.sessions = sessions  # the folder each session's JSONL file goes in
        self.session = data.Session.new(sessions)
        self.last_sources: list[Source] = []

    def compose(self) -> ComposeResult:
        yield VerticalScroll(Static(CHAT_HINT, id="chat-hint", markup=False), id="chat-log")
        yield Input(placeholder="Ask, or /help", id="chat-input")

    # -- sessions -------------------------------------------------------------------------------

    def new_session(self) -> None:
        self.session = data.Session.new(self.sessions)
        self._clear_chat(CHAT_HINT)
        self.notify("New chat session started.")

    def forget_session(self) -> None:
        """Delete this session's file and start a new one; what the store indexed of it goes too."""
        path = self.session.path
        existed = self.session.forget()
        self.session = data.Session.new(self.sessions)
        self._clear_chat("This session was forgotten: its file is deleted. " + CHAT_HINT)
        self.notify("Session file deleted." if existed else "Nothing was saved in this session yet.")
        if existed:
            self.forget_indexed(path)

    @work(thread=True, group="forget")
    def forget_indexed(self, path) -> None:
        from assistant.errors import UserError
        from assistant.forget import forget, plan_document

        app = self.app
        try:
            with app.lock:
                db = app.assistant.db
                try:
                    plan = plan_document(db, str(path))
                except UserError:
                    return  # never indexed: deleting the file was all there was to do
                result = forget(db, app.assistant.home, plan)
        except Exception as exc:  # noqa: BLE001
            app.fail("The session file is deleted, but its copy in the store is not", exc)
            return
        app.call_from_thread(self.notify, f"Also removed from the store: {result.documents} document(s), "
                             f"{result.chunks} passage(s).", title="Session forgotten")

    def _clear_chat(self, hint: str) -> None:
        for turn in self.query_one("#chat-log", VerticalScroll).children:
            if turn.id != "chat-hint":
                turn.remove()
        self.last_sources = []
        self.query_one("#chat-hint", Static).update(hint)

    # -- turns ----------------------------------------------------------------------------------

    def _add(self, widget):
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(widget)
        log.scroll_end(animate=False)
        return widget

    def _say(self, text: str, kind: str) -> Static:
        return self._add(Static(Text(text), classes=f"turn-{kind}"))

    @on(Input.Submitted, "#chat-input")
    def chat_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if not text:
            return
        command, _, rest = text.partition(" ") if text.startswith("/") else ("/ask", "", text)
        rest = rest.strip()
        if command == "/help":
            self._say(CHAT_HELP, "sources")
        elif command == "/forget":
            self.forget_session()
        elif command == "/draft":
            self.app.start_draft_from_chat(rest)
        elif command == "/open":
            self.open_source(int(rest) if rest.isdigit() else 0, self.last_sources)
        elif command in ("/ask", "/rewrite") and not rest:
            example = "when does Meera land?" if command == "/ask" else "thanks for the help, see you Friday"
            self.notify(f"{command} needs text after it, e.g. {command} {example}", title="Nothing to do",
                        severity="error")
        elif command == "/ask":
            self._say(f"You: {rest}", "user")
            self.session.append("user", rest)
            self.answer(rest, self._say("…searching your history", "sources"), self._add(AnswerTurn()))
        elif command == "/rewrite":
            neutral = rest.startswith("--neutral")
            source = rest.removeprefix("--neutral").strip()
            self._say(f"Rewrite {'out of' if neutral else 'in'} your voice: {source}", "user")
            self.rewrite(source, neutral, self._say("…rewriting", "sources"), self._add(AnswerTurn()))
        else:
            self.notify(f"No command {command}; type /help for the list.", title="Unknown command",
                        severity="error")

    def open_source(self, n: int, sources: list[Source]) -> None:
        found = next((s for s in sources if s.n == n), None)
        if found is None:
            numbers = ", ".join(str(s.n) for s in sources) or "none"
            self.notify(f"No source [{n}] in that answer (it cites: {numbers}); /open N takes one of those.",
                        title="No such source", severity="error")
            return
        self.app.push_screen(SourceScreen(found))

    @on(SourceList.OptionSelected)
    def cite_selected(self, event: SourceList.OptionSelected) -> None:
        assert isinstance(event.option_list, SourceList)
        self.app.push_screen(SourceScreen(event.option_list.sources[event.option_index]))

    def action_stop(self) -> None:
        running = [w for w in self.workers if w.group in ("chat", "rewrite") and w.is_running]
        if not running:
            self.app.action_leave_input()
            return
        for worker in running:
            worker.cancel()

    # -- workers --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="chat")
    def answer(self, question: str, status: Static, turn: AnswerTurn) -> None:
        """The `ask` skill's answer, streamed into `turn`, then settled with its sources."""
        from assistant_plugins.ask import AskResult, Citation

        app, worker = self.app, get_current_worker()
        options = {"question": question, "max_tokens": app.max_tokens}

        def show(text: str) -> None:
            app.call_from_thread(turn.show, text)

        try:
            warm = from_daemon(app, "ask", options, lambda: worker.is_cancelled, show)
            if warm is not None:  # the daemon's warm models answered
                result = AskResult(**{**warm, "citations": [Citation(**c) for c in warm["citations"]]})
                with app.reader() as db:
                    sources = [Source(c.n, c.document, c.date, c.uri, _chunk_text(db, c.chunk_id))
                               for c in result.citations]
            else:
                with app.lock:
                    assistant = app.assistant
                    stoppable(assistant, lambda: worker.is_cancelled)
                    result = assistant.skill("ask").run(assistant, **options, on_text=show)
                    sources = [Source(c.n, c.document, c.date, c.uri, _chunk_text(assistant.db, c.chunk_id))
                               for c in result.citations]
        except Stopped:
            app.call_from_thread(status.update, "Stopped (Escape): this answer is not saved.")
            return
        except Exception as exc:  # noqa: BLE001 - reported; the rest of the app keeps working
            app.call_from_thread(status.update, "No answer: see the message.")
            app.fail("Could not answer", exc)
            return
        app.call_from_thread(self._answered, status, turn, result.answer, sources)
        self.session.append("assistant", result.answer)

    def _answered(self, status: Static, turn: AnswerTurn, answer: str, sources: list[Source]) -> None:
        turn.settle(answer, sources)
        self.last_sources = sources
        if not sources:
            status.update("Nothing in your history answers that.")
            return
        status.update(f"From {len(sources)} source(s) of yours (Tab to the list and Enter, or /open N):")
        self.query_one("#chat-log", VerticalScroll).mount(SourceList(sources), after=turn)
        self.query_one("#chat-log", VerticalScroll).scroll_end(animate=False)

    @work(thread=True, exclusive=True, group="rewrite")
    def rewrite(self, text: str, neutral: bool, status: Static, turn: AnswerTurn) -> None:
        from assistant_plugins.rewrite import RewriteResult

        app, worker = self.app, get_current_worker()
        options = {"text": text, "neutral": neutral}
        try:
            warm = from_daemon(app, "rewrite", options, lambda: worker.is_cancelled)
            if warm is not None:
                result = RewriteResult(**warm)
            else:
                with app.lock:
                    stoppable(app.assistant, lambda: worker.is_cancelled)
                    result = app.assistant.skill("rewrite").run(app.assistant, **options)
        except Stopped:
            app.call_from_thread(status.update, "Stopped (Escape).")
            return
        except Exception as exc:  # noqa: BLE001
            app.call_from_thread(status.update, "No rewrite: see the message.")
            app.fail("Could not rewrite", exc)
            return
        how = "Without your voice" if neutral else "In your voice"
        removed = f" (removed: {'; '.join(result.removed)})" if result.removed else ""
        app.call_from_thread(status.update, f"{how}, by {result.model}{removed}:")
        app.call_from_thread(turn.show, result.text)


def _chunk_text(db, chunk_id: int) -> str:
    row = db.execute("SELECT text FROM chunks WHERE id = ?", [chunk_id]).fetchone()
    return row[0] if row else "(this passage is no longer in the store)"
