"""The one way in to the database.

Every connection comes from `connect`, so encryption at rest can later replace the
connection here without touching any caller.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from assistant.errors import UserError
from assistant.home import PRIVATE_DIR, PRIVATE_FILE

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path | str, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open the store at `path` in WAL mode with a busy timeout, applying pending migrations.

    A new store is made 0600 before anything is written, so SQLite gives its -wal and -shm
    files the same mode. (chmod, never an open and close of the file: closing any descriptor
    of a database drops the locks every connection of this process holds on it.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    created = not path.exists()
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    if created:
        os.chmod(path, PRIVATE_FILE)
    try:
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
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable, disk full: not damage
            raise UserError(f"the store {path} cannot be opened ({exc}); check that this user can "
                            "read and write it and that the disk has room") from exc
        raise damaged_store(path, exc) from exc
    return db


def damaged_store(path: Path, exc: Exception) -> UserError:
    """The one message for a store SQLite cannot read: what is wrong and how to rebuild it."""
    return UserError(f"the store {path} is damaged ({exc}); move it aside (mv {path} {path}.damaged) "
                     "and run `assistant index` to rebuild it from your sources")


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
