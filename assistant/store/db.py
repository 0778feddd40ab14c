"""The one way in to the database.

Every connection comes from `connect`, so encryption at rest can later replace the
connection here without touching any caller.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path | str, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open the store at `path` in WAL mode with a busy timeout, applying pending migrations."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Rescoring reads a few hundred int8 codes by chunk id per query; memory-mapped pages make
    # those reads about half as costly as read() calls (measured at 1M chunks).
    conn.execute("PRAGMA mmap_size = 268435456")
    db = sqlite_utils.Database(conn)
    if migrate:
        from assistant.store.migrations import migrations

        if migrations.pending(db):
            with write_transaction(db):  # two processes opening a new store: one migrates, the other waits
                migrations.apply(db)
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A write transaction that takes the write lock up front (`BEGIN IMMEDIATE`).

    A deferred `BEGIN` that reads first and writes later can fail with "database is
    locked" without waiting, when another writer got in between; an immediate one
    waits its turn under the busy timeout instead. Nested use becomes a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise
