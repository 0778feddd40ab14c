"""Periodic jobs run by the daemon's loop: reconciliation, idle model release, and (later) IMAP sync.

Each job has an interval; a job that raises is logged and retried with exponential
backoff (interval doubling up to `max_backoff`), and never stops the loop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("assistant.daemon")


@dataclass
class Job:
    name: str
    interval: float
    run: Callable[[], object]
    max_backoff: float = 3600.0
    next_at: float = 0.0
    failures: int = 0
    last_error: str | None = None

    def delay(self) -> float:
        """Seconds until the next try: the interval, doubled for each consecutive failure."""
        if not self.failures:
            return self.interval
        return min(self.max_backoff, max(self.interval, 1.0) * 2 ** self.failures)


@dataclass
class JobRunner:
    jobs: list[Job] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    on_error: Callable[[Job, Exception], None] = lambda job, exc: None

    def add(self, job: Job, first_in: float | None = None) -> None:
        job.next_at = self.clock() + (job.interval if first_in is None else first_in)
        self.jobs.append(job)

    def run_due(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        for job in self.jobs:
            if should_stop():
                return
            if self.clock() < job.next_at:
                continue
            try:
                job.run()
            except Exception as exc:  # a failing job is retried later; the loop goes on
                job.failures += 1
                job.last_error = f"{job.name}: {type(exc).__name__}: {exc}"
                log.exception("job %s failed (%d in a row); retrying in %.0fs", job.name, job.failures, job.delay())
                self.on_error(job, exc)
            else:
                job.failures, job.last_error = 0, None
            job.next_at = self.clock() + job.delay()

    def seconds_to_next(self) -> float | None:
        if not self.jobs:
            return None
        return max(0.0, min(job.next_at for job in self.jobs) - self.clock())
