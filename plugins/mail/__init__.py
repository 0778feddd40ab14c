"""The `mail` source: single `.eml` files and mbox files.

A message is the person's own when its From is one of their configured addresses.
Only what the message's author wrote is indexed as the message's text; quoted
replies and signatures are split off, so another person's words are never taken
for the person's own style.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import mailbox
import re
from datetime import timezone
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

from assistant.config import Identity
from assistant.hookspecs import hookimpl
from assistant.sources import Failure, Item, SkipFile

MAX_MAIL_BYTES = 50 * 1024 * 1024
_QUOTE_HEADER = re.compile(r"^(On .{4,200}wrote:|-----\s*Original Message\s*-----|From: .+)$", re.M)
_SIGNATURE = re.compile(r"^-- ?$", re.M)


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def split_body(body: str) -> tuple[str, str, str]:
    """(authored text, quoted text, signature) of a plain-text mail body."""
    quoted = ""
    match = _QUOTE_HEADER.search(body)
    if match:
        body, quoted = body[: match.start()], body[match.start():]
    kept, quoted_lines = [], []
    for line in body.splitlines():
        (quoted_lines if line.startswith(">") else kept).append(line)
    body = "\n".join(kept)
    quoted = "\n".join(quoted_lines) + ("\n" + quoted if quoted else "")
    signature = ""
    sig = _SIGNATURE.search(body)
    if sig:
        body, signature = body[: sig.start()], body[sig.end():]
    return body.strip(), quoted.strip(), signature.strip()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown charset: decode the bytes as UTF-8, replacing
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content


def _addresses(message: EmailMessage, header: str) -> list[str]:
    values = message.get_all(header, [])
    return [addr.lower() for _, addr in email.utils.getaddresses([str(v) for v in values]) if addr]


def _date(message: EmailMessage) -> str:
    raw = message.get("Date")
    if not raw:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat(timespec="seconds")


def message_item(message: EmailMessage, uri: str, me: Identity) -> Item:
    from_name, from_addr = email.utils.parseaddr(str(message.get("From", "")))
    authored, quoted, signature = split_body(_body(message))
    return Item(
        uri=uri,
        text=authored,
        kind="mail",
        author_is_me=me.owns_address(from_addr),
        title=str(message.get("Subject", "") or ""),
        author=f"{from_name} <{from_addr}>" if from_name else from_addr,
        recipients=_addresses(message, "To") + _addresses(message, "Cc"),
        created_at=_date(message),
        meta={
            "message_id": str(message.get("Message-ID", "") or "").strip(),
            "in_reply_to": str(message.get("In-Reply-To", "") or "").strip(),
            "quoted_chars": len(quoted),
            "signature": signature[:300],
        },
    )


class MailSource:
    name = "mail"
    kind = "mail"

    def claims(self, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() == ".eml":
            return True
        if path.suffix.lower() == ".mbox":
            return True
        return False

    def read(self, path: Path, me: Identity):
        size = path.stat().st_size
        if size > MAX_MAIL_BYTES:
            raise SkipFile(f"too large: {size / 1e6:.0f} MB is over the {MAX_MAIL_BYTES / 1e6:.0f} MB limit")
        if path.suffix.lower() == ".eml":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            yield message_item(message, str(path), me)
            return
        for key, raw in mailbox.mbox(str(path), create=False).iteritems():
            uri = f"{path}#{key}"
            try:
                message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
                yield message_item(message, uri, me)
            except Exception as exc:  # one bad message never stops the rest of the mailbox
                yield Failure(uri, f"{type(exc).__name__}: {exc}")


@hookimpl
def register_sources(register):
    register(MailSource())
