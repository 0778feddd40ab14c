"""WhatsApp "Export chat" `.txt` files, in both line formats the phones write:

    [25/12/2023, 14:03:55] Sam Lee: text          (iPhone)
    25/12/23, 14:03 - Sam Lee: text               (Android; 12-hour clocks add "2:03 PM")

A line without that header continues the message above it. Lines with no
`Name:` (encryption notices, "X added Y") and iPhone's system lines and attachment
stubs (which start with U+200E) are system messages, and are skipped, as are
"<Media omitted>" and "This message was deleted" stubs. Whether dates are day-first or month-first is decided from
the whole file (a first number over 12 means day-first); day-first when it cannot tell.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.sources import Item
from assistant.textfiles import read_text_file

from .common import MAX_EXPORT_BYTES, SPECIFIC_PRIORITY, chat_item, head

_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[\s\u202f]*([AaPp])\.?\s?[Mm]\.?)?"
_DATE = r"(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})"
_IOS = re.compile(rf"^\u200e?\[{_DATE},? {_TIME}\] (.*)$")
_ANDROID = re.compile(rf"^\u200e?{_DATE},? {_TIME} - (.*)$")
# No quote in a name: `Ollie changed the subject to "Rides: Sunday"` is a system line.
_SPEAKER = re.compile(r"^([^:\u200e\"]{1,80}?): (.*)$", re.S)
_STUBS = {"<media omitted>", "<médias omis>", "null", "this message was deleted", "you deleted this message"}
_TITLE = re.compile(r"^WhatsApp Chat (?:with|-) ", re.I)


def _header(line: str) -> re.Match[str] | None:
    return _IOS.match(line) or _ANDROID.match(line)


def _day_first(headers: list[re.Match[str]]) -> bool:
    if any(int(m.group(1)) > 12 for m in headers):
        return True
    return not any(int(m.group(2)) > 12 for m in headers)


def _timestamp(match: re.Match[str], day_first: bool) -> str:
    a, b, year, hour, minute, second, half = match.groups()[:7]
    day, month = (a, b) if day_first else (b, a)
    year_n = int(year) + (2000 if len(year) == 2 else 0)
    hour_n = int(hour)
    if half:  # a 12-hour clock: 12 AM is 0h, 12 PM is 12h
        hour_n = hour_n % 12 + (12 if half.lower() == "p" else 0)
    try:
        return datetime(year_n, int(month), int(day), hour_n, int(minute), int(second or 0)).isoformat()
    except ValueError:
        return ""


class WhatsAppSource:
    name = "whatsapp"
    kind = "chat"
    priority = SPECIFIC_PRIORITY

    def claims(self, path: Path) -> bool:
        if not (path.suffix.lower() == ".txt" and path.is_file()):
            return False
        first = next((line for line in head(path, 4096).splitlines() if line.strip()), "")
        return _header(first) is not None

    def read(self, path: Path, me: Identity) -> Iterator[Item]:
        text, _ = read_text_file(path, max_bytes=MAX_EXPORT_BYTES)
        lines = text.splitlines()
        starts = [(number, m) for number, line in enumerate(lines, 1) if (m := _header(line))]
        day_first = _day_first([m for _, m in starts])
        conversation = _TITLE.sub("", path.stem) or path.stem
        for index, (number, match) in enumerate(starts):
            end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
            body = "\n".join([match.group(8), *lines[number:end]]).strip()
            said = _SPEAKER.match(body)
            if said is None:
                continue  # a system message: no "Name: " after the timestamp
            speaker, message = said.group(1).strip(), said.group(2).strip()
            if not message or message.startswith("\u200e") or message.lower() in _STUBS:
                continue
            yield chat_item(f"{path}#L{number}", conversation, speaker, message, _timestamp(match, day_first), me)
