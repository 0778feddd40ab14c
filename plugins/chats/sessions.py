"""The assistant's own chat sessions (the TUI's chat screen): `$ASSISTANT_HOME/sessions/<id>.jsonl`.

One turn a line: {"role": "user" | "assistant", "text": "…", "timestamp": ISO-8601}.
The `user` turns are the person's own writing; the assistant's turns are kept as
others' text, so what it said can be found but never taught as the person's style.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.errors import UserError
from assistant.sources import Failure, Item, SkipFile
from assistant.textfiles import check_size, decode_text
from .common import MAX_EXPORT_BYTES, SPECIFIC_PRIORITY, chat_item, head
from .jsonl import json_lines

ROLES = {"user", "assistant"}
ASSISTANT_SPEAKER = "assistant"


def _sealed_text(path: Path) -> str | None:
    """The text of a session file sealed because the store is encrypted (`assistant.store.sealed`);
    None for a plain file. Sessions live in the home's sessions/, so the home is two folders up."""
    from assistant.store.sealed import MAGIC, unseal

    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            return None
    check_size(path, MAX_EXPORT_BYTES, "chat exports")
    return decode_text(unseal(path.parent.parent, path.read_bytes()))[0]


def _first_object(path: Path) -> dict | None:
    try:
        sealed = _sealed_text(path)
    except (UserError, SkipFile):  # sealed with another key, or too big: not recognisably a session
        return None
    for line in (head(path, 16384) if sealed is None else sealed[:16384]).splitlines():
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


class SessionsSource:
    name = "sessions"
    kind = "chat"
    priority = SPECIFIC_PRIORITY

    def claims(self, path: Path) -> bool:
        if not (path.suffix.lower() == ".jsonl" and path.is_file()):
            return False
        first = _first_object(path)
        return first is not None and first.get("role") in ROLES and "text" in first

    def read(self, path: Path, me: Identity) -> Iterator[Item | Failure]:
        conversation = f"assistant session {path.stem}"
        for number, uri, turn in json_lines(path, _sealed_text(path)):
            if isinstance(turn, Failure):
                yield turn
                continue
            role, text = turn.get("role"), turn.get("text")
            if role not in ROLES or not isinstance(text, str):
                yield Failure(uri, f"session line {number} needs a role (user or assistant) and a text")
                continue
            speaker = me.display_name if role == "user" else ASSISTANT_SPEAKER
            yield chat_item(uri, conversation, speaker, text, str(turn.get("timestamp", "")), me, role=role)
