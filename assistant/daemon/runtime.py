"""Where a running daemon keeps its files in the home, and how other processes read them.

`<home>/run/` (mode 0700) holds the lock (flock: one daemon per home), the pid file,
the Unix socket (mode 0600) and `status.json`, which the daemon rewrites atomically.
Imports nothing heavy: the CLI's `status` and the search client use it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UserError
from assistant.home import Home

# The kernel's limit for a Unix socket path (sun_path is 108 bytes, one for the NUL).
MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class DaemonFiles:
    home: Home

    @property
    def run_dir(self) -> Path:
        return self.home.root / "run"

    @property
    def socket(self) -> Path:
        return self.run_dir / "daemon.sock"

    @property
    def lock(self) -> Path:
        return self.run_dir / "daemon.lock"

    @property
    def pid(self) -> Path:
        return self.run_dir / "daemon.pid"

    @property
    def status(self) -> Path:
        return self.run_dir / "status.json"

    @property
    def log(self) -> Path:
        return self.home.logs_dir / "daemon.log"

    def ensure(self) -> "DaemonFiles":
        self.home.ensure()
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        if len(os.fsencode(self.socket)) > MAX_SOCKET_PATH:
            raise UserError(f"the daemon socket path {self.socket} is longer than {MAX_SOCKET_PATH} bytes; "
                            "use a shorter --home")
        return self

    def write_status(self, data: dict) -> None:
        """Replace status.json in one rename, so a reader never sees half a file."""
        tmp = self.status.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.status)

    def read_status(self) -> dict:
        try:
            return json.loads(self.status.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def read_pid(self) -> int | None:
        try:
            return int(self.pid.read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        """True while some process holds the daemon lock (the lock dies with its process, even on SIGKILL)."""
        if not self.lock.exists():
            return False
        with open(self.lock, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def wait_until(self, condition, timeout: float, step: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(step)
        return condition()
