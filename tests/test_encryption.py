"""Encryption at rest: the real CLI, a real SQLCipher store, a real (file) keyring, and byte scans of the home."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from assistant.home import Home
from tests.conftest import run_cli

CANARY = "QUOLL-7f3a9c-CANARY"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def keyring_env(tmp_path, monkeypatch) -> Iterator[Path]:
    """A real keyring backend, keyrings.alt's file keyring under a temp XDG_DATA_HOME: for the CLI
    subprocesses (by the environment) and for this process (set, then restored)."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ASSISTANT_PASSPHRASE", raising=False)
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "xdg" / "python_keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield Path(backend.file_path)
    keyring.set_keyring(previous)


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "quoll.md").write_text(f"# Field notes\n\nSaw a spotted quoll by the creek: tag {CANARY}.\n")
    return folder


def _ok(*args, home: Home) -> str:
    result = run_cli(*args, home=home)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def _fails(*args, home: Home, says: str) -> str:
    result = run_cli(*args, home=home)
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    return result.stderr


def _holding(home: Home) -> list[str]:
    """Files under the home whose bytes hold the canary."""
    return sorted(str(p.relative_to(home.root)) for p in home.root.rglob("*")
                  if p.is_file() and CANARY.encode() in p.read_bytes())


def _search(home: Home, embedder) -> list[tuple[str, str]]:
    """Search in this process, with the session's loaded model, whatever the store's encryption."""
    from assistant.config import Config
    from assistant.core import Assistant

    assistant = Assistant(home, Config.load(home))
    assistant.__dict__["embedder"] = embedder
    hits = [(hit.uri, hit.text) for hit in assistant.search("spotted quoll by the creek", k=5)]
    assistant.db.conn.close()
    return hits


def _digest(home: Home) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in home.root.glob("profile.db*")}


def _keyring():
    import keyring

    return keyring.get_keyring()  # the file keyring of `keyring_env`


def _key_name(home: Home) -> str:
    return json.loads((home.root / "encryption.json").read_text())["key_name"]


def _keyring_key(home: Home) -> bytes:
    value = _keyring().get_password("persona-assistant", _key_name(home))
    return bytes.fromhex(value) if value else b""


def _opens(path: Path, key: bytes) -> bool:
    from assistant.store.db import driver_errors, open_connection

    conn = open_connection(path, key)
    try:
        return conn.execute("SELECT count(*) FROM documents").fetchone()[0] >= 1
    except driver_errors("DatabaseError"):
        return False
    finally:
        conn.close()


def test_a_canary_indexed_through_the_cli_is_in_no_byte_under_the_home(temp_home, keyring_env, notes, tmp_path,
                                                                       embedder):
    _ok("init", "--name", "Priya", "--encrypt", home=temp_home)
    assert json.loads((temp_home.root / "encryption.json").read_text())["source"] == "keyring"
    # Hold a connection open, so the CLI's writes stay in the -wal and -shm when it exits.
    from assistant.store.db import connect

    holder = connect(temp_home.db_path, key=_keyring_key(temp_home))
    assert holder.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    _ok("index", str(notes), home=temp_home)
    _ok("daemon", "run", "--oneshot", home=temp_home)  # its log, lock and status files join the scan
    assert (temp_home.root / "logs" / "daemon.log").stat().st_size > 0
    for name in ("profile.db", "profile.db-wal", "profile.db-shm"):
        assert (temp_home.root / name).stat().st_size > 0, name
    assert _holding(temp_home) == []
    found = _search(temp_home, embedder)  # rescoring holds the int8 codes in memory, never on disk
    assert any(CANARY in text for _, text in found)
    codes = [r[0] for r in holder.execute("SELECT int8 FROM vectors")]
    files = [p.read_bytes() for p in temp_home.root.rglob("*") if p.is_file()]
    assert codes and not any(code in data for code in codes for data in files)
    holder.conn.close()
    doctor = json.loads(_ok("doctor", "--json", home=temp_home))["store"]
    assert doctor["encrypted"] and doctor["key_source"] == "keyring" and not doctor["problem"]

    backup = tmp_path / "backup" / "profile.db"
    _ok("backup", str(backup), home=temp_home)
    assert CANARY.encode() not in backup.read_bytes()
    assert backup.stat().st_mode & 0o777 == 0o600 == (temp_home.root / "encryption.json").stat().st_mode & 0o777
    assert _opens(backup, _keyring_key(temp_home)) and not _opens(backup, b"\x01" * 32)
    _fails("backup", str(backup), home=temp_home, says="--force")
    _ok("backup", str(backup), "--force", home=temp_home)

    _ok("decrypt", home=temp_home)
    assert not (temp_home.root / "encryption.json").exists()
    assert "profile.db" in _holding(temp_home)  # the scan finds the canary where it is in the clear
    assert _search(temp_home, embedder) == found
    assert json.loads(_ok("doctor", "--json", home=temp_home))["store"]["encrypted"] is False

    _ok("encrypt", home=temp_home)
    assert _holding(temp_home) == []
    assert _search(temp_home, embedder) == found


