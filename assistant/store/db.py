"""The one way in to the database.

Every connection comes from `connect`: plain SQLite, or SQLCipher when the home says the
store is encrypted (`assistant.store.keys`), without any caller knowing which.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from assistant.errors import UserError
from assistant.home import PRIVATE_DIR, PRIVATE_FILE
from assistant.store.keys import (PASSPHRASE_ENV, keys_to_retry, promote_pending, read_marker, remember,
                                  store_key)

BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"
CIPHER_PAGE = 4096  # SQLCipher 4's page size: an encrypted file is a whole number of them


def _wal(conn) -> None:
    """Switch to WAL. On a store another connection is creating at that moment, SQLite answers
    "database is locked" at once, without waiting out the busy timeout (seen with the TUI's readers
    opening a new store together under load): so wait here, as the busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except driver_errors("OperationalError") as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect(path: Path | str, *, migrate: bool = True, key: bytes | None = None) -> sqlite_utils.Database:
    """Open the store at `path` in WAL mode with a busy timeout, applying pending migrations.

    `key` None: the home's encryption marker beside the store decides (see `assistant.store.keys`):
    with one, the store opens only through SQLCipher with its key, never as plain SQLite (fail
    closed); without one, it is plain SQLite. `key` b"": a plain SQLite file; 32 bytes: a
    SQLCipher file with that raw key.

    A new store is made 0600 before anything is written, so SQLite gives its -wal and -shm
    files the same mode. (chmod, never an open and close of the file: closing any descriptor
    of a database drops the locks every connection of this process holds on it.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    marker = None
    if key is None:
        marker = read_marker(path.parent)
        key = store_key(path.parent, marker) if marker else b""
    created = not path.exists()
    conn = open_connection(path, key)
    if created:
        os.chmod(path, PRIVATE_FILE)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Rescoring reads a few hundred int8 codes by chunk id per query; memory-mapped pages make
        # those reads about half as costly as read() calls (measured at 1M chunks). (SQLCipher
        # ignores it: pages are decrypted into its cache.)
        conn.execute("PRAGMA mmap_size = 268435456")
        db = sqlite_utils.Database(conn)
        if migrate:
            from assistant.store.migrations import migrations

            if migrations.pending(db):
                with write_transaction(db):  # two processes opening a new store: one migrates, the other waits
                    migrations.apply(db)
    except driver_errors("DatabaseError") as exc:
        conn.close()
        if isinstance(exc, driver_errors("OperationalError")):  # locked, unreadable, disk full: not damage
            raise UserError(f"the store {path} cannot be opened ({exc}); check that this user can "
                            "read and write it and that the disk has room") from exc
        if key:
            if marker is not None:
                remember(path.parent, marker, None)  # a wrong passphrase is not kept for the next try
                for other, pending in keys_to_retry(marker):
                    if other != key:
                        try:
                            db = connect(path, migrate=migrate, key=other)
                        except UserError:
                            continue
                        if pending:
                            promote_pending(path.parent, marker, other)
                        remember(path.parent, marker, other)
                        return db
            # Read only now that it failed: opening and closing the file while this process holds
            # connections to it would drop their locks (see above).
            if looks_plain(path):
                raise UserError(f"the store {path} is not encrypted, but encryption.json in its home says it must "
                                f"be; if you decrypted it by hand, move it aside (mv {path} {path}.plain) and "
                                "restore the encrypted one from a backup, or remove encryption.json to use it "
                                "unencrypted") from exc
            raise unopenable_encrypted(path, marker, exc) from exc
        if looks_encrypted(path):
            raise UserError(f"the store {path} is encrypted (or damaged) but its home has no encryption.json "
                            "saying how; restore that file from a backup of the home, or move the store aside "
                            f"(mv {path} {path}.damaged) and run `assistant index` to rebuild it") from exc
        raise damaged_store(path, exc) from exc
    return db


def open_connection(path: Path, key: bytes):
    """A bare connection: the standard library's sqlite3 for a plain file (as fast as ever), or
    sqlcipher3 with the raw `key` (its log kept off stderr, so errors stay one line)."""
    if not key:
        return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    import sqlcipher3

    conn = sqlcipher3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return conn


def driver_errors(name: str) -> tuple[type[Exception], ...]:
    """The exception class `name` (Error, DatabaseError, OperationalError…) of each SQLite driver in
    use: the standard library's and, once an encrypted store was opened, sqlcipher3's."""
    cipher = sys.modules.get("sqlcipher3.dbapi2")
    return (getattr(sqlite3, name),) + ((getattr(cipher, name),) if cipher else ())


def is_damage(exc: BaseException) -> bool:
    """A database error that is not operational (locked, disk full): the file's pages are bad."""
    return isinstance(exc, driver_errors("DatabaseError")) and not isinstance(exc, driver_errors("OperationalError"))


def looks_plain(path: Path) -> bool:
    """True when `path` starts as a plain SQLite file does (an encrypted one starts with random bytes).

    Only for a file this process holds no connection to (a failed open, `doctor`): closing this
    descriptor would drop the locks of every connection of this process to it."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def looks_encrypted(path: Path) -> bool:
    """Whole SQLCipher pages that do not start as plain SQLite does: an encrypted store, or damage."""
    size = path.stat().st_size if path.exists() else 0
    return size >= CIPHER_PAGE and size % CIPHER_PAGE == 0 and not looks_plain(path)


def unopenable_encrypted(path: Path, marker, exc: Exception) -> UserError:
    size = path.stat().st_size if path.exists() else 0
    if size < CIPHER_PAGE or size % CIPHER_PAGE:
        return UserError(f"the encrypted store {path} is truncated or damaged ({size} bytes, {exc}); restore it "
                         f"from a backup (assistant backup), or move it aside (mv {path} {path}.damaged) and run "
                         "`assistant index` to rebuild it")
    if marker is None:
        return UserError(f"{path} does not open with the key given ({exc}); check which key it was made with")
    if marker.source == "passphrase":
        return UserError(f"wrong passphrase for the encrypted store {path}; run the command again and type the "
                         f"right one (or set {PASSPHRASE_ENV} to it)")
    return UserError(f"the key in {marker.describe()} does not open the encrypted store {path}; restore the "
                     "keyring entry it was encrypted with, or the store from a backup made with this key")


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
