"""Files under the home that hold content, sealed with the store's key when the store is encrypted.

Use it for any file beside the store that holds the person's text or something derived from it
(a chat session, a saved draft, a persisted KV cache of a prompt prefix):

    from assistant.store.sealed import seal, unseal, SealedFileError

    path.write_bytes(seal(home, data))            # encrypted iff the store is; else `data` as is
    try:
        data = unseal(home, path.read_bytes())    # the bytes given to `seal`
    except SealedFileError:                       # wrong key, tampered, or sealed/plain mismatch:
        ...                                       # a cache treats it as a miss and rebuilds it

`home` is a `Home` or its root folder. A sealed file is `MAGIC`, a 12-byte nonce, and AES-256-GCM
ciphertext with its tag; the AES key is HKDF-SHA256 of the store's key, so it changes with it:
`assistant key rotate` re-seals every sealed file in the home, `encrypt` seals and `decrypt`
unseals the content folders (`CONTENT_DIRS`). Fail closed: while the store is encrypted, a plain
file given to `unseal` is an error, never read as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import UserError
from assistant.home import atomic_write
from assistant.store import keys

MAGIC = b"persona-assistant sealed v1\n"
NONCE_BYTES = 12
CONTENT_DIRS = ("sessions", "drafts")  # folders in the home whose files hold content
# The store and its marker are encrypted (or secret-free) already; `cache` holds models only.
_NOT_SEALED = ("profile.db", keys.MARKER)


class SealedFileError(UserError):
    """A file cannot be unsealed: wrong key, damaged, or sealed/plain where the other was expected."""


def _root(home) -> Path:
    return Path(home) if isinstance(home, (str, os.PathLike)) else home.root  # (a Path's own .root is "/")


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def sealing(home) -> bool:
    """True when the store is encrypted, so `seal` encrypts."""
    return keys.read_marker(_root(home)) is not None


def seal(home, data: bytes) -> bytes:
    """`data` encrypted with the store's key when the store is encrypted; otherwise `data` unchanged."""
    root = _root(home)
    marker = keys.read_marker(root)
    if marker is None:
        return data
    return _seal_with(keys.store_key(root, marker), data)


def unseal(home, blob: bytes) -> bytes:
    """The bytes `seal` was given. Raises `SealedFileError` rather than return anything unverified."""
    root = _root(home)
    marker = keys.read_marker(root)
    if not is_sealed(blob):
        if marker is not None:
            raise SealedFileError(f"a file in {root} is not sealed although the store is encrypted; it was not "
                                  "written by the assistant: delete it (it is rebuilt or was a copy)")
        return blob
    if marker is None:
        raise SealedFileError(f"a file in {root} is sealed with the key of a store that is no longer encrypted; "
                              "delete it (a cache is rebuilt), or `assistant encrypt` with the old key is gone")
    return _unseal_with(keys.store_key(root, marker), blob)


def _aead(store_key: bytes):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"persona-assistant sealed files v1").derive(store_key)
    return AESGCM(derived)


def _seal_with(store_key: bytes, data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + _aead(store_key).encrypt(nonce, data, MAGIC)


def _unseal_with(store_key: bytes, blob: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag

    nonce = blob[len(MAGIC):len(MAGIC) + NONCE_BYTES]
    try:
        return _aead(store_key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES:], MAGIC)
    except (InvalidTag, ValueError) as exc:
        raise SealedFileError("a sealed file does not open with the store's key (damaged, or sealed with another "
                              "key); delete it (a cache is rebuilt) or restore it from a backup") from exc


def _files(root: Path, folders: tuple[str, ...] | None = None) -> list[Path]:
    """Regular files under `root` (or its `folders`), the store and its marker left out."""
    bases = [root / name for name in folders] if folders else [root]
    return [path for base in bases if base.is_dir() for path in sorted(base.rglob("*"))
            if path.is_file() and not path.is_symlink() and not path.name.startswith(_NOT_SEALED)]


def _sealed_files(root: Path) -> list[Path]:
    """Sealed files anywhere in the home, found by their first bytes (a model file is never read whole)."""
    found = []
    for path in _files(root):
        with open(path, "rb") as handle:
            if is_sealed(handle.read(len(MAGIC))):
                found.append(path)
    return found


def seal_home(root: Path) -> int:
    """Seal every plain file in the content folders (after `encrypt`); how many."""
    sealed = 0
    for path in _files(root, CONTENT_DIRS):
        data = path.read_bytes()
        if not is_sealed(data):
            atomic_write(path, seal(root, data))
            sealed += 1
    return sealed


def unseal_home(root: Path) -> int:
    """Unseal the content folders' files (before `decrypt` forgets the key); how many."""
    opened = 0
    for path in _files(root, CONTENT_DIRS):
        data = path.read_bytes()
        if is_sealed(data):
            atomic_write(path, unseal(root, data))
            opened += 1
    return opened


def reseal_home(root: Path, old_key: bytes, new_key: bytes) -> int:
    """Re-seal every sealed file in the home from `old_key` to `new_key` (`key rotate`); how many."""
    found = _sealed_files(root)
    for path in found:
        atomic_write(path, _seal_with(new_key, _unseal_with(old_key, path.read_bytes())))
    return len(found)