def test_a_wrong_or_missing_keyring_key_fails_closed(temp_home, keyring_env):
    _ok("init", "--name", "Priya", "--encrypt", home=temp_home)
    _ok("sources", "errors", home=temp_home)  # creates the encrypted store
    before = _digest(temp_home)
    name, right = _key_name(temp_home), _keyring_key(temp_home).hex()
    _keyring().set_password("persona-assistant", name, "ab" * 32)
    _fails("sources", "errors", home=temp_home, says=f"secret {name}) does not open the encrypted store")
    _keyring().delete_password("persona-assistant", name)
    _fails("sources", "errors", home=temp_home, says="is not in the OS keyring; restore")
    assert _digest(temp_home) == before
    _keyring().set_password("persona-assistant", name, right)
    _ok("sources", "errors", home=temp_home)


def test_no_keyring_backend_says_so_and_the_passphrase_path_works(temp_home, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("ASSISTANT_PASSPHRASE", raising=False)
    _ok("init", "--name", "Priya", home=temp_home)
    _fails("encrypt", home=temp_home, says="--key-source passphrase")
    assert not (temp_home.root / "encryption.json").exists()

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    _ok("encrypt", "--key-source", "passphrase", home=temp_home)
    _ok("sources", "errors", home=temp_home)
    assert not temp_home.db_path.read_bytes().startswith(b"SQLite format 3")
    before = _digest(temp_home)
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "not the passphrase")
    _fails("sources", "errors", home=temp_home, says="wrong passphrase for the encrypted store")
    _fails("daemon", "start", home=temp_home, says="wrong passphrase")  # said here, before it detaches
    assert not (temp_home.root / "run" / "daemon.pid").exists()
    monkeypatch.delenv("ASSISTANT_PASSPHRASE")
    _fails("sources", "errors", home=temp_home, says="set ASSISTANT_PASSPHRASE")  # no terminal to ask on
    assert _digest(temp_home) == before
    doctor = json.loads(_ok("doctor", "--json", home=temp_home))["store"]  # needs no key
    assert doctor["encrypted"] and doctor["key_source"] == "passphrase"


def test_a_plain_or_truncated_store_where_an_encrypted_one_is_expected_is_refused(temp_home, monkeypatch):
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    _ok("init", "--name", "Priya", "--encrypt", "--key-source", "passphrase", home=temp_home)
    _ok("sources", "errors", home=temp_home)
    encrypted = temp_home.db_path.read_bytes()

    temp_home.db_path.unlink()
    plain = sqlite3.connect(temp_home.db_path)
    plain.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, text TEXT)")
    plain.execute("INSERT INTO documents (text) VALUES ('planted by someone else')")
    plain.commit()
    plain.close()
    temp_home.db_path.chmod(0o600)
    planted = temp_home.db_path.read_bytes()
    _fails("sources", "errors", home=temp_home, says="is not encrypted, but encryption.json")
    assert temp_home.db_path.read_bytes() == planted
    assert "plain SQLite" in json.loads(_ok("doctor", "--json", home=temp_home))["store"]["problem"]

    temp_home.db_path.write_bytes(encrypted[:1000])
    _fails("sources", "errors", home=temp_home, says="is truncated or damaged")
    assert temp_home.db_path.read_bytes() == encrypted[:1000]

    temp_home.db_path.write_bytes(encrypted)
    (temp_home.root / "encryption.json").unlink()  # the marker lost: never read as plain, never recreated
    _fails("sources", "errors", home=temp_home, says="has no encryption.json")
    assert temp_home.db_path.read_bytes() == encrypted


def test_key_rotate_with_a_passphrase(temp_home, monkeypatch):
    from assistant.store import sealed

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    _ok("init", "--name", "Priya", "--encrypt", "--key-source", "passphrase", home=temp_home)
    _ok("sources", "errors", home=temp_home)
    cache = temp_home.root / "cache" / "prefix.kv"
    cache.write_bytes(sealed.seal(temp_home, b"kv state"))
    _fails("key", "rotate", home=temp_home, says="ASSISTANT_NEW_PASSPHRASE")
    monkeypatch.setenv("ASSISTANT_NEW_PASSPHRASE", "a new and longer passphrase")
    _ok("key", "rotate", home=temp_home)
    _fails("sources", "errors", home=temp_home, says="wrong passphrase")
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "a new and longer passphrase")
    _ok("sources", "errors", home=temp_home)
    from assistant.store import keys

    keys.remember(temp_home.root, keys.read_marker(temp_home.root), None)
    assert sealed.unseal(temp_home, cache.read_bytes()) == b"kv state"  # re-sealed with the new key


