"""`assistant tui`: textual is imported only when the command runs, so `assistant --help` stays instant."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click


@contextmanager
def screen_apart_from_native_output(log: Path):
    """Give the screen its own handle on the terminal, and point file descriptor 2 at `log`.

    textual draws on stderr, and llama.cpp writes load notes to descriptor 2 directly; the
    generator silences them by pointing descriptor 2 at /dev/null while a model loads. Were the
    screen drawn through descriptor 2, every frame drawn during a load would be lost (a
    question typed then never appeared), and anything a native library printed would land on it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    terminal = os.fdopen(os.dup(2), "w", encoding="utf-8", errors="replace")
    saved_fd = os.dup(2)
    saved = sys.stderr, sys.__stderr__
    with log.open("ab") as out:
        os.dup2(out.fileno(), 2)
    sys.stderr = sys.__stderr__ = terminal
    try:
        yield
    finally:
        sys.stderr, sys.__stderr__ = saved
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        terminal.close()


@click.command()
@click.pass_obj
def tui(state):
    """Open the terminal app: chat, draft, profile, sources and suggestions in one window.

    \b
    Keys: F1-F5 switch areas, ctrl+p commands, ? key bindings, ctrl+q quit.
    Errors from native libraries go to <home>/logs/tui.log, never onto the screen.
    """
    from assistant.store.keys import unlock
    from assistant.tui.app import make_app

    unlock(state.home.root)  # an encrypted store's passphrase is asked before the screen is taken
    app = make_app(state.home)
    with screen_apart_from_native_output(state.home.logs_dir / "tui.log"):
        app.run()
