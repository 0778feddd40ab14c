"""Talk to a running daemon over its Unix socket: one JSON request per line, one JSON answer per line.

Imports only the standard library, so `assistant search` can ask the warm daemon
without loading numpy, torch or the embedding model itself.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

NO_DAEMON_ENV = "ASSISTANT_NO_DAEMON"  # set to 1 to always answer in-process (benchmarks, tests)


class DaemonError(Exception):
    """The daemon answered, but with an error (the message is its reason)."""


def request(socket_path: Path, payload: dict, timeout: float = 60.0) -> dict | None:
    """The daemon's answer to `payload`, or None when no daemon listens at `socket_path`."""
    if os.environ.get(NO_DAEMON_ENV) == "1" or not socket_path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(socket_path))
        except OSError:  # a stale socket file, or a daemon that is shutting down
            return None
        conn.sendall(json.dumps(payload).encode("utf-8") + b"\n")
        with conn.makefile("rb") as reader:
            line = reader.readline()
    if not line:
        return None
    answer = json.loads(line)
    if not answer.get("ok"):
        raise DaemonError(answer.get("error", "the daemon gave no reason"))
    return answer


def search(socket_path: Path, query: str, k: int, filters: dict) -> list[dict] | None:
    """Hits as `Hit.as_json()` dicts from the daemon's warm index, or None when no daemon runs."""
    answer = request(socket_path, {"op": "search", "query": query, "k": k,
                                   "filters": {key: value for key, value in filters.items() if value is not None}})
    return None if answer is None else answer["hits"]
