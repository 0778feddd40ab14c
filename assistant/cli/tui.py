"""`assistant tui`: textual is imported only when the command runs, so `assistant --help` stays instant."""

from __future__ import annotations

import click


@click.command()
@click.pass_obj
def tui(state):
    """Open the terminal app: chat, draft, profile, sources and suggestions in one window.

    \b
    Keys: F1-F5 switch areas, ctrl+p commands, ? key bindings, ctrl+q quit.
    """
    from assistant.tui.app import make_app

    make_app(state.home).run()
