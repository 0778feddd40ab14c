"""The Draft area: an email in the person's voice through the `draft` skill, streamed a guarded
line at a time, with a reply picker, tone buttons, why it reads that way, and saving.

Everything that reads the store or runs the model is in a thread worker under the app's lock;
Escape stops a running draft between two tokens (`stopping`), leaving what was shown unsaved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from assistant.tui import data
from assistant.tui.stopping import Stopped, stoppable
from assistant.tui.warm import from_daemon

NOT_A_REPLY = "A new email (Reply to… picks a thread to answer)"
WHY_HINT = "Why this draft: the exemplars, facts and style notes it used appear here."
# The tone buttons and the draft skill's `tone` each stands for.
TONES = {"shorter": ("Shorter", "shorter"), "longer": ("Longer", "longer"), "warmer": ("Warmer", "casual"),
         "formal": ("More formal", "formal")}
RECENT_MAIL = 300


@dataclass(frozen=True)
class Request:
    instruction: str
    to: str = ""
    reply_to: str = ""  # a Message-ID in the store
    reply_label: str = ""
    tone: str = ""  # a key of TONES
    take: int = 0  # which take of the same request: the draft's `seed` (Regenerate counts up)


def recent_mail(db, limit: int = RECENT_MAIL) -> list[dict]:
    """Mail in the store that a reply can answer (it has a Message-ID), newest first."""
    return [dict(row) for row in db.query(
        "SELECT title, author, author_is_me AS mine, substr(created_at, 1, 10) AS date, "
        "json_extract(meta, '$.message_id') AS message_id FROM documents WHERE kind = 'mail' "
        "AND uri NOT LIKE '%#attachment/%' AND json_extract(meta, '$.message_id') IS NOT NULL "
        "ORDER BY created_at DESC LIMIT ?", [limit])]


def mail_label(row: dict) -> str:
    sender = "you" if row["mine"] else (row["author"] or "unknown sender")
    return f"{row['title'] or '(no subject)'} — {sender}, {row['date'] or 'undated'}"


class ReplyPicker(ModalScreen):
    """Recent mail in the store, filtered as you type; Enter picks the thread to answer."""

    DEFAULT_CSS = """
    ReplyPicker { align: center middle; }
    #reply-box { width: 90%; height: 90%; border: round $primary; background: $surface; }
    #reply-list { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []  # the mail listed, read in a worker

    def compose(self) -> ComposeResult:
        with Vertical(id="reply-box"):
            yield Input(placeholder="Filter by subject or sender", id="reply-filter")
            yield OptionList(id="reply-list")

    def on_mount(self) -> None:
        self.query_one("#reply-box").border_title = "Reply to which email? (Escape: keep as it is)"
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        try:
            with self.app.reader() as db:
                rows = recent_mail(db)
        except Exception as exc:  # noqa: BLE001
            self.app.fail("Could not read your mail", exc)
            return
        self.app.call_from_thread(self._fill, rows)

    def _fill(self, rows: list[dict]) -> None:
        self.rows = rows
        self.filter_changed()

    @on(Input.Changed, "#reply-filter")
    def filter_changed(self) -> None:
        words = self.query_one("#reply-filter", Input).value.lower().split()
        options = self.query_one("#reply-list", OptionList)
        options.clear_options()
        options.add_option(Option(Text("(not a reply: a new email)"), id="none"))
        for index, row in enumerate(self.rows):
            label = mail_label(row)
            if all(word in label.lower() for word in words):
                options.add_option(Option(Text(label), id=str(index)))
        options.highlighted = 1 if options.option_count > 1 else 0  # the newest email that matches

    @on(Input.Submitted, "#reply-filter")
    def filter_submitted(self) -> None:
        options = self.query_one("#reply-list", OptionList)
        if options.highlighted is not None:
            self._pick(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected, "#reply-list")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option.id)

    def _pick(self, option_id: str | None) -> None:
        self.dismiss({} if option_id in (None, "none") else self.rows[int(option_id)])


