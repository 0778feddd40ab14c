"""An answer that is a refusal, caught at its first sentence.

A small instruction model now and then answers a request to write an email with "I'm sorry, but
I can't assist with that request." (Qwen2.5-1.5B did for 3 of 36 candidates on the Enron
development emails): that is not a draft. `RefusalGate` holds a streamed answer until its first
sentence is written; a refusal is never shown and the writer stops there and writes again. A
request that itself asks to decline something ("tell Sam I can't help with that") is not gated:
there such a sentence is the draft (`asks_to_decline`).
"""

from __future__ import annotations

import re
from typing import Callable

_REFUSAL = re.compile(
    r"(?:(?:I['’]m|I\s+am)\s+(?:really\s+|so\s+)?sorry|sorry|unfortunately|I\s+apologi[sz]e)?[,.!]?\s*(?:but\s*,?\s*)?"
    r"(?:as\s+an\s+ai\b[^.!?\n]*|I\s+(?:can['’]?t|cannot|can\s+not|am\s+unable\s+to|am\s+not\s+able\s+to|won['’]t)\s+"
    r"(?:assist|help|fulfil+|comply|complete|write|create|provide|generate)\b[^.!?\n]*?"
    r"(?:\brequest|\bwith\s+(?:that|this)|\bthat|\bthis))\s*[.!]?", re.I)
_DECLINING = re.compile(r"\b(?:can['’]?t|cannot|unable|declin\w*|refus\w*|sorry|apologi[sz]\w*)\b", re.I)
_TAG = re.compile(r"^\s*<email\b[^>\n]*>")  # an echoed quoting tag before the answer
_FIRST = re.compile(r"[.!?](?=\s)|\n")  # where the first sentence (or line) ends
MAX_HELD = 300  # characters: an answer with no sentence end by then is no refusal


def first_sentence(text: str, written: bool = True) -> str | None:
    """The answer's first sentence or line; while it is being written (`written` false), None until
    that sentence has ended."""
    body = _TAG.sub("", text).lstrip()
    end = _FIRST.search(body)
    if end is None:
        return body.strip() if written else None
    return body[:end.end()].strip()


def refuses(text: str) -> bool:
    """Whether `text` opens with a refusal to write (its first sentence is one and nothing more)."""
    first = first_sentence(text)
    return bool(first) and _REFUSAL.fullmatch(first) is not None


def asks_to_decline(request: str) -> bool:
    """Whether the request asks to say no or sorry: then a refusal-like sentence is what was asked for."""
    return _DECLINING.search(request) is not None


class RefusalGate:
    """Pieces of an answer on to `show` once its first sentence shows it is no refusal; `refused`
    turns true (and nothing is shown) when it is one: the writer then stops the model."""

    def __init__(self, show: Callable[[str], None] | None = None) -> None:
        self.show = show
        self.held = ""
        self.open = False
        self.refused = False

    def __call__(self, piece: str) -> None:
        if self.open:
            self._pass(piece)
            return
        self.held += piece
        if first_sentence(self.held, written=False) is not None or len(self.held) >= MAX_HELD:
            self._decide()

    def _decide(self) -> None:
        self.refused = refuses(self.held)
        if not self.refused:
            self.open = True
            self._pass(self.held)

    def _pass(self, text: str) -> None:
        if self.show and text:
            self.show(text)

    def close(self) -> None:
        """The answer ended: one too short to have shown its first sentence is decided now."""
        if not self.open and not self.refused:
            self._decide()
