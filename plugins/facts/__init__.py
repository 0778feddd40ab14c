"""Facts kept up to date in the daemon: after each batch of new documents, and a periodic job
that drains a large backlog (a first index of years of mail) a bounded slice at a time, so the
daemon's writer thread is never held for long. Each slice commits its own progress, so a killed
daemon resumes where it stopped."""

from __future__ import annotations

from assistant.hookspecs import hookimpl

SLICE = 500  # chunks of the person's writing read per call
BACKLOG_INTERVAL = 120.0  # seconds between backlog slices


def _refresh(assistant) -> None:
    from assistant.facts_refresh import refresh

    refresh(assistant, limit=SLICE)


@hookimpl
def after_ingest(assistant, report):
    _refresh(assistant)


@hookimpl
def register_jobs(register):
    register("facts-backlog", BACKLOG_INTERVAL, _refresh)