def test_key_rotate_with_the_keyring_and_the_old_key_no_longer_opens(temp_home, keyring_env):
    _ok("init", "--name", "Priya", "--encrypt", home=temp_home)
    _ok("sources", "errors", home=temp_home)
    old = _keyring_key(temp_home)
    _ok("key", "rotate", home=temp_home)
    new = _keyring_key(temp_home)
    assert new != old and len(new) == 32

    from assistant.store.db import driver_errors, open_connection

    for key, opens in ((old, False), (new, True)):
        conn = open_connection(temp_home.db_path, key)
        try:
            assert (conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0) == opens
        except driver_errors("DatabaseError"):
            assert not opens
        finally:
            conn.close()
    _ok("sources", "errors", home=temp_home)

    # A crash between the rekey and the keyring update: the new key is still parked under .next.
    name = _key_name(temp_home)
    _keyring().set_password("persona-assistant", name, old.hex())
    _keyring().set_password("persona-assistant", f"{name}.next", new.hex())
    _ok("sources", "errors", home=temp_home)
    assert _keyring_key(temp_home) == new
    assert _keyring().get_password("persona-assistant", f"{name}.next") is None


def test_encrypt_leaves_the_store_untouched_when_the_copy_fails(temp_home, monkeypatch):
    from assistant.errors import UserError
    from assistant.store import encryption
    from assistant.store.db import connect

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    db = connect(temp_home.db_path)
    db["sources"].insert({"id": 1, "name": "notes", "kind": "doc", "added_at": ""})
    db.conn.close()
    before = _digest(temp_home)

    def fails(*args, **kwargs):
        raise UserError("the copy does not open (simulated)")

    monkeypatch.setattr(encryption, "_check_opens", fails)
    with pytest.raises(UserError, match="simulated"):
        encryption.encrypt_store(temp_home.db_path, "passphrase")
    assert _digest(temp_home) == before
    assert sorted(p.name for p in temp_home.root.iterdir()) == ["profile.db"]
    assert connect(temp_home.db_path)["sources"].count == 1


def test_sealed_files(temp_home, monkeypatch):
    from assistant.store import encryption, sealed

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    sessions = temp_home.root / "sessions"
    sessions.mkdir(parents=True)
    session = sessions / "s1.jsonl"
    turn = json.dumps({"role": "user", "text": CANARY}).encode() + b"\n"
    session.write_bytes(turn)
    assert sealed.seal(temp_home, b"plain") == b"plain" and sealed.unseal(temp_home, b"plain") == b"plain"

    encryption.encrypt_store(temp_home.db_path, "passphrase")
    assert CANARY.encode() not in session.read_bytes()
    assert sealed.unseal(temp_home, session.read_bytes()) == turn
    blob = sealed.seal(temp_home, b"kv state")
    assert blob != sealed.seal(temp_home, b"kv state")  # a fresh nonce each time
    assert sealed.unseal(temp_home, blob) == b"kv state"
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(sealed.SealedFileError):
        sealed.unseal(temp_home, tampered)
    with pytest.raises(sealed.SealedFileError, match="not sealed"):
        sealed.unseal(temp_home, b"plain text where a sealed file belongs")

    encryption.decrypt_store(temp_home.db_path)
    assert session.read_bytes() == turn
    with pytest.raises(sealed.SealedFileError, match="no longer encrypted"):
        sealed.unseal(temp_home, blob)


def test_tui_sessions_and_drafts_are_sealed_and_sessions_still_index(temp_home, monkeypatch):
    from assistant.config import Identity
    from assistant.store import encryption, sealed
    from assistant.tui.data import Session, save_eml
    from assistant_plugins.chats.sessions import SessionsSource

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", PASSPHRASE)
    encryption.encrypt_store(temp_home.db_path, "passphrase")
    session = Session.new(temp_home.root / "sessions")
    session.append("user", f"remind me about the {CANARY}")
    session.append("assistant", "Noted.")
    draft = save_eml(temp_home.root / "drafts", f"Subject: Quoll\n\n{CANARY}\n".encode(), "Quoll")
    assert _holding(temp_home) == []

    source = SessionsSource()
    assert source.claims(session.path)
    texts = [item.text for item in source.read(session.path, Identity(["Priya"], [], []))]
    assert texts == [f"remind me about the {CANARY}", "Noted."]
    assert CANARY.encode() in sealed.unseal(temp_home, draft.read_bytes())
