"""watchdog (inotify on Linux, FSEvents on macOS) over the configured sources, feeding changed paths to a callback.

Every event that could change what is indexed reports its path(s): a move reports
both ends, so moving a file or folder out of a watched tree removes it and moving
one in indexes it. A close after writing, a move and a delete say the file is finished
(`on_path(path, True)`: indexed without waiting for the quiet period); a create or a
modify (`on_path(path, False)`) may be the first of many writes, so it waits.
Folder "modified" events (a child changed) and opens are dropped,
as are hidden, temp, swap, lock and backup files (`assistant/ingest/ignore.py`), except
inside a folder a source reads whole (a Maildir's `.Sent`): `Discovery.indexable` decides.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

log = logging.getLogger("assistant.daemon")

UNINTERESTING = frozenset({"opened", "closed_no_write"})
# Events after which the writer is done with the path: inotify's IN_CLOSE_WRITE ("closed"),
# IN_MOVED_TO / IN_MOVED_FROM ("moved"), IN_DELETE ("deleted").
FINISHED = frozenset({"closed", "moved", "deleted"})


class TreeWatcher:
    def __init__(self, on_path: Callable[[str, bool], None], indexable: Callable[[Path, Path], bool]) -> None:
        """`on_path(path, finished)` for each change; `indexable(path, root)`: whether a change there
        can change the store (`Discovery.indexable`)."""
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                watcher._event(event)

        self._on_path = on_path
        self._indexable = indexable
        self._handler = Handler()
        self._observer = _observer()
        self._observer.daemon = True
        self._roots: list[Path] = []
        self._watches: dict[tuple[str, bool], object] = {}

    @property
    def roots(self) -> list[Path]:
        return list(self._roots)

    def start(self) -> "TreeWatcher":
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(10)

    def sync(self, roots: list[Path]) -> None:
        """Watch exactly `roots` (folders recursively; a file through its parent folder)."""
        self._roots = [Path(root).resolve() for root in roots if Path(root).exists()]
        wanted = {(str(root), True) if root.is_dir() else (str(root.parent), False) for root in self._roots}
        for key in set(self._watches) - wanted:
            self._observer.unschedule(self._watches.pop(key))
        for key in wanted - set(self._watches):
            folder, recursive = key
            try:
                self._watches[key] = self._observer.schedule(self._handler, folder, recursive=recursive)
            except OSError as exc:  # ENOSPC: out of inotify watches; reconciliation still covers the folder
                log.error("cannot watch %s (%s); its changes are picked up only at reconciliation. On Linux, "
                          "raise the limit: sudo sysctl fs.inotify.max_user_watches=524288", folder, exc)
                continue
            log.info("watching %s%s", folder, "" if recursive else " (one file in it)")

    def accepts(self, path: str) -> bool:
        candidate = Path(path)
        for root in self._roots:
            if candidate == root:
                return True
            if candidate.is_relative_to(root) and self._indexable(candidate, root):
                return True
        return False

    def _event(self, event) -> None:
        if event.event_type in UNINTERESTING or (event.is_directory and event.event_type == "modified"):
            return
        finished = event.event_type in FINISHED
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                path = path.decode() if isinstance(path, bytes) else path
                if self.accepts(path):
                    self._on_path(path, finished)


def _observer():
    """watchdog's observer for this platform. On Linux, with full events: a file moved in from outside
    the watched tree is then a "moved" event (finished), not a "created" one that must wait."""
    from watchdog.observers import Observer

    try:
        from watchdog.observers.inotify import InotifyObserver
    except ImportError:  # not Linux
        return Observer()
    return InotifyObserver(generate_full_events=True) if Observer is InotifyObserver else Observer()
