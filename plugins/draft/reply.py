"""`draft --reply-to FILE.eml|MESSAGE-ID`: the thread a reply answers, and whom the reply goes to.

The message comes from a `.eml` file or, by its Message-ID, from the store (mail documents
keep `message_id`, `thread`, `references` and `reply_to` in their meta). Earlier messages of
the same thread found in the store are quoted too, oldest first.

Whom it goes to comes from the message's headers, never its body:
- the sender (From); for a message the person sent themselves, its To;
- Reply-To instead, only when every Reply-To address is on the sender's own domain (or a
  subdomain of it) or is someone the person has written to before. A Reply-To pointing at a
  stranger elsewhere is how a forged or hijacked message diverts a reply, so it is ignored
  and reported, and the reply goes to the sender.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import UserError
from assistant.generation.guard import Removed
from assistant.prompt.reply import QuotedMessage

MAX_THREAD_MESSAGES = 4
_RE_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.I)


@dataclass
class Thread:
    """The message a reply answers (its headers and text) and the earlier messages of its thread."""

    message_id: str
    references: list[str]
    root: str  # the thread's id (`meta.thread`): its first message
    subject: str
    sender: str  # the From address
    sender_name: str
    reply_to: list[str]
    recipients: list[str]  # To and Cc
    earlier: list[QuotedMessage] = field(default_factory=list)
    text: str = ""
    date: str = ""

    @property
    def header_addresses(self) -> list[str]:
        return [a for a in [self.sender, *self.reply_to, *self.recipients] if a]

    @property
    def quoted(self) -> list[QuotedMessage]:
        author = f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender
        return [*self.earlier, QuotedMessage(author, self.date, self.subject, self.text)]

    @property
    def reply_subject(self) -> str:
        return self.subject if _RE_PREFIX.match(self.subject) else f"Re: {self.subject}".strip()

    @property
    def reply_references(self) -> list[str]:
        chain = [ref for ref in self.references if ref != self.message_id]
        return chain + [self.message_id] if self.message_id else chain


def _looks_like_message_id(ref: str) -> bool:
    return "@" in ref and "/" not in ref and not ref.lower().endswith(".eml")


def load_thread(assistant, ref: str) -> Thread:
    """The thread `ref` names: a path to a saved message, or a Message-ID in the store."""
    path = Path(ref).expanduser()
    if path.is_file():
        thread = _from_file(assistant, path)
    elif _looks_like_message_id(ref) and not path.exists():
        thread = _from_store(assistant, ref)
    else:
        raise UserError(f"--reply-to {ref}: no such file; pass a saved .eml message or a Message-ID "
                        "of an indexed email (e.g. <id@example.com>)")
    thread.earlier = _earlier(assistant, thread)
    return thread


def _from_file(assistant, path: Path) -> Thread:
    from assistant_plugins.mail.headers import sender
    from assistant_plugins.mail.parse import message_items, parse_bytes, too_large

    reason = too_large(path.stat().st_size)
    if reason:
        raise UserError(f"--reply-to {path}: {reason}; pass the one message to answer")
    raw = path.read_bytes()
    if b"\0" in raw[:4096] or not sender(parse_bytes(raw))[1]:
        raise UserError(f"--reply-to {path} is not an email (no From: header with an address); "
                        "pass a saved .eml message or a Message-ID of an indexed email")
    item = message_items(raw, str(path), assistant.config.me)[0]
    return _thread(item.meta, item.title, item.author, item.recipients, item.text, item.created_at)


def _from_store(assistant, ref: str) -> Thread:
    wanted = ref.strip() if ref.strip().startswith("<") else f"<{ref.strip()}>"
    row = next(assistant.db.query(
        "SELECT * FROM documents WHERE kind = 'mail' AND json_extract(meta, '$.message_id') = ? "
        "ORDER BY created_at DESC LIMIT 1", [wanted]), None)
    if row is None:
        raise UserError(f"--reply-to {ref}: no email with that Message-ID is indexed; index the mailbox "
                        "that holds it (`assistant index PATH`) or pass the saved .eml file")
    return _thread(json.loads(row["meta"] or "{}"), row["title"], row["author"],
                   json.loads(row["recipients"] or "[]"), _text(assistant.db, row["id"]), row["created_at"])


def _text(db, document_id: int) -> str:
    return "\n\n".join(r["text"] for r in db.query(
        "SELECT text FROM chunks WHERE document_id = ? ORDER BY position", [document_id]))


def _thread(meta: dict, subject: str, author: str, recipients: list[str], text: str, date: str) -> Thread:
    from assistant.attribution import address_of, display_name

    return Thread(message_id=meta.get("message_id") or "", references=list(meta.get("references") or []),
                  root=meta.get("thread") or meta.get("message_id") or "",
                  subject=subject or "", sender=(meta.get("from") or address_of(author) or "").lower(),
                  sender_name=display_name(author), reply_to=list(meta.get("reply_to") or []),
                  recipients=list(recipients), text=text, date=date or "")


def _earlier(assistant, thread: Thread) -> list[QuotedMessage]:
    """Messages of the same thread in the store dated before the one answered, oldest first."""
    if not thread.root:
        return []
    rows = list(assistant.db.query(
        "SELECT id, author, title, created_at FROM documents WHERE kind = 'mail' "
        "AND json_extract(meta, '$.thread') = ? AND json_extract(meta, '$.message_id') != ? "
        "AND created_at < ? ORDER BY created_at DESC LIMIT ?",
        [thread.root, thread.message_id, thread.date or "9999", MAX_THREAD_MESSAGES - 1]))
    return [QuotedMessage(row["author"], row["created_at"], row["title"], _text(assistant.db, row["id"]))
            for row in reversed(rows)]


def _same_domain(address: str, other: str) -> bool:
    a, b = address.rsplit("@", 1)[-1].lower(), other.rsplit("@", 1)[-1].lower()
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def reply_recipients(assistant, thread: Thread) -> tuple[list[str], list[Removed]]:
    """Whom the reply goes to (see the module's rules), and each Reply-To address passed over."""
    from assistant.profile.recipients import correspondents

    me = assistant.config.me
    if me.owns_address(thread.sender):
        return [a for a in thread.recipients if not me.owns_address(a)], []
    if not thread.reply_to or thread.reply_to == [thread.sender]:
        return [thread.sender], []
    known = correspondents(assistant.db)
    trusted = [a for a in thread.reply_to if _same_domain(a, thread.sender) or a in known]
    if len(trusted) == len(thread.reply_to):
        return trusted, []
    return [thread.sender], [
        Removed("recipient", a, f"Reply-To points away from the sender's domain ({thread.sender}) to someone "
                                "you have never written to; the reply goes to the sender")
        for a in thread.reply_to if a not in trusted]
