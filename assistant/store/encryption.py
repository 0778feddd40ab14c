"""Moving a store between plain SQLite and SQLCipher, changing its key, and backing it up.

Each change writes a new file beside the store, checks that it opens and holds the same rows,
and only then renames it over the store: on any failure the old store is left as it was.
The daemon must not be running meanwhile (the CLI checks); it would keep the old file open.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import UserError
from assistant.home import PRIVATE_FILE
from assistant.store import keys, sealed
from assistant.store.db import connect, driver_errors, open_connection


def encrypt_store(db_path: Path, source: str) -> keys.Marker:
    """Encrypt the store (or, with none yet, make the next one encrypted) with a new key from `source`."""
    root = db_path.parent
    if keys.read_marker(root):
        raise UserError(f"the store in {root} is already encrypted; `assistant key rotate` changes its key")
    marker = keys.new_marker(root, source)
    key = keys.create_key(root, marker)
    partial = db_path.with_name(db_path.name + ".encrypting")
    try:
        if db_path.exists():
            _rewrite(db_path, b"", key, "encrypting")
        keys.write_marker(root, marker)  # before the rename: a crash between leaves a plain store that
        if partial.exists():             # fails closed (with the fix named), never an unmarked encrypted one
            os.replace(partial, db_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        keys.remove_marker(root)
        keys.remember(root, marker, None)
        _drop_keyring_key(marker)
        raise
    sealed.seal_home(root)
    return marker


def decrypt_store(db_path: Path) -> keys.Marker:
    """Turn the encrypted store back into plain SQLite and forget its key."""
    root = db_path.parent
    marker = keys.read_marker(root)
    if marker is None:
        raise UserError(f"the store in {root} is not encrypted; nothing to decrypt")
    key = keys.store_key(root, marker)
    partial = db_path.with_name(db_path.name + ".decrypting")
    if db_path.exists():
        _rewrite(db_path, key, b"", "decrypting")
    try:
        sealed.unseal_home(root)  # while the key is still known
        if partial.exists():
            os.replace(partial, db_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    keys.remove_marker(root)
    keys.remember(root, marker, None)
    _drop_keyring_key(marker)
    return marker


def rotate_key(db_path: Path) -> keys.Marker:
    """Re-encrypt the store with a new key (SQLCipher's `PRAGMA rekey`, one transaction).

    A new keyring key is parked under `<name>.next` first, so a crash between the rekey and the
    keyring update leaves a key that opens the store; `connect` falls back to it.
    """
    from assistant.secrets import delete_secret, set_secret

    root = db_path.parent
    marker = keys.read_marker(root)
    if marker is None:
        raise UserError(f"the store in {root} is not encrypted; run `assistant encrypt` first")
    db = connect(db_path)  # proves the current key
    old = keys.store_key(root, marker)
    if marker.source == "keyring":
        new = os.urandom(keys.KEY_BYTES)
        set_secret(marker.pending_name, new.hex())
    else:
        new = keys.derive(keys.ask_new_passphrase(keys.NEW_PASSPHRASE_ENV), marker.salt)
    if new == old:
        db.conn.close()
        raise UserError("the new passphrase is the same as the old one; choose a different one")
    db.execute(f"PRAGMA rekey = \"x'{new.hex()}'\"")
    db.conn.close()
    _check_opens(db_path, new)
    sealed.reseal_home(root, old, new)
    if marker.source == "keyring":
        set_secret(marker.key_name, new.hex())
        delete_secret(marker.pending_name)
    keys.remember(root, marker, new)
    return marker


def backup_store(db_path: Path, target: Path, force: bool = False) -> Path:
    """A consistent snapshot of the store at `target` (`VACUUM INTO`), encrypted with the same key
    when the store is; written beside `target` and renamed onto it once it opens."""
    target = target.expanduser().resolve()
    if target.is_dir():
        raise UserError(f"{target} is a folder; give a file name, e.g. {target / 'profile-backup.db'}")
    if target.exists() and not force:
        raise UserError(f"{target} already exists; pass --force to replace it, or choose another name")
    if target == db_path.resolve():
        raise UserError(f"{target} is the store itself; choose another name")
    if not db_path.exists():
        raise UserError(f"there is no store in {db_path.parent} yet; run `assistant index PATH` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    marker = keys.read_marker(db_path.parent)
    key = keys.store_key(db_path.parent, marker) if marker else b""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    db = connect(db_path)
    try:
        db.execute("VACUUM INTO ?", [str(partial)])
        os.chmod(partial, PRIVATE_FILE)
        _check_opens(partial, key)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        db.conn.close()
    return target


def _rewrite(db_path: Path, old_key: bytes, new_key: bytes, step: str) -> None:
    """Copy every table, index and the schema version into `<store>.<step>` under `new_key`
    (SQLCipher's `sqlcipher_export`); check it opens with that key and holds the same rows."""
    import sqlcipher3

    target = db_path.with_name(f"{db_path.name}.{step}")
    target.unlink(missing_ok=True)
    connect(db_path, key=old_key).conn.close()  # applies pending migrations, checks the old key
    conn = sqlcipher3.connect(str(db_path))  # opens a plain file as plain SQLite until keyed
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        if old_key:
            conn.execute(f"PRAGMA key = \"x'{old_key.hex()}'\"")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        expected = _counts(conn)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"ATTACH DATABASE ? AS target KEY \"x'{new_key.hex()}'\"" if new_key
                     else "ATTACH DATABASE ? AS target KEY ''", [str(target)])
        os.chmod(target, PRIVATE_FILE)
        conn.execute("SELECT sqlcipher_export('target')")
        conn.execute(f"PRAGMA target.user_version = {int(version)}")
        conn.execute("DETACH DATABASE target")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    try:
        _check_opens(target, new_key, expected)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _counts(conn) -> dict[str, int]:
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
    return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _check_opens(path: Path, key: bytes, expected: dict[str, int] | None = None) -> None:
    """`path` opens with `key`, passes SQLite's quick check and holds the `expected` row counts."""
    conn = open_connection(path, key)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        counts = _counts(conn)
    except driver_errors("DatabaseError") as exc:
        raise UserError(f"the copy {path} does not open ({exc}); the store is unchanged. Check the disk "
                        "has room and try again") from exc
    finally:
        conn.close()
    if check != "ok" or (expected is not None and counts != expected):
        raise UserError(f"the copy {path} does not match the store ({check}); the store is unchanged. "
                        "Try again; if it persists, run `assistant doctor`")


def _drop_keyring_key(marker: keys.Marker) -> None:
    if marker.source == "keyring":
        from assistant.secrets import delete_secret

        delete_secret(marker.key_name)
