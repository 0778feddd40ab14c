"""The profile store: one SQLite file (WAL), reached only through `connect`.

`connect` is looked up when first used (PEP 562), so importing a light submodule such as
`assistant.store.keys` (which `assistant tui` does before its first frame) does not load
sqlite-utils and numpy with it.
"""

from __future__ import annotations

__all__ = ["connect"]


def __getattr__(name: str):
    if name == "connect":
        from assistant.store.db import connect

        return connect
    raise AttributeError(f"module 'assistant.store' has no attribute {name!r}")
