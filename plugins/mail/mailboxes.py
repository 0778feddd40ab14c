"""The three on-disk mail formats: a single `.eml`, an mbox file, and a Maildir folder.

Each message is read on its own; one that cannot be read becomes a `Failure` with the
reason and the rest of the mailbox goes on. URIs are stable across runs: mbox messages by
position, Maildir messages by their key (the file name without the `:2,FLAGS` suffix, which
changes whenever a flag does).
"""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Iterable, Iterator

from assistant.config import Identity
from assistant.sources import Failure, Item, SkipFile
from assistant_plugins.mail.parse import read_message, too_large

MAILDIR_PARTS = ("cur", "new", "tmp")
INBOX = "INBOX"


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / part).is_dir() for part in MAILDIR_PARTS)


def looks_like_mbox(path: Path) -> bool:
    """`.mbox`, or a file with no suffix whose first line starts with "From " (as `Sent` does)."""
    suffix = path.suffix.lower()
    if suffix not in ("", ".mbox") or not path.is_file():
        return False
    if suffix == ".mbox":
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def read_eml(path: Path, me: Identity) -> Iterable[Item | Failure]:
    reason = too_large(path.stat().st_size)  # checked before the whole file is read
    if reason:
        raise SkipFile(reason)
    return read_message(path.read_bytes, str(path), me)


def read_mbox(path: Path, me: Identity) -> Iterator[Item | Failure]:
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            yield from read_message(lambda: box.get_bytes(key), f"{path}#{key}", me)
    finally:
        box.close()


def maildir_folders(path: Path) -> list[tuple[str, mailbox.Maildir]]:
    """(name, folder) for the Maildir itself (`INBOX`) and each Maildir++ subfolder (`.Sent` → `Sent`)."""
    root = mailbox.Maildir(str(path), factory=None, create=False)
    return [(INBOX, root)] + [(name, root.get_folder(name)) for name in sorted(root.list_folders())]


def read_maildir(path: Path, me: Identity) -> Iterator[Item | Failure]:
    for folder_name, folder in maildir_folders(path):
        for key in sorted(folder.iterkeys()):
            uri = f"{path}#{folder_name}/{key}"
            yield from read_message(lambda: folder.get_bytes(key), uri, me, {"folder": folder_name})
