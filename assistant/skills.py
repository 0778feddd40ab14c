"""What a skill plugin provides: a named capability the CLI, TUI and daemon can run."""

from __future__ import annotations

from typing import Any, Protocol


class Skill(Protocol):
    name: str
    description: str

    def run(self, assistant: Any, **options: Any) -> Any:
        ...
