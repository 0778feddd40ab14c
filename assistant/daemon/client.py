"""Talk to a running daemon over its Unix socket: one JSON request per line, one JSON answer per line.

Imports only the standard library, so `assistant search` can ask the warm daemon
without loading numpy, torch or the embedding model itself.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Callable

NO_DAEMON_ENV = "ASSISTANT_NO_DAEMON"  # set to 1 to always answer in-process (benchmarks, tests)
# A warm search answers in well under a second; past this one the caller searches itself,
# which is sooner than waiting on a daemon that is stuck or swamped.
SEARCH_TIMEOUT_S = 1.0


class DaemonError(Exception):
    """A daemon listens but gave no usable answer: its error, silence past the timeout, or a hang-up."""


def request(socket_path: Path, payload: dict, timeout: float = 60.0,
            on_piece: Callable[[str], None] | None = None) -> dict | None:
    """The daemon's answer to `payload`, or None when no daemon listens at `socket_path`.

    `{"piece": ...}` lines that come before the answer (a streamed skill) go to `on_piece`.
    Every other failure, once connected, is a `DaemonError` whose message says what went wrong.
    """
    if os.environ.get(NO_DAEMON_ENV) == "1" or not socket_path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(socket_path))
        except OSError:  # a stale socket file, or a daemon that is shutting down
            return None
        try:
            conn.sendall(json.dumps(payload).encode("utf-8") + b"\n")
            with conn.makefile("rb") as reader:
                while True:
                    answer = _parse(reader.readline())
                    if "piece" not in answer:
                        return answer
                    if on_piece is not None:
                        on_piece(answer["piece"])
        except TimeoutError as exc:
            raise DaemonError(f"it did not answer within {timeout:g} s") from exc
        except OSError as exc:
            raise DaemonError(f"the connection failed: {exc}") from exc


def _parse(line: bytes) -> dict:
    if not line:
        raise DaemonError("it closed the connection without answering")
    try:
        answer = json.loads(line)
    except ValueError as exc:
        raise DaemonError(f"its answer was not JSON ({exc})") from exc
    if not answer.get("ok"):
        if answer.get("user_error"):  # the request's own fault (a Message-ID not in the store…)
            from assistant.errors import UserError

            raise UserError(answer["error"])
        raise DaemonError(answer.get("error", "the daemon gave no reason"))
    return answer


def search(socket_path: Path, query: str, k: int, filters: dict) -> list[dict] | None:
    """Hits as `Hit.as_json()` dicts from the daemon's warm index, or None when no daemon runs."""
    answer = request(socket_path, {"op": "search", "query": query, "k": k,
                                   "filters": {key: value for key, value in filters.items() if value is not None}},
                     timeout=SEARCH_TIMEOUT_S)
    return None if answer is None else answer["hits"]


def run_skill(socket_path: Path, name: str, options: dict, on_text: Callable[[str], None] | None = None,
              timeout: float = 600.0):
    """A skill's result (as JSON data) from the daemon's warm models, or None when no daemon runs.
    `on_text` receives the text as it is written (guarded), for a skill that streams (draft)."""
    answer = request(socket_path, {"op": "skill", "name": name, "options": options, "stream": on_text is not None},
                     timeout=timeout, on_piece=on_text)
    return None if answer is None else answer["result"]


def status_answer(files, timeout: float = 5.0) -> dict | None:
    """The daemon's answer to a status request, or None when it is not listening or not answering."""
    try:
        return request(files.socket, {"op": "status"}, timeout=timeout)
    except DaemonError:  # listening but not answering: starting up, or stuck
        return None


def daemon_status(files, timeout: float = 5.0) -> dict:
    """What `assistant daemon status` and the TUI's Sources area report: state (running or stopped),
    pid, activity, queue, documents, last error and seconds since the last reconciliation; from
    the socket while the daemon runs, else from the status file it left (`files`: `DaemonFiles`)."""
    import time

    running = files.is_running()
    answer = status_answer(files, timeout) if running else None
    data = answer["status"] if answer else files.read_status()
    data = {**data, "state": "running" if running else "stopped", "log": str(files.log),
            "pid": files.read_pid() if running else None}
    if running and answer is None:
        data["activity"] = "not answering on its socket (busy starting, or stuck: see the log)"
    if data.get("last_reconciliation_at"):
        data["seconds_since_reconciliation"] = round(time.time() - data["last_reconciliation_at"], 1)
    return data
