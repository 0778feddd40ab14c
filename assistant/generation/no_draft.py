"""An answer that is no draft, caught at its first sentence: a refusal, or the request echoed.

A small instruction model now and then answers a request to write an email with "I'm sorry, but
I can't assist with that request." (Qwen2.5-1.5B did for 3 of 36 candidates on the Enron
development emails), or with the request's words strung together ("Designated dual serial
turbine generator enchilada handy liability …"): neither is a draft. `NoDraftGate` holds a
streamed answer until its first sentence is written; such an answer is never shown, and the
writer stops the model there and writes again. A request that itself asks to decline something
("tell Sam I can't help with that") is not checked for refusals: there such a sentence is the
draft (`asks_to_decline`).
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
MAX_HELD = 300  # characters: an answer with no sentence end by then is decided on what it has
ECHO_RUN = 6  # the request's words in a row, in its order, nothing between: the request written back
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")  # as `choose.content_words` reads words


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


def echoes(text: str, wanted: list[str]) -> bool:
    """Whether `text` strings `ECHO_RUN` or more of the request's content words (`wanted`, in the
    request's order) together with nothing between them: the request written back, not a sentence."""
    order = {word: i for i, word in enumerate(wanted)}
    run, last = 0, -1
    for word in _WORD.findall(text.lower()):
        at = order.get(word)
        run, last = (run + 1, at) if at is not None and at > last else ((1, at) if at is not None else (0, -1))
        if run >= ECHO_RUN:
            return True
    return False


def no_draft(text: str, wanted: list[str], check_refusal: bool = True) -> bool:
    """Whether the answer opens with no draft: a refusal (when `check_refusal`) or the request echoed."""
    return (check_refusal and refuses(text)) or echoes(first_sentence(text) or "", wanted)


def asks_to_decline(request: str) -> bool:
    """Whether the request asks to say no or sorry: then a refusal-like sentence is what was asked for."""
    return _DECLINING.search(request) is not None


class NoDraftGate:
    """Pieces of an answer on to `show` once its first sentence shows it is a draft (`no_draft`);
    `rejected` turns true (and nothing is shown) when it is none: the writer then stops the model."""

    def __init__(self, show: Callable[[str], None] | None, wanted: list[str], check_refusal: bool = True) -> None:
        self.show, self.wanted, self.check_refusal = show, wanted, check_refusal
        self.held = ""
        self.open = False
        self.rejected = False

    def __call__(self, piece: str) -> None:
        if self.open:
            self._pass(piece)
            return
        self.held += piece
        if first_sentence(self.held, written=False) is not None or len(self.held) >= MAX_HELD:
            self._decide()

    def _decide(self) -> None:
        self.rejected = no_draft(self.held, self.wanted, self.check_refusal)
        if not self.rejected:
            self.open = True
            self._pass(self.held)

    def _pass(self, text: str) -> None:
        if self.show and text:
            self.show(text)

    def close(self) -> None:
        """The answer ended: one too short to have shown its first sentence is decided now."""
        if not self.open and not self.rejected:
            self._decide()
