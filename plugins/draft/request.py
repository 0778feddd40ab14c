"""One draft request, before and after generation: what it answers, whom it is for, and the guard.

`prepare` reads the thread (`--reply-to`), settles the recipients and the subject; `trusted`
says what a draft may carry (built once per draft) and `finish` runs the safety guard
(`assistant.generation.guard`) over what the model wrote, trusting only the request, the
thread's headers and the person's own past writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.generation.guard import Guarded, Removed, Trusted, guard_recipients, guard_text
from assistant_plugins.draft.reply import Thread, load_thread, reply_recipients
from assistant_plugins.draft.save import Envelope

REPLY_INSTRUCTION = "Reply to the last email in the thread: answer what it says or asks, in my own words."
MAX_SUBJECT = 78


@dataclass
class DraftRequest:
    instruction: str
    to: str | None  # whom the style follows: what the person typed, else the thread's sender
    tone: str | None = None
    thread: Thread | None = None
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    passed_over: list[Removed] = field(default_factory=list)  # Reply-To addresses not replied to

    @property
    def query(self) -> str:
        """What exemplars are searched with: the request and, for a reply, what it answers."""
        return " ".join(p for p in (self.instruction, self.thread.subject if self.thread else "") if p)

    def envelope(self) -> Envelope:
        thread = self.thread
        return Envelope(self.recipients, self.subject, thread.message_id if thread else "",
                        thread.reply_references if thread else [])


def _addresses_for(assistant, to: str) -> list[str]:
    from assistant.profile.recipients import resolve

    if "@" in to:
        return [a.strip().lower() for a in to.split(",") if "@" in a]
    found = resolve(assistant.db, to).addresses
    return found[:1]


def prepare(assistant, instruction: str, to: str | None, reply_to: str | None, tone: str | None) -> DraftRequest:
    if not reply_to:
        return DraftRequest(instruction, to, tone, recipients=_addresses_for(assistant, to) if to else [],
                            subject=instruction.strip()[:MAX_SUBJECT])
    thread = load_thread(assistant, reply_to)
    recipients, passed_over = reply_recipients(assistant, thread)
    if to:  # the person named whom it is for: that wins over the thread
        recipients = _addresses_for(assistant, to) or recipients
    return DraftRequest(instruction.strip() or REPLY_INSTRUCTION, to or (recipients[0] if recipients else None),
                        tone, thread, recipients, thread.reply_subject, passed_over)


def trusted(assistant, request: DraftRequest) -> Trusted:
    passed = {r.value for r in request.passed_over}
    headers = [a for a in request.thread.header_addresses if a not in passed] if request.thread else []
    return Trusted(assistant.db, [request.instruction, request.to or ""],
                   [*headers, *request.recipients, *assistant.config.me.emails])


def finish(request: DraftRequest, text: str, checks: Trusted) -> Guarded:
    """The draft with everything untrusted removed, and the recipients checked the same way;
    `checks` is the draft's one `trusted(…)`, the one its streamed lines went through."""
    guarded = guard_text(text, checks)
    subject = guard_text(request.subject, checks)  # a reply's subject is a stranger's words too
    request.subject = subject.text
    request.recipients, dropped = guard_recipients(request.recipients, checks)
    guarded.removed = [*request.passed_over, *dropped, *subject.removed, *guarded.removed]
    return guarded
