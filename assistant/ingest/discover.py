"""Which source reads which path: the one discovery rule for `assistant index` and the daemon.

A folder a source claims (a Maildir, a Slack export) is one unit, read whole; a file
inside it belongs to that folder, never to a source of its own, so a message dropped
into `Maildir/new/` re-reads its Maildir. Elsewhere each file is its own unit, read by
the first source (highest priority) that claims it. Hidden, temp and backup names are
skipped (`ignore.py`); symlinked folders are never entered, so link loops cannot trap a walk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from assistant.ingest.ignore import ignored_name


@dataclass
class Unit:
    """One file (or folder a source reads whole) and the source that claims it."""

    path: Path
    source: object


class Discovery:
    def __init__(self, sources: list) -> None:
        self.sources = sources

    def claim(self, path: Path):
        """The first source that reads `path`, or None."""
        for source in self.sources:
            try:
                if source.claims(path):
                    return source
            except OSError:
                continue
        return None

    def owner(self, path: Path, root: Path | None = None) -> Unit | None:
        """The claimed folder holding `path` (which need not exist any more), outermost first,
        looking no higher than `root` (the filesystem root when None)."""
        path = Path(path)
        ancestors = list(reversed(path.parents))
        if root is not None:
            root = Path(root)
            if root not in ancestors:
                return None
            ancestors = ancestors[ancestors.index(root):]
        for folder in ancestors:
            source = self.claim(folder) if folder.is_dir() else None
            if source is not None:
                return Unit(folder, source)
        return None

    def indexable(self, path: Path, root: Path) -> bool:
        """Whether a change at `path` under `root` can change what is stored: no ignored name on
        the way down, unless a folder above that name is read whole (a Maildir's `.Sent`)."""
        parts = Path(path).relative_to(root).parts
        for depth, part in enumerate(parts):
            if ignored_name(part):
                return self.owner(Path(root).joinpath(*parts[: depth + 1]), root) is not None
        return True

    def walk(self, root: Path) -> list[Unit]:
        """The units under `root` (itself, when a source reads the folder whole)."""
        source = self.claim(root)
        if source is not None:
            return [Unit(root, source)]
        units: list[Unit] = []
        self._walk(str(root), units)
        return units

    def _walk(self, folder: str, units: list[Unit]) -> None:
        """A folder's claimed subfolders, then its claimed files, then the rest of its subfolders in
        turn, all in name order (as `os.walk` top-down gave them); an unreadable folder is passed over."""
        try:
            with os.scandir(folder) as found:
                entries = sorted((e for e in found if not ignored_name(e.name)), key=lambda e: e.name)
        except OSError:
            return
        folders = [e for e in entries if _answer(e.is_dir)]
        descend = []
        for entry in folders:
            path = _Found.of(entry)
            claimed = self.claim(path)
            if claimed is not None:
                units.append(Unit(path, claimed))
            elif not entry.is_symlink():
                descend.append(entry.path)
        for entry in entries:
            if _answer(entry.is_dir) or (entry.is_symlink() and not _answer(entry.is_file)):
                continue
            path = _Found.of(entry)
            claimed = self.claim(path)
            if claimed is not None:
                units.append(Unit(path, claimed))
        for sub in descend:
            self._walk(sub, units)


def _answer(question) -> bool:
    try:
        return question()
    except OSError:
        return False


class _Found(type(Path())):
    """A path met in a walk that answers is_dir, is_file and is_symlink from its directory entry
    (the kernel's file type, read with the listing) instead of a stat each. Every source's `claims`
    asks these of every file; on an unchanged tree of 10,000 notes those stats were most of a
    reconciliation, with the suffix each of them works out again (kept here once worked out).
    Paths made from it (`path / "users.json"`, `path.parent`) ask the filesystem."""

    @classmethod
    def of(cls, entry: os.DirEntry) -> "_Found":
        path = cls(entry.path)
        path._entry = entry
        return path

    @cached_property
    def suffix(self) -> str:
        return super().suffix

    def is_dir(self) -> bool:
        entry = self.__dict__.get("_entry")
        return super().is_dir() if entry is None else _answer(entry.is_dir)

    def is_file(self) -> bool:
        entry = self.__dict__.get("_entry")
        return super().is_file() if entry is None else _answer(entry.is_file)

    def is_symlink(self) -> bool:
        entry = self.__dict__.get("_entry")
        return super().is_symlink() if entry is None else _answer(entry.is_symlink)