class MaildirPrompt(ModalScreen):
    """Which Maildir to save the draft in (its Drafts folder is found or made)."""

    DEFAULT_CSS = """
    MaildirPrompt { align: center middle; }
    #maildir-box { width: 70; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="maildir-box"):
            yield Static("Save the draft in the Drafts folder of this Maildir (Enter saves, Escape cancels):")
            yield Input(self.path, placeholder="~/Maildir", id="maildir-path")

    @on(Input.Submitted, "#maildir-path")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class DraftArea(Horizontal):
    """The request (instruction, recipient, thread, tone), the draft, and beside it why it reads that way."""

    DEFAULT_CSS = """
    #draft-form { width: 2fr; }
    #draft-rest { height: 1fr; }
    #draft-why { width: 1fr; min-width: 24; padding: 0 1; border-left: solid $primary; }
    .draft-row { height: 1; margin-bottom: 1; }
    .draft-row Button { margin-right: 1; min-width: 6; }
    .draft-row Static { width: auto; margin-right: 1; }
    #draft-reply { color: $text-muted; height: 1; margin-bottom: 1; }
    #draft-text { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save_eml", "Save .eml", show=False),
        Binding("ctrl+r", "pick_reply", "Reply to…"),
        Binding("escape", "stop", "Stop / leave box", show=False),
    ]

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.last: Request | None = None  # the request of the draft on screen
        self.reply: dict = {}  # the picked email, when the draft answers one
        self.envelope = None  # the saved message's headers for the draft on screen
        self.serial = 0  # which draft the pieces arriving belong to
        self.maildir = "~/Maildir"

    def compose(self) -> ComposeResult:
        with Vertical(id="draft-form"):
            yield Input(placeholder="What should the email say?", id="draft-instruction", select_on_focus=False)
            yield Input(placeholder="To (a name; → accepts a suggestion)", id="draft-to")
            with Vertical(id="draft-rest"):
                yield Static(NOT_A_REPLY, id="draft-reply", markup=False)
                with Horizontal(id="draft-buttons", classes="draft-row"):
                    yield Button("Draft", id="draft-go", variant="primary", compact=True)
                    yield Button("Regenerate", id="draft-again", compact=True)
                    yield Button("Reply to…", id="draft-pick", compact=True)
                with Horizontal(id="draft-tones", classes="draft-row"):
                    yield Static("Tone:")
                    for key, (label, _) in TONES.items():
                        yield Button(label, id=f"tone-{key}", compact=True)
                yield TextArea(id="draft-text", soft_wrap=True)
                with Horizontal(id="draft-keep", classes="draft-row"):
                    yield Button("Save .eml", id="draft-save", compact=True)
                    yield Button("Maildir draft", id="draft-maildir", compact=True)
                    yield Button("Copy", id="draft-copy", compact=True)
        yield Static(WHY_HINT, id="draft-why", markup=False)

    # -- starting -------------------------------------------------------------------------------

    def request(self, instruction: str) -> None:
        """Put `instruction` in the box and, when there is one, start drafting it."""
        box = self.query_one("#draft-instruction", Input)
        box.value = instruction
        box.cursor_position = len(box.value)
        if instruction:
            self.start_draft()

    def _request(self, tone: str = "") -> Request | None:
        instruction = self.query_one("#draft-instruction", Input).value.strip()
        if not instruction and not self.reply:
            self.notify("Type what the email should say first, e.g. “thank Sam for the site visit”, "
                        "or pick an email to answer with Reply to… (ctrl+r).", title="No request", severity="warning")
            return None
        return Request(instruction, self.query_one("#draft-to", Input).value.strip(),
                       self.reply.get("message_id", ""), mail_label(self.reply) if self.reply else "", tone)

    @on(Input.Submitted, "#draft-instruction")
    @on(Input.Submitted, "#draft-to")
    @on(Button.Pressed, "#draft-go")
    def start_draft(self) -> None:
        request = self._request()
        if request:
            self.run_request(request)

    @on(Button.Pressed, "#draft-again")
    def regenerate(self) -> None:
        """Another take of the draft on screen (same request, thread and tone; the next seed), or a first one."""
        current = self._request()
        if current and self.last:
            current = replace(current, tone=self.last.tone)
            if replace(current, take=self.last.take) == self.last:
                current = replace(current, take=self.last.take + 1)
        if current:
            self.run_request(current)

    @on(Button.Pressed, "#draft-tones Button")
    def tone_pressed(self, event: Button.Pressed) -> None:
        request = self._request(tone=(event.button.id or "").removeprefix("tone-"))
        if request:
            self.run_request(request)

    def run_request(self, request: Request) -> None:
        self.last, self.envelope = request, None
        self.serial += 1
        text = self.query_one("#draft-text", TextArea)
        text.text, text.read_only = "", True
        tone = f" ({TONES[request.tone][0].lower()})" if request.tone else ""
        from assistant_plugins.draft.choose import more_note

        config = self.app.assistant.config
        count = config.draft_candidates
        tries = (f" {count} tries{more_note(config.draft_more_candidates)}; the one most in your voice shows when "
                 "all are written.") if count > 1 else ""
        self.query_one("#draft-why", Static).update(f"Drafting…{tone}{tries}  Escape stops it.")
        self.make_draft(self.serial, request)

    def action_stop(self) -> None:
        running = [w for w in self.workers if w.group == "draft" and w.is_running]
        if not running:
            self.app.action_leave_input()
            return
        for worker in running:
            worker.cancel()
        # The worker says when it has stopped: between two tokens, or (the daemon's) at the next line.
        self.query_one("#draft-why", Static).update("Stopping…")

    # -- the reply picker -----------------------------------------------------------------------

    @on(Button.Pressed, "#draft-pick")
    def action_pick_reply(self) -> None:
        self.app.push_screen(ReplyPicker(), self._picked)

    def _picked(self, row: dict | None) -> None:
        if row is not None:  # Escape: as it was
            self.answer(row)

    def answer(self, row: dict) -> None:
        """Make the draft a reply to this email (a `recent_mail` row; {} for a new email)."""
        self.reply = row
        self.query_one("#draft-reply", Static).update(Text(f"Reply to: {mail_label(row)}") if row else NOT_A_REPLY)

    # -- the worker -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="draft")
    def make_draft(self, serial: int, request: Request) -> None:
        from assistant_plugins.draft import DraftResult
        from assistant_plugins.draft.reply import load_thread
        from assistant_plugins.draft.save import Envelope

        app, worker = self.app, get_current_worker()
        options = {"instruction": request.instruction, "to": request.to or None, "reply_to": request.reply_to or None,
                   "tone": TONES[request.tone][1] if request.tone else None, "max_tokens": app.max_tokens,
                   "seed": request.take}

        def shown(piece: str) -> None:
            app.call_from_thread(self._append, serial, piece)

        try:
            warm = from_daemon(app, "draft", options, lambda: worker.is_cancelled, shown)
            with app.lock:
                assistant = app.assistant
                if warm is not None:  # the daemon's warm models wrote it
                    result = DraftResult(**warm)
                else:
                    stoppable(assistant, lambda: worker.is_cancelled)
                    result = assistant.skill("draft").run(assistant, **options, on_text=shown)
                why = why_text(assistant.db, result, request)
                references = load_thread(assistant, request.reply_to).reply_references if request.reply_to else []
        except Stopped:
            app.call_from_thread(self._ended, serial, "Stopped (Escape): nothing was saved. What was written "
                                 "so far stays in the box; Regenerate starts again.")
            return
        except Exception as exc:  # noqa: BLE001 - reported; the rest of the app keeps working
            app.call_from_thread(self._ended, serial, "The draft failed; see the message.")
            app.fail("Could not draft", exc)
            return
        envelope = Envelope(result.to, result.subject, result.in_reply_to, references)
        app.call_from_thread(self._show_draft, serial, result.draft, why, envelope)

    def _append(self, serial: int, piece: str) -> None:
        if serial == self.serial:
            area = self.query_one("#draft-text", TextArea)
            area.insert(piece, area.document.end)

    def _ended(self, serial: int, note: str) -> None:
        if serial == self.serial:
            self.query_one("#draft-text", TextArea).read_only = False
            self.query_one("#draft-why", Static).update(note)

    def _show_draft(self, serial: int, text: str, why: str, envelope) -> None:
        if serial != self.serial:
            return
        area = self.query_one("#draft-text", TextArea)
        area.text, area.read_only = text, False
        self.envelope = envelope
        self.query_one("#draft-why", Static).update(Text(why))

    # -- keeping it -----------------------------------------------------------------------------

    def _message(self):
        """The draft on screen as an email (its headers from the draft skill), or None with a warning."""
        from assistant.errors import UserError
        from assistant_plugins.draft.save import build_message

        text = self.query_one("#draft-text", TextArea).text.strip()
        if not text:
            self.notify("There is no draft to save yet: write a request and press Draft.",
                        title="Nothing to save", severity="warning")
            return None
        if self.envelope is None:
            self.notify("The draft is still being written (or was stopped); save it once it is done, "
                        "or press Regenerate.", title="Not finished", severity="warning")
            return None
        try:
            return build_message(self.app.assistant.config.me, self.envelope, text)
        except UserError as exc:
            self.notify(str(exc), title="Cannot save the draft", severity="error")
            return None

    def action_save_eml(self) -> None:
        message = self._message()
        if message is None:
            return
        try:
            path = data.save_eml(self.app.assistant.home.root / "drafts", bytes(message), str(message["Subject"]))
        except OSError as exc:
            self.notify(f"{exc}; check that the folder is writable and the disk has space.",
                        title="Could not save the draft", severity="error")
            return
        self.notify(f"Saved {path}", title="Draft saved")

    @on(Button.Pressed, "#draft-save")
    def save_pressed(self) -> None:
        self.action_save_eml()

    @on(Button.Pressed, "#draft-maildir")
    def maildir_pressed(self) -> None:
        if self._message() is not None:
            self.app.push_screen(MaildirPrompt(self.maildir), self._save_maildir)

    def _save_maildir(self, path: str | None) -> None:
        from assistant.errors import UserError
        from assistant_plugins.draft.save import save_to_maildir

        message = self._message() if path else None
        if message is None:
            return
        self.maildir = path
        try:
            saved = save_to_maildir(Path(path).expanduser(), message)
        except UserError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        except OSError as exc:
            self.notify(f"{exc}; check that the Maildir is writable and the disk has space.",
                        title="Not saved", severity="error")
            return
        self.notify(f"Saved {saved}", title="Draft saved in the Maildir")

    @on(Button.Pressed, "#draft-copy")
    def copy_pressed(self) -> None:
        text = self.query_one("#draft-text", TextArea).text
        if not text.strip():
            self.notify("There is no draft to copy yet.", title="Nothing to copy", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify("Draft copied to the clipboard.")


def why_text(db, result, request: Request) -> str:
    """The why panel: the model, the thread and tone, the exemplars, facts and style notes the draft
    used (as the audit recorded them for this draft: its row `result.generation_id`) and what the
    guard removed."""
    from assistant.store.audit import get_generation

    recorded = get_generation(db, result.generation_id) or {}
    facts = [row[0] for row in db.execute(
        f"SELECT text FROM facts WHERE id IN ({', '.join('?' * len(recorded.get('fact_ids') or []))})",
        recorded.get("fact_ids") or [])] if recorded.get("fact_ids") else []
    lines = ["Why this draft", f"Model: {result.model}"]
    if request.reply_label:
        lines.append(f"Replying to: {request.reply_label}")
    if request.tone:
        lines.append(f"Tone: {TONES[request.tone][0].lower()}")
    lines += ["", "Your emails used as examples:"]
    lines += [f"• {line}" for line in data.exemplar_sources(db, result.used)] or ["• none found"]
    lines += ["", "Facts about you:"] + ([f"• {fact}" for fact in facts] or ["• none used"])
    notes = recorded.get("style_notes") or []
    lines += ["", "Style notes:"] + ([f"• {note}" for note in notes] or ["• none yet"])
    if result.removed:
        lines += ["", "Taken out by the guard:"] + [f"• {r['kind']} {r['value'][:60]}" for r in result.removed]
    return "\n".join(lines)
