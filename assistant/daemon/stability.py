"""A file is ready to index once its size and mtime have stayed the same for a quiet period,
or at once when the kernel said its writer is done with it (closed after writing, moved or
renamed into place, deleted) and it has not changed since.

Pure: the clock and the stat function are injected, so tests drive time by hand. A
slow copy keeps changing size and so keeps being put off; an editor's atomic save
(write a temp file, rename it over) settles as soon as the rename lands; a path
that vanished is ready too (its signature is None), so deletes flow through here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Hashable

Signature = Hashable


def stat_signature(path: str) -> Signature:
    """(kind, size, mtime_ns) of `path`, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mode >> 12, st.st_size, st.st_mtime_ns)


@dataclass
class _Watch:
    signature: Signature
    since: float  # when the signature last changed, or the last event arrived


class StabilityTracker:
    def __init__(self, quiet: float, clock: Callable[[], float] = time.monotonic,
                 stat: Callable[[str], Signature] = stat_signature) -> None:
        self.quiet = quiet
        self._clock = clock
        self._stat = stat
        self._pending: dict[str, _Watch] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: str) -> bool:
        return path in self._pending

    def note(self, path: str, finished: bool = False) -> None:
        """Something happened to `path`: (re)start its quiet period. `finished`: the event says the
        writer is done (close-write, moved into place, deleted), so no quiet period is needed; a
        change after it (another writer, a reopen) still restarts the wait in `ready`."""
        now = self._clock()
        self._pending[path] = _Watch(self._stat(path), now - self.quiet if finished else now)

    def ready(self) -> list[str]:
        """Paths whose signature has not changed for the quiet period; they leave the tracker."""
        now = self._clock()
        done: list[str] = []
        for path, watch in self._pending.items():
            signature = self._stat(path)
            if signature != watch.signature:
                watch.signature, watch.since = signature, now
            elif now - watch.since >= self.quiet:
                done.append(path)
        for path in done:
            del self._pending[path]
        return done

    def seconds_to_next(self) -> float | None:
        """How long until the earliest pending path could be ready; None when nothing is pending."""
        if not self._pending:
            return None
        earliest = min(watch.since for watch in self._pending.values())
        return max(0.0, earliest + self.quiet - self._clock())
