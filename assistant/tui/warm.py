"""Skills answered by the running daemon, whose models are loaded, so the TUI need not load its own.

`from_daemon` asks the daemon's socket (as `assistant draft` and `assistant ask` do) and passes
the streamed pieces on; it returns None when no daemon runs (or `ASSISTANT_NO_DAEMON=1`), or when
the daemon cannot answer (a notification says why), and the area then runs the skill itself.
Escape stops a daemon's answer at its next piece: the connection is closed, which stops the skill
in the daemon, and nothing more is shown.
"""

from __future__ import annotations

import os
from typing import Callable

from assistant.tui.stopping import Stopped


def daemon_running(home) -> bool:
    """True while a daemon holds the home's lock (and the environment does not say to ignore it)."""
    from assistant.daemon.client import NO_DAEMON_ENV
    from assistant.daemon.runtime import DaemonFiles

    return os.environ.get(NO_DAEMON_ENV) != "1" and DaemonFiles(home).is_running()


def from_daemon(app, name: str, options: dict, should_stop: Callable[[], bool],
                on_text: Callable[[str], None] | None = None) -> dict | None:
    """The skill's result (JSON data) from the daemon, or None: then the caller runs it here.
    Call it from a worker thread; raises `Stopped` once `should_stop()` is true."""
    from assistant.daemon.client import DaemonError, run_skill
    from assistant.daemon.runtime import DaemonFiles

    def piece(text: str) -> None:
        if should_stop():
            raise Stopped  # leaving the read closes the connection: the daemon's skill stops too
        if on_text is not None:
            on_text(text)

    try:
        result = run_skill(DaemonFiles(app.assistant.home).socket, name, options,
                           piece if on_text is not None else None)
    except DaemonError as exc:
        app.call_from_thread(app.notify, f"The daemon could not {name} ({exc}); doing it here instead, "
                             "which loads the model in this window. `assistant daemon status` says more.",
                             title="Daemon not answering", severity="warning", timeout=12)
        return None
    if result is not None and should_stop():
        raise Stopped
    return result
