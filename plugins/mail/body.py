"""A message's text: decoding parts whatever their charset claims, and splitting off what
the author did not write (quoted replies, signatures) so another person's words are never
taken for the person's own style."""

from __future__ import annotations

import re
from email.message import Message
from html.parser import HTMLParser

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


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of `data` in its declared charset; an unknown or wrong one falls back to UTF-8,
    then Windows-1252 (which reads 8-bit Latin-1 mail sent without a charset)."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def charset_of(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except (LookupError, ValueError, TypeError):
        return None


def part_text(part: Message) -> str:
    """The decoded text of a single (non-multipart) part; HTML is reduced to its text."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_bytes(payload, charset_of(part)).replace("\r\n", "\n")
    return html_to_text(text) if part.get_content_type() == "text/html" else text


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
