"""The persisted KV state of a prompt's stable prefix, so a fresh process starts warm.

One file per (prefix text, model name and sha256, context size, llama.cpp version) in
`<home>/cache/prefix/<key>.kv`: a magic line, a JSON header (the key, the prefix's tokens,
the state's sha256) and the state of llama.cpp's sequence 0 after evaluating those tokens.
A file that is damaged, foreign or from another llama.cpp build is ignored and replaced.
The folder is capped (`MAX_BYTES`): the least recently used files go first (by mtime,
which a read refreshes).

Every read and write of these files goes through `read_blob` / `write_blob`, the one
place where their bytes meet the disk (where an encrypted home seals them).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from assistant.home import PRIVATE_DIR, PRIVATE_FILE

MAGIC = b"persona-assistant prefix state 1\n"
MAX_BYTES = 512 * 2**20


def read_blob(path: Path) -> bytes | None:
    """The bytes of `path`, or None when it is absent; a read marks it recently used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return data


def write_blob(path: Path, data: bytes) -> None:
    """Write `data` to `path` (0600) atomically: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    except BaseException:  # an interrupted write leaves nothing behind
        partial.unlink(missing_ok=True)
        raise


def prefix_key(prefix: str, model: str, sha256: str, n_ctx: int) -> str:
    import llama_cpp

    digest = hashlib.sha256()
    for part in (prefix, model, sha256, str(n_ctx), llama_cpp.__version__):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:40]


def encode(key: str, tokens: list[int], state: bytes) -> bytes:
    header = json.dumps({"key": key, "tokens": tokens, "sha256": hashlib.sha256(state).hexdigest()}).encode()
    return MAGIC + len(header).to_bytes(8, "little") + header + state


def decode(data: bytes, key: str) -> tuple[list[int], bytes] | None:
    """(tokens, state) from a file's bytes, or None if they are not a whole, matching file."""
    try:
        if not data.startswith(MAGIC):
            return None
        start = len(MAGIC) + 8
        size = int.from_bytes(data[len(MAGIC):start], "little")
        header = json.loads(data[start:start + size])
        state = data[start + size:]
        if header["key"] != key or hashlib.sha256(state).hexdigest() != header["sha256"]:
            return None
        tokens = header["tokens"]
        if not tokens or not all(isinstance(t, int) for t in tokens):
            return None
        return tokens, state
    except (ValueError, KeyError, TypeError):
        return None


class PrefixStore:
    """Saved prefix states in one folder, at most `max_bytes` of them."""

    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.kv"

    def load(self, key: str) -> tuple[list[int], bytes] | None:
        path = self.path(key)
        data = read_blob(path)
        if data is None:
            return None
        found = decode(data, key)
        if found is None:
            path.unlink(missing_ok=True)
        return found

    def discard(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def save(self, key: str, tokens: list[int], state: bytes) -> None:
        write_blob(self.path(key), encode(key, tokens, state))
        self.trim()

    def trim(self) -> None:
        """Remove the least recently used files until the folder holds at most `max_bytes`."""
        files = []
        for path in self.folder.glob("*.kv"):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda item: item[0]):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
