"""The base of the areas that show what is in the store (Profile, Sources, Suggestions)."""

from __future__ import annotations

from textual.containers import Vertical


class StorePane(Vertical):
    """An area the app asks to read the store again (`reload`): at start and after indexing.

    Each reads in a thread worker with a connection of its own (`app.reader()`), and reports
    failures with `app.fail`, so nothing here blocks the UI thread.
    """

    def reload(self) -> None:
        raise NotImplementedError
