"""Which key opens an encrypted store, and where it comes from.

An encrypted home holds `encryption.json` beside the store: no secret, only that the store is
encrypted and the key's source, so that a later open requires the key (fail closed) instead of
ever falling back to plain SQLite. The key is 32 random-looking bytes, given to SQLCipher raw
(no second key derivation on each open), from one of:

- `keyring`: a random key in the OS keyring under the secret name the marker records
  (one name per home, so two homes never share a key);
- `passphrase`: scrypt of a passphrase, typed on a terminal (hidden) or read from
  `$ASSISTANT_PASSPHRASE`, with the marker's salt.

A key is read once per process and kept in memory for the next `connect`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.errors import UserError
from assistant.home import PRIVATE_DIR, write_private

MARKER = "encryption.json"
PASSPHRASE_ENV = "ASSISTANT_PASSPHRASE"
NEW_PASSPHRASE_ENV = "ASSISTANT_NEW_PASSPHRASE"
SOURCES = ("keyring", "passphrase")
KEY_BYTES = 32
# scrypt at 2^15 × 8 takes about 0.1 s and 32 MiB, once per process.
SCRYPT = {"n": 2**15, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": KEY_BYTES}

_cache: dict[tuple[str, "Marker"], bytes] = {}


@dataclass(frozen=True)
class Marker:
    source: str  # keyring | passphrase
    key_name: str = ""  # keyring: the secret's name, e.g. store.3f9a0c…
    salt: str = ""  # passphrase: scrypt salt, hex

    @property
    def pending_name(self) -> str:
        """Where `key rotate` parks the new keyring key until the store is rekeyed with it."""
        return f"{self.key_name}.next"

    def describe(self) -> str:
        return (f"the OS keyring (secret {self.key_name})" if self.source == "keyring"
                else "your passphrase (with the salt in encryption.json)")


def marker_path(root: Path) -> Path:
    return Path(root) / MARKER


def read_marker(root: Path) -> Marker | None:
    """The home's encryption marker, or None for a home whose store is plain SQLite."""
    path = marker_path(root)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        marker = Marker(**{k: str(raw[k]) for k in ("source", "key_name", "salt") if k in raw})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UserError(f"{path} cannot be read ({exc}); it says how the store is encrypted: restore it "
                        "from a backup of the home") from exc
    if marker.source not in SOURCES or (marker.source == "keyring" and not marker.key_name) or \
            (marker.source == "passphrase" and not marker.salt):
        raise UserError(f"{path} names no usable key source ({marker.source!r}); restore it from a backup "
                        "of the home")
    return marker


def write_marker(root: Path, marker: Marker) -> None:
    path = marker_path(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    partial = path.with_name(path.name + ".partial")
    write_private(partial, json.dumps(asdict(marker), indent=1) + "\n")
    os.replace(partial, path)


def remove_marker(root: Path) -> None:
    marker_path(root).unlink(missing_ok=True)


def new_marker(root: Path, source: str) -> Marker:
    if source not in SOURCES:
        raise UserError(f"unknown key source {source!r}; use one of: {', '.join(SOURCES)}")
    if source == "keyring":
        return Marker("keyring", key_name=f"store.{secrets.token_hex(8)}")
    return Marker("passphrase", salt=secrets.token_hex(16))


def create_key(root: Path, marker: Marker) -> bytes:
    """A new key for `marker`: a random one put in the keyring, or one derived from a passphrase asked twice."""
    from assistant.secrets import set_secret

    if marker.source == "keyring":
        key = secrets.token_bytes(KEY_BYTES)
        try:
            set_secret(marker.key_name, key.hex())
        except UserError as exc:
            raise UserError(f"{exc}; or keep the key in your head instead: --key-source passphrase") from exc
    else:
        key = derive(ask_new_passphrase(PASSPHRASE_ENV), marker.salt)
    remember(root, marker, key)
    return key


def store_key(root: Path, marker: Marker) -> bytes:
    """The key that opens the store in `root` (cached per process)."""
    cached = _cache.get((str(root), marker))
    if cached is not None:
        return cached
    if marker.source == "keyring":
        key = keyring_key(marker.key_name)
        if key is None:
            raise UserError(f"the key of the encrypted store in {root} (keyring secret {marker.key_name}) is "
                            "not in the OS keyring; restore that keyring entry, or the home from a backup")
    else:
        key = derive(ask_passphrase(), marker.salt)
    remember(root, marker, key)
    return key


def unlock(root: Path) -> dict[str, str]:
    """Ask for the store's key now, while a terminal can (before a full-screen app, or for a detached
    child that cannot ask); the environment such a child needs to open the store itself."""
    marker = read_marker(root)
    if marker is None:
        return {}
    if marker.source == "keyring":
        store_key(root, marker)
        return {}
    passphrase = ask_passphrase()
    remember(root, marker, derive(passphrase, marker.salt))
    return {PASSPHRASE_ENV: passphrase}


def remember(root: Path, marker: Marker, key: bytes | None) -> None:
    """Keep (or with None, forget) the key this process uses for the store in `root`."""
    if key is None:
        _cache.pop((str(root), marker), None)
    else:
        _cache[(str(root), marker)] = key


def keys_to_retry(marker: Marker) -> list[tuple[bytes, bool]]:
    """When the cached key no longer opens the store: the keyring's key read again (another process
    may have rotated it), then the key `key rotate` parked before a crash kept it from finishing
    (True: make it the key once it opens). A passphrase is not asked twice."""
    if marker.source != "keyring":
        return []
    found = [(keyring_key(marker.key_name), False), (keyring_key(marker.pending_name), True)]
    return [(key, pending) for key, pending in found if key]


def promote_pending(root: Path, marker: Marker, key: bytes) -> None:
    """The parked key opened the store: make it the key (what `key rotate` would have done next)."""
    from assistant.secrets import delete_secret, set_secret

    set_secret(marker.key_name, key.hex())
    delete_secret(marker.pending_name)
    remember(root, marker, key)


def keyring_key(name: str) -> bytes | None:
    from assistant.secrets import get_secret

    value = get_secret(name)
    if value is None:
        return None
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise UserError(f"the keyring secret {name} is not a store key ({KEY_BYTES} bytes in hex); restore it "
                        "from a backup of the keyring")
    return key


def derive(passphrase: str, salt_hex: str) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=bytes.fromhex(salt_hex), **SCRYPT)


def ask_passphrase() -> str:
    """The passphrase from `$ASSISTANT_PASSPHRASE`, else typed (hidden) on the terminal."""
    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise UserError(f"the store is encrypted with a passphrase: run this on a terminal to type it, or set "
                        f"{PASSPHRASE_ENV} for scripts")
    typed = getpass.getpass("Passphrase for the encrypted store: ")
    if not typed:
        raise UserError("no passphrase typed; run the command again and type the store's passphrase")
    return typed


def ask_new_passphrase(env: str) -> str:
    """A new passphrase: from `$env`, else typed twice on the terminal."""
    given = os.environ.get(env)
    if given:
        return given
    if not sys.stdin.isatty():
        raise UserError(f"a new passphrase is needed: run this on a terminal to type it, or set {env} for scripts")
    first = getpass.getpass("New passphrase for the store: ")
    if len(first) < 8:
        raise UserError("the passphrase is shorter than 8 characters; run the command again with a longer one")
    if getpass.getpass("The same passphrase again: ") != first:
        raise UserError("the two passphrases differ; run the command again and type the same one twice")
    return first
