"""A per-file time cap: a source's `read` runs in a worker thread that the index waits on with a deadline.

Python cannot kill a thread. When the deadline passes, the index stops waiting,
quarantines the file and goes on; the worker is told to stop at its next item and
is otherwise left to finish in the background (it is a daemon thread, so it never
keeps the process alive). The sources' own size, page and decompression caps keep
that leftover work bounded; this cap is the backstop for whatever they miss.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Iterable, Iterator, TypeVar

from assistant.sources import SkipFile

T = TypeVar("T")
_DONE = object()


class TimedOut(SkipFile):
    """A file whose reading ran past the per-file time cap."""


def read_with_deadline(read: Callable[[], Iterable[T]], seconds: float, name: str = "read") -> Iterator[T]:
    """Yield what `read()` yields; raise `TimedOut` once `seconds` have passed in all.

    Errors raised by `read` are re-raised here, in the caller's thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for entry in read():
                if not put((entry, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the caller, which decides
            put((None, exc))

    threading.Thread(target=work, name=f"read:{name}", daemon=True).start()
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise queue.Empty
                entry, error = handoff.get(timeout=left)
            except queue.Empty:
                raise TimedOut(f"timed out after {seconds:g}s") from None
            if error is not None:
                raise error
            if entry is _DONE:
                return
            yield entry
    finally:
        stop.set()
