"""Lenient header reading: a malformed header yields its raw text, never an exception.

Messages are parsed with `email.policy.compat32`, which keeps headers as raw strings
(`email.policy.default` raises on access for headers such as `Content-Type: text/plain;
name*`), and each header is decoded here on its own, so one bad header costs only itself.
"""

from __future__ import annotations

import email.header
import email.utils
import re
from datetime import timezone
from email.message import Message

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _undo_surrogates(text: str) -> str:
    """8-bit header bytes arrive as surrogate escapes: read them as UTF-8, else as Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def decode_header_value(value: object) -> str:
    """The readable text of one header value (RFC 2047 words decoded), or its raw text."""
    if value is None:
        return ""
    raw = value if isinstance(value, str) else str(value)
    try:
        parts = email.header.decode_header(raw)
        text = "".join(
            chunk.decode(charset or "utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
            for chunk, charset in parts
        )
    except (LookupError, UnicodeError, ValueError, TypeError, AssertionError):
        text = raw  # an unknown charset or a broken encoded word: keep what was there
    return " ".join(_undo_surrogates(text).split())


def raw_values(message: Message, name: str) -> list[str]:
    """Every value of header `name` as stored, 8-bit bytes still escaped (`get` would mangle them)."""
    wanted = name.lower()
    return [value for key, value in message.raw_items() if key.lower() == wanted]


def header(message: Message, name: str) -> str:
    values = raw_values(message, name)
    return decode_header_value(values[0]) if values else ""


def named_addresses(message: Message, *names: str) -> dict[str, str]:
    """Lower-cased address → display name ("" when none) from the named headers, in order,
    skipping anything that is not an address."""
    values = [decode_header_value(v) for name in names for v in raw_values(message, name)]
    try:
        pairs = email.utils.getaddresses(values)
    except (ValueError, TypeError, IndexError):
        pairs = [("", word) for value in values for word in re.split(r"[\s,;]+", value)]
    found: dict[str, str] = {}
    for name, addr in pairs:
        if "@" in addr:
            found[addr.lower()] = found.get(addr.lower()) or name.strip()
    return found


def sender(message: Message) -> tuple[str, str]:
    """(display name, lower-cased address) of From; the address is "" when there is none."""
    value = header(message, "From")
    try:
        name, addr = email.utils.parseaddr(value)
    except (ValueError, TypeError, IndexError):
        name, addr = "", ""
    if "@" not in addr:
        found = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", value)
        name, addr = (value, found.group(0)) if found else (value, "")
    return name.strip(), addr.lower()


def date_iso(message: Message) -> str:
    """The Date header as ISO-8601 (UTC when it names no zone), or "" when missing or unreadable."""
    raw = header(message, "Date")
    if not raw:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat(timespec="seconds")


def message_ids(value: str) -> list[str]:
    """The `<id>` tokens of a Message-ID, In-Reply-To or References value, in order."""
    return _MESSAGE_ID.findall(value)


def thread_links(message: Message) -> dict[str, object]:
    """message_id, in_reply_to, references and thread: the root of the thread the message is in.

    The root is the first References entry (RFC 5322 keeps the thread's first message there),
    else the message replied to, else the message itself.
    """
    own = message_ids(header(message, "Message-ID"))
    reply_to = message_ids(header(message, "In-Reply-To"))
    references = message_ids(header(message, "References"))
    message_id = own[0] if own else header(message, "Message-ID")
    in_reply_to = reply_to[-1] if reply_to else ""
    thread = references[0] if references else (in_reply_to or message_id)
    return {"message_id": message_id, "in_reply_to": in_reply_to, "references": references, "thread": thread}
