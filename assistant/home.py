"""The one directory that holds all state: config, the SQLite store, caches and logs.

It is private to its owner: the folders 0700, every file in them 0600. The CLI sets the
umask 077, so what it and its libraries create (the store's -wal and -shm, logs, caches,
lock files) is born private; the store and the config are created 0600 whatever the umask;
and every start makes private again, with a warning, anything other users could read.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "persona-assistant"
HOME_ENV = "ASSISTANT_HOME"
PRIVATE_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike | None = None) -> "Home":
        """`--home` wins, then `$ASSISTANT_HOME`, then the platform's user data dir."""
        chosen = explicit or os.environ.get(HOME_ENV) or platformdirs.user_data_dir(APP_NAME)
        return cls(Path(chosen).expanduser().resolve())

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "profile.db"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> "Home":
        """Create the home and its folders 0700; make private anything in it that other users could read."""
        for folder in (self.root, self.cache_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        fixed = make_private(self.root)
        if fixed:
            shown = ", ".join(fixed[:8]) + (f" and {len(fixed) - 8} more" if len(fixed) > 8 else "")
            print(f"Warning: other users could read what is in {self.root}; made private (folders 0700, "
                  f"files 0600): {shown}", file=sys.stderr)
        return self


def make_private(root: Path) -> list[str]:
    """Take group and other permissions off `root` and everything under it; what changed, as
    `name 644→600`, files first. Symbolic links are neither followed nor changed."""
    files_fixed: list[str] = []
    folders_fixed: list[str] = []
    for folder, dirs, files in os.walk(root):
        for path in [Path(folder)] + [Path(folder) / name for name in dirs + files]:
            name = str(path.relative_to(root)) if path != root else str(root)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:  # removed meanwhile (a daemon's temp file)
                continue
            if stat.S_ISLNK(mode) or not mode & 0o077:
                continue
            try:
                os.chmod(path, stat.S_IMODE(mode) & ~0o077)
                change = f"{name} {stat.S_IMODE(mode):o}→{stat.S_IMODE(mode) & ~0o077:o}"
            except FileNotFoundError:
                continue
            except PermissionError as exc:  # another user's file, or an immutable one
                change = f"{name} {stat.S_IMODE(mode):o} NOT changed ({exc.strerror}: run `chmod go-rwx` on it)"
            (folders_fixed if stat.S_ISDIR(mode) else files_fixed).append(change)
    return files_fixed + folders_fixed


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, which is (or becomes) 0600 whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_write(path: Path, data: bytes) -> Path:
    """Write to a temporary file in the same folder, then rename: a crash leaves the old file or the
    new one, never half of one. The folder must exist."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
