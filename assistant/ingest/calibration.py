"""Calibration text for the int8 ranges when a store's first batch is too small to calibrate on.

The bundled sample person's corpus (ordinary emails, notes and chat) stands in for
"typical text": it is cut into short pieces, embedded, and its per-dimension
extremes are combined with the store's own first vectors.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np

from assistant.ingest.chunking import chunk_text

PIECE_WORDS = 40


def calibration_texts() -> list[str]:
    root = files("assistant") / "sample"
    texts: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                stack.append(child)
            elif child.name.endswith((".eml", ".md", ".txt", ".jsonl")):
                texts.extend(chunk_text(child.read_text(encoding="utf-8", errors="replace"), PIECE_WORDS))
    return sorted(texts)


_VECTORS: dict[str, np.ndarray] = {}


def calibration_vectors(embedder) -> np.ndarray:
    """The calibration text's vectors, embedded once per process and model (a process that opens
    several new stores, such as a test run or a benchmark, embeds the ~260 pieces once)."""
    if embedder.name not in _VECTORS:
        _VECTORS[embedder.name] = embedder.encode(calibration_texts())
    return _VECTORS[embedder.name]
