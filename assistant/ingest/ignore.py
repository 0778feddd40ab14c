"""Which names are never indexed: hidden files and folders, editors' temp, swap, lock and backup files.

One rule for `assistant index` and the daemon (its watcher and its walks). Pure: it looks
only at names, so it costs nothing per filesystem event.
"""

from __future__ import annotations

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
