"""A chat message's context: the end of the message before it in the same conversation.

A reply ("yes, Saturday works for me") says little on its own; the message it answers
says what it is about. The context is searched by full text beside the message, never
embedded (on LoCoMo, a vector of the pair ranked evidence worse than the message alone,
while full text over the pair ranked it better) and never read as anyone's writing.
"""

from __future__ import annotations

from datetime import datetime

from assistant.sources import Item

CONTEXT_WORDS = 60
MAX_GAP_HOURS = 12.0  # a message after a longer silence starts a new exchange


def _close(before: str, after: str) -> bool:
    try:
        gap = datetime.fromisoformat(after) - datetime.fromisoformat(before)
    except (TypeError, ValueError):
        return True  # no usable timestamps: neighbours in the file are the exchange
    return abs(gap.total_seconds()) <= MAX_GAP_HOURS * 3600


class ChatContext:
    """Fills `Item.context` for chat messages read in order, one instance per file or folder."""

    def __init__(self) -> None:
        self._last: dict[str, Item] = {}

    def fill(self, item: Item) -> None:
        if item.kind != "chat":
            return
        key = str(item.meta.get("conversation") or item.title)
        before = self._last.get(key)
        self._last[key] = item
        if before is None or item.context or not _close(before.created_at, item.created_at):
            return
        words = before.text.split()[-CONTEXT_WORDS:]
        item.context = f"{before.author}: {' '.join(words)}" if before.author else " ".join(words)
