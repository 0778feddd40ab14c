"""Which names are never indexed (hidden files and folders, editors' temp, swap, lock and backup
files), and what the person told `assistant forget` to keep out (`Exclusions`).

One rule for `assistant index` and the daemon (its watcher and its walks). Pure: it looks
only at names, so it costs nothing per filesystem event.
"""

from __future__ import annotations

from dataclasses import dataclass

# Partial downloads and generic temp files.
IGNORED_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", ".temp", ".part", ".crdownload", ".partial", ".download", ".lock")
# vim writes (and deletes) a file named 4913 to test that it may create files in a folder.
IGNORED_NAMES = frozenset({"4913", "Thumbs.db", "desktop.ini"})


def ignored_name(name: str) -> bool:
    """True for hidden files (`.#emacs-lock`, `.file.swp`, `.DS_Store`), `~` backups, and temp names."""
    if not name or name.startswith(".") or name.endswith("~") or name in IGNORED_NAMES:
        return True
    if name.startswith("#") and name.endswith("#"):  # emacs auto-save
        return True
    return name.lower().endswith(IGNORED_SUFFIXES)


@dataclass(frozen=True)
class Exclusions:
    """What `assistant forget` removed and indexing must not read back: paths and document uris
    (each with all under it: a folder's files, a file's messages `FILE#…`), sources by name, and
    items written before a date. From `[sources]` in the config (`Config.ignore*`)."""

    paths: tuple[str, ...] = ()
    sources: frozenset[str] = frozenset()
    before: str | None = None

    @classmethod
    def of(cls, config) -> "Exclusions":
        return cls(tuple(p.rstrip("/") or "/" for p in config.ignore), frozenset(config.ignore_sources),
                   config.ignore_before)

    def covers(self, where: str) -> bool:
        """True when `where` (a path or uri) is an ignored one or lies under one."""
        return any(where == p or where.startswith((p + "/", p + "#")) for p in self.paths)

    def excludes_unit(self, path, source) -> bool:
        return getattr(source, "name", None) in self.sources or self.covers(str(path))

    def excludes_item(self, source, uri: str, created_at: str | None = None) -> bool:
        if getattr(source, "name", None) in self.sources or self.covers(uri):
            return True
        return bool(self.before and created_at and created_at < self.before)
