"""The `files` source: plain-text and Markdown documents in the person's own folders."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from assistant.config import Identity
from assistant.hookspecs import hookimpl
from assistant.sources import Item
from assistant.textfiles import MAX_TEXT_BYTES, read_text_file

SUFFIXES = {".txt", ".md", ".markdown"}
_HEADING = re.compile(r"^\s*#\s+(.+)$", re.M)


class FilesSource:
    name = "files"
    kind = "doc"
    max_bytes = MAX_TEXT_BYTES

    def claims(self, path: Path) -> bool:
        return path.suffix.lower() in SUFFIXES and path.is_file()

    def read(self, path: Path, me: Identity):
        text, encoding = read_text_file(path)
        heading = _HEADING.search(text)
        modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        yield Item(
            uri=str(path),
            text=text,
            kind="doc",
            # Documents in the person's own folders are theirs.
            author_is_me=True,
            title=heading.group(1).strip() if heading else path.stem,
            author=me.display_name,
            created_at=modified.isoformat(timespec="seconds"),
            meta={"encoding": encoding},
        )


@hookimpl
def register_sources(register):
    register(FilesSource())
