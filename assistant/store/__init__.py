"""The profile store: one SQLite file (WAL), reached only through `connect`."""

from assistant.store.db import connect

__all__ = ["connect"]
