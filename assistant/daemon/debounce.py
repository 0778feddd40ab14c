"""Run a callable in its own thread a few seconds after the last `trigger()`, never in the caller's."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("assistant.daemon")


class Debouncer:
    def __init__(self, delay: float, action: Callable[[], None], name: str = "debounced") -> None:
        self.delay = delay
        self.action = action
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.runs = 0
        self.last_error: str | None = None

    def start(self) -> "Debouncer":
        self._thread.start()
        return self

    def trigger(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            # Wait until `delay` passes with no new trigger, so a burst of batches runs the action once.
            while self._wake.is_set() and not self._stop.is_set():
                self._wake.clear()
                self._stop.wait(self.delay)
            if self._stop.is_set():
                return
            try:
                self.action()
                self.runs += 1
            except Exception as exc:  # the action's failure is logged; ingestion never sees it
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s failed", self._thread.name)
