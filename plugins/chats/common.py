"""What every chat importer shares: one message becomes one `Item`, and JSON exports load under a size cap."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.attribution import is_mine
from assistant.config import Identity
from assistant.sources import Item, SkipFile
from assistant.textfiles import check_size

MAX_EXPORT_BYTES = 200 * 1024 * 1024
SPECIFIC_PRIORITY = 10  # chat shapes are checked before the generic text and JSONL sources


def chat_item(uri: str, conversation: str, speaker: str, text: str, timestamp: str, me: Identity,
              **meta) -> Item:
    """One chat message as a document: its title and `meta.conversation` name the conversation.

    Whose it is follows `is_mine` from what is stored with it: the speaker, any other names
    of theirs in `meta["aliases"]`, or the `meta["role"]` of an assistant conversation.
    """
    meta = {"conversation": conversation, **({} if "role" in meta else {"aliases": []}), **meta}
    return Item(
        uri=uri,
        text=text,
        kind="chat",
        author_is_me=is_mine(me, "chat", speaker, meta),
        title=conversation,
        author=speaker,
        created_at=timestamp,
        meta=meta,
    )


def head(path: Path, size: int = 65536) -> str:
    """The start of a file as text (undecodable bytes replaced), for cheap shape checks in `claims`."""
    with path.open("rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace").lstrip("\ufeff")


def load_json(path: Path, what: str, max_bytes: int = MAX_EXPORT_BYTES):
    """The parsed JSON of an export file, or `SkipFile` naming what is wrong with it."""
    check_size(path, max_bytes, what)
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SkipFile(f"{what} is not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise SkipFile(f"{what} is not valid JSON (line {exc.lineno}: {exc.msg}); re-export it") from exc
