"""What a source plugin provides: `Source` objects that turn a path into `Item`s.

A source claims paths (by extension or folder shape) and reads them. Reading yields
`Item`s (one document each: an email, a chat message, a file) and, for containers
whose parts can fail one by one, `Failure`s, which the index records in quarantine.
Raising from `read` quarantines the whole file; either way the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Protocol

from assistant.config import Identity


@dataclass
class Item:
    uri: str
    text: str
    kind: str  # doc | mail | chat
    author_is_me: bool
    title: str = ""
    author: str = ""
    recipients: list[str] = field(default_factory=list)
    created_at: str = ""  # ISO-8601
    meta: dict = field(default_factory=dict)
    # What the item is about beyond its own words, searched by full text only (the index fills
    # it for a chat message from the one before it; a source may set it itself).
    context: str = ""


@dataclass
class Failure:
    uri: str
    reason: str


class SkipFile(Exception):
    """Raised by a source for a file it recognises but cannot read; the message is the reason."""


class Source(Protocol):
    """`priority` (optional, default 0): higher claims first. `max_bytes` (optional): files
    over it are refused before the index reads or hashes a byte of them."""

    name: str

    def claims(self, path: Path) -> bool:
        """True when this source reads `path` (a file, or a folder it reads whole)."""
        ...

    def read(self, path: Path, me: Identity) -> Iterable[Item | Failure]:
        ...
