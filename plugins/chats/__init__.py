"""The `chats` source: chat exports in the generic JSONL format.

One message per line: {"conversation": str, "speaker": str, "text": str,
"timestamp": ISO-8601}. Each message is one document; it is the person's own when
its speaker is one of their configured handles (or names).
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import Identity
from assistant.hookspecs import hookimpl
from assistant.sources import Failure, Item
from assistant.textfiles import read_text_file

REQUIRED = ("conversation", "speaker", "text")


class ChatsSource:
    name = "chats"
    kind = "chat"

    def claims(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() == ".jsonl"

    def read(self, path: Path, me: Identity):
        text, _ = read_text_file(path, max_bytes=200 * 1024 * 1024)
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            uri = f"{path}#L{number}"
            try:
                message = json.loads(line)
                missing = [key for key in REQUIRED if not isinstance(message.get(key), str)]
                if missing:
                    yield Failure(uri, f"chat line {number} lacks {', '.join(missing)}")
                    continue
            except json.JSONDecodeError as exc:
                yield Failure(uri, f"chat line {number} is not JSON: {exc.msg}")
                continue
            yield Item(
                uri=uri,
                text=message["text"],
                kind="chat",
                author_is_me=me.owns_handle(message["speaker"]),
                title=message["conversation"],
                author=message["speaker"],
                created_at=str(message.get("timestamp", "")),
                meta={"conversation": message["conversation"]},
            )


@hookimpl
def register_sources(register):
    register(ChatsSource())
