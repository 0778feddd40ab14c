"""What a skill plugin provides: a named capability the CLI, TUI and daemon can run."""

from __future__ import annotations

from typing import Any, Callable, Protocol


class Skill(Protocol):
    name: str
    description: str

    def run(self, assistant: Any, **options: Any) -> Any:
        ...


def run_warm(home, name: str, options: dict, on_text: Callable[[str], None] | None = None):
    """The skill's result (JSON data) from the running daemon, whose models are loaded, or None
    when no daemon runs or it cannot answer; then the caller runs the skill itself, and a
    one-line note on stderr says why the daemon did not."""
    import click

    from assistant.daemon.client import DaemonError, run_skill
    from assistant.daemon.runtime import DaemonFiles

    try:
        return run_skill(DaemonFiles(home).socket, name, options, on_text)
    except DaemonError as exc:
        click.echo(f"Warning: the daemon could not {name} ({exc}); doing it here instead", err=True)
        return None
