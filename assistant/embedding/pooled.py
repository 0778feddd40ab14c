"""all-MiniLM-L6-v2 run outside sentence-transformers: its tokenization, mean pooling and
normalisation, as sentence-transformers does them, around any runtime's transformer pass.

The backends that use it (`numpy_minilm`, `onnx_int8`) never import torch: a process that
embeds with them starts in about a second instead of the ~8 s torch takes to import on 2 cores.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from assistant.embedding.embedder import DEFAULT_EMBEDDER, model_path

MAX_TOKENS = 256  # the model's max_seq_length, as sentence-transformers truncates


class PooledMiniLM:
    """Subclasses give `_hidden(ids, mask)`: the last hidden state, shape (batch, tokens, 384)."""

    name = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self) -> None:
        self._tokenizer = None

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokenizer = self.tokenizer()
        # Longest first, so each batch pads to similar lengths (sentence-transformers does the same).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = self._hidden(ids, mask)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)
