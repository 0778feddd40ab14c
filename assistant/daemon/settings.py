"""The daemon's timings, each overridable by an environment variable (tests shorten them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from assistant.errors import UserError


@dataclass(frozen=True)
class DaemonSettings:
    quiet: float = 2.0
    """Seconds a changed file's size and mtime must stay the same before it is indexed, when no close-write
    or moved-to event said its writer was done (ASSISTANT_DAEMON_QUIET)."""
    reconcile: float = 600.0
    """Seconds between walks that compare every file's size and mtime with the store (ASSISTANT_DAEMON_RECONCILE)."""
    rehash: float = 86_400.0
    """Seconds between full passes that hash every file, and the first pass at start (ASSISTANT_DAEMON_REHASH)."""
    after_ingest: float = 5.0
    """Seconds of no new batches before the `after_ingest` hook runs (ASSISTANT_DAEMON_AFTER_INGEST)."""
    idle_release: float = 300.0
    """Seconds without use after which the models are dropped from memory (ASSISTANT_DAEMON_IDLE_RELEASE)."""
    batch: float = 200
    """Most files indexed per batch (ASSISTANT_DAEMON_BATCH)."""
    nice: float = 10
    """How far the daemon lowers its CPU priority at start, as for `nice` (ASSISTANT_DAEMON_NICE; 0 keeps it)."""

    @classmethod
    def from_env(cls) -> "DaemonSettings":
        values = {}
        for spec in fields(cls):
            name = f"ASSISTANT_DAEMON_{spec.name.upper()}"
            raw = os.environ.get(name)
            if raw is None:
                continue
            try:
                values[spec.name] = float(raw)
            except ValueError:
                raise UserError(f"{name}={raw!r} is not a number; set it to e.g. 2.5 or unset it") from None
            if values[spec.name] < 0 or (values[spec.name] == 0 and spec.name != "nice"):
                raise UserError(f"{name} must be above 0 (got {raw}); unset it for the default")
        return cls(**values)
