"""The Chat area: questions answered from the person's own history, the session saved as JSONL."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from assistant.tui import data

CHAT_HINT = ("Ask about anything you wrote or were told; answers cite your own documents as [n].\n"
             "Commands: /draft INSTRUCTION, /forget (delete this session), /help.")
CHAT_HELP = ("/draft INSTRUCTION  open Draft with this request and start it\n"
             "/forget             delete this session's file and start a new one\n"
             "/help               this list\n"
             "Keys: F1-F5 switch areas, ctrl+p commands, ? keys (outside a text box), ctrl+q quit.")


class ChatArea(Vertical):
    """The conversation: a log of turns above the question box."""

    DEFAULT_CSS = """
    ChatArea { height: 1fr; }
    #chat-log { height: 1fr; }
    .turn-user { color: $accent; margin-top: 1; }
    .turn-sources { color: $text-muted; }
    .turn-answer { margin-bottom: 1; }
    """

    def __init__(self, sessions, **options) -> None:
        super().__init__(**options)
        self.sessions = sessions  # the folder each session's JSONL file goes in
        self.session = data.Session.new(sessions)

    def compose(self) -> ComposeResult:
        yield VerticalScroll(Static(CHAT_HINT, id="chat-hint", markup=False), id="chat-log")
        yield Input(placeholder="Ask, or /help", id="chat-input")

    def new_session(self) -> None:
        self.session = data.Session.new(self.sessions)
        self._clear_chat(CHAT_HINT)
        self.notify("New chat session started.")

    def forget_session(self) -> None:
        existed = self.session.forget()
        self.session = data.Session.new(self.sessions)
        self._clear_chat("This session was forgotten: its file is deleted. " + CHAT_HINT)
        self.notify("Session file deleted." if existed else "Nothing was saved in this session yet.")

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
                self.forget_session()
            elif command == "/draft":
                self.app.start_draft_from_chat(rest.strip())
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

        app = self.app
        try:
            with app.lock:
                hits = app.assistant.search(question, k=4)
        except Exception as exc:  # noqa: BLE001
            app.call_from_thread(sources.update, "Search failed.")
            app.fail("Search failed", exc)
            return
        passages = passages_of(hits)
        listing = "\n".join(f"[{p.number}] {p.title} — {p.date or 'undated'}" for p in passages)
        app.call_from_thread(sources.update, Text(listing or "Nothing in your history matches that."))
        if not passages:
            return
        name = app.assistant.config.me.display_name
        text = ""
        try:
            with app.lock:
                generator = app.assistant.generator
                if generator.has_chat_template:
                    for piece in generator.stream(chat_messages(name, question, passages),
                                                  max_tokens=app.max_tokens, temperature=0.3):
                        text += piece
                        app.call_from_thread(reply.update, Text(text))
                else:
                    text = generator.complete(completion_prompt(name, question, passages),
                                              max_tokens=app.max_tokens, temperature=0.3,
                                              stop=["\nQuestion:", "\n\n"])
        except Exception as exc:  # noqa: BLE001
            app.fail("Could not generate an answer", exc)
            return
        text = text.strip() or "(the model gave no answer; the passages above are what I found)"
        app.call_from_thread(reply.update, Text(text))
        self.session.append("assistant", text)
