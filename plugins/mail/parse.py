"""One raw message → the `Item`s it holds: the message itself and each text attachment.

Only the message body is the sender's writing, stored as kind `mail`. A text attachment is
a document of its own kind, `attachment` (a spreadsheet, notes, a draft contract): found by
search, never learned from as the sender's email style or used as an exemplar.
"""

from __future__ import annotations

import email
import email.policy
from email.message import Message
from pathlib import PurePath
from typing import Callable, Iterator

from assistant.attribution import is_mine
from assistant.config import Identity
from assistant.sources import Failure, Item
from assistant_plugins.mail.body import charset_of, decode_bytes, part_text, split_body
from assistant_plugins.mail.headers import date_iso, decode_header_value, header, named_addresses, sender, thread_links

TEXT_ATTACHMENT_TYPES = {"text/plain", "text/markdown", "text/x-markdown", "text/csv"}
TEXT_ATTACHMENT_SUFFIXES = {".txt", ".md", ".markdown", ".csv"}
MAX_ATTACHMENT_TEXT_BYTES = 5 * 1024 * 1024
MAX_MESSAGE_BYTES = 50 * 1024 * 1024


def parse_bytes(raw: bytes) -> Message:
    """compat32 keeps every header as its raw text, so no header can make parsing raise."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError, IndexError):
        name = None
    return decode_header_value(name) if name else ""


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disposition == "attachment" or bool(_filename(part))


def _split_parts(message: Message) -> tuple[Message | None, list[Message]]:
    """(the part holding the body: first inline text/plain, else text/html; attachment parts)."""
    plain = html = None
    attachments: list[Message] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if _is_attachment(part):
            attachments.append(part)
        elif part.get_content_type() == "text/plain" and plain is None:
            plain = part
        elif part.get_content_type() == "text/html" and html is None:
            html = part
    return plain or html, attachments


def _is_text_attachment(content_type: str, name: str) -> bool:
    return content_type in TEXT_ATTACHMENT_TYPES or PurePath(name).suffix.lower() in TEXT_ATTACHMENT_SUFFIXES


def message_items(raw: bytes, uri: str, me: Identity, meta: dict | None = None) -> list[Item]:
    """The message at `uri` and its text attachments (`URI#attachment/N`, N counting from 1).

    The message is the person's own when its From is one of their addresses; its attachments
    share that sender. Every attachment is listed in the message's meta (name, type, size);
    `meta.recipient_names` keeps the display name each recipient was addressed by.
    """
    message = parse_bytes(raw)
    from_name, from_addr = sender(message)
    body_part, attachment_parts = _split_parts(message)
    authored, quoted, signature = split_body(part_text(body_part) if body_part is not None else "")
    links = thread_links(message)
    recipients = named_addresses(message, "To", "Cc")
    author = f"{from_name} <{from_addr}>" if from_name and from_addr else (from_addr or from_name)
    common = {
        "author_is_me": is_mine(me, "mail", author, {"from": from_addr}),
        "author": author,
        "recipients": list(recipients),
        "created_at": date_iso(message),
    }
    meta = {**(meta or {}), "from": from_addr}
    subject = header(message, "Subject")
    listed: list[dict] = []
    attachment_items: list[Item] = []
    for n, part in enumerate(attachment_parts, 1):
        name = _filename(part) or f"attachment-{n}"
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        listed.append({"name": name, "type": content_type, "size": len(data)})
        if _is_text_attachment(content_type, name) and 0 < len(data) <= MAX_ATTACHMENT_TEXT_BYTES:
            attachment_items.append(Item(
                uri=f"{uri}#attachment/{n}",
                text=decode_bytes(data, charset_of(part)).replace("\r\n", "\n"),
                kind="attachment",
                title=name,
                meta={**meta, "attachment_of": uri, "subject": subject, "type": content_type,
                      "message_id": links["message_id"], "thread": links["thread"]},
                **common,
            ))
    item = Item(
        uri=uri,
        text=authored,
        kind="mail",
        title=subject,
        meta={**meta, **links, "reply_to": list(named_addresses(message, "Reply-To")),
              "quoted_chars": len(quoted), "signature": signature[:300],
              "attachments": listed, "recipient_names": {a: n for a, n in recipients.items() if n}},
        **common,
    )
    return [item, *attachment_items]


def too_large(size: int) -> str | None:
    """Why a message of `size` bytes is not read, or None when it is fine."""
    if size <= MAX_MESSAGE_BYTES:
        return None
    return f"too large: {size / 1e6:.0f} MB is over the {MAX_MESSAGE_BYTES / 1e6:.0f} MB limit"


def read_message(load: Callable[[], bytes], uri: str, me: Identity, meta: dict | None = None
                 ) -> Iterator[Item | Failure]:
    """`message_items` of the bytes `load` returns, or one `Failure` saying why there are none."""
    try:
        raw = load()
        reason = too_large(len(raw))
        if reason:
            yield Failure(uri, reason)
            return
        items = message_items(raw, uri, me, meta)
    except Exception as exc:  # one bad message never stops the rest of the mailbox
        yield Failure(uri, f"unreadable message: {type(exc).__name__}: {exc}")
        return
    yield from items
