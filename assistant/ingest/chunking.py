"""Split text into chunks the embedding model sees whole.

all-MiniLM-L6-v2 reads at most 256 word pieces (about 180 English words); chunks
stay under `max_words` so nothing is silently cut, and small enough that one fact is
not drowned by its neighbours. Paragraphs stay together when they fit; a Markdown
heading always starts a new chunk; long paragraphs are split at sentence ends, and
a sentence longer than the limit at word boundaries.
"""

from __future__ import annotations

import re

MAX_WORDS = 100
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _pieces(paragraph: str, max_words: int) -> list[str]:
    if len(paragraph.split()) <= max_words:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        for start in range(0, len(words), max_words):
            pieces.append(" ".join(words[start : start + max_words]))
    return pieces


def chunk_text(text: str, max_words: int = MAX_WORDS) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for paragraph in _PARAGRAPH.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for piece in _pieces(paragraph, max_words):
            n = len(piece.split())
            if current and (count + n > max_words or piece.startswith("#")):
                chunks.append("\n\n".join(current))
                current, count = [], 0
            current.append(piece)
            count += n
    if current:
        chunks.append("\n\n".join(current))
    return chunks
