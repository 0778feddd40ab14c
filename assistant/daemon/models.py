"""The daemon's one embedding model, shared by its threads and dropped when idle.

Encode calls take turns under a lock (a Hugging Face fast tokenizer raises "Already
borrowed" when two threads use it at once). After `idle_release` seconds without a
call the model is dropped and collected; the next encode loads it again.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time
from typing import Callable, Sequence


class SharedEmbedder:
    def __init__(self, factory: Callable[[], object], clock: Callable[[], float] = time.monotonic) -> None:
        self._factory = factory
        self._clock = clock
        self._lock = threading.Lock()
        self._inner = factory()
        self.name: str = self._inner.name
        self.dim: int = self._inner.dim
        self.loaded = False
        self.last_used = clock()

    def encode(self, texts: Sequence[str], batch_size: int = 64):
        with self._lock:
            self.loaded = True
            try:
                return self._inner.encode(texts, batch_size=batch_size)
            finally:
                self.last_used = self._clock()

    def encode_queries(self, texts: Sequence[str]):
        with self._lock:
            self.loaded = True
            try:
                return self._inner.encode_queries(texts)
            finally:
                self.last_used = self._clock()

    def release_if_idle(self, idle_seconds: float) -> bool:
        """Drop the loaded model when unused for `idle_seconds`; True when it was dropped."""
        with self._lock:
            if not self.loaded or self._clock() - self.last_used < idle_seconds:
                return False
            self._inner = self._factory()
            self.loaded = False
        gc.collect()
        _trim_heap()
        return True


def _trim_heap() -> None:
    """Hand freed heap pages back to the OS; glibc keeps them otherwise, and RSS would not drop."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
