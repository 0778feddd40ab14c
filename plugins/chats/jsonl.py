"""The generic chat format: JSONL, one message a line.

    {"conversation": "Sam", "speaker": "priya", "text": "…", "timestamp": "2024-05-01T09:30:00"}

Any exporter (or a few lines of script) can write it. A message is the person's own
when its speaker is one of their handles or names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.sources import Failure, Item
from assistant.textfiles import read_text_file
from .common import MAX_EXPORT_BYTES, chat_item

REQUIRED = ("conversation", "speaker", "text")


def json_lines(path: Path, text: str | None = None) -> Iterator[tuple[int, str, dict | Failure]]:
    """(line number, uri, parsed object or a `Failure`) for each non-empty line of a JSONL file
    (or of its `text`, already read)."""
    if text is None:
        text, _ = read_text_file(path, max_bytes=MAX_EXPORT_BYTES)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        uri = f"{path}#L{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, uri, Failure(uri, f"chat line {number} is not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield number, uri, Failure(uri, f"chat line {number} is not a JSON object")
            continue
        yield number, uri, value


class JsonlChatSource:
    name = "chats"
    kind = "chat"

    def claims(self, path: Path) -> bool:
        return path.suffix.lower() == ".jsonl" and path.is_file()

    def read(self, path: Path, me: Identity) -> Iterator[Item | Failure]:
        for number, uri, message in json_lines(path):
            if isinstance(message, Failure):
                yield message
                continue
            missing = [key for key in REQUIRED if not isinstance(message.get(key), str)]
            if missing:
                yield Failure(uri, f"chat line {number} lacks {', '.join(missing)}")
                continue
            yield chat_item(uri, message["conversation"], message["speaker"], message["text"],
                            str(message.get("timestamp", "")), me)
