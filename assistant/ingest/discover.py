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
        for folder, dirs, files in os.walk(root, followlinks=False):
            kept = []
            for name in sorted(dirs):
                if ignored_name(name):
                    continue
                sub = Path(folder) / name
                claimed = self.claim(sub)
                if claimed is not None:
                    units.append(Unit(sub, claimed))
                else:
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                file = Path(folder) / name
                if ignored_name(name) or (file.is_symlink() and not file.is_file()):
                    continue
                claimed = self.claim(file)
                if claimed is not None:
                    units.append(Unit(file, claimed))
        return units
