"""A draft streamed to the terminal a whole sentence at a time, so the screen ends with the saved draft.

A draft the token budget cuts off ends at its last whole sentence once written
(`prompt.draft.end_at_sentence`), so the words after the last sentence end may not be kept:
they are held back until the next sentence ends, and `finish` prints what the final draft
keeps of them. Where the final draft differs from what was already shown (a pasted run
trimmed, a paragraph written twice dropped, the guard reading the whole text at once),
`finish` says so and prints the draft as saved. The same holds whether the pieces come from
this process or from the daemon.
"""

from __future__ import annotations

import re
import sys
from typing import Callable

import click

# A sentence end as `end_at_sentence` reads it, once the next character shows it is one ("3." may be "3.5").
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*(?=\s)")


def _echo(text: str) -> None:
    click.echo(text, nl=False)
    sys.stdout.flush()


class SentenceStream:
    """`on_text` for a draft shown as it is written: call it with each piece, then `finish(draft)`."""

    def __init__(self, write: Callable[[str], None] = _echo) -> None:
        self.write = write
        self.shown = ""  # what the terminal shows: whole sentences only
        self.held = ""  # what came after the last sentence end

    def __call__(self, piece: str) -> None:
        self.held += piece
        if not self.shown:
            self.held = self.held.lstrip()  # the saved draft starts at its first word
        end = None
        for end in _SENTENCE_END.finditer(self.held):
            pass
        if end:
            self._show(self.held[:end.end()])
            self.held = self.held[end.end():]

    def _show(self, text: str) -> None:
        self.shown += text
        self.write(text)

    def finish(self, draft: str) -> None:
        """End the stream with `draft`, the final text: what is held and kept, or the draft as saved."""
        if draft.startswith(self.shown):
            self._show(draft[len(self.shown):] + "\n")
            return
        click.echo("\n\nNote: the draft changed once it was all written (copied words trimmed, a paragraph written "
                   "twice dropped, or the guard's check of the whole text); as saved:", err=True)
        self._show("\n" + draft + "\n")
