"""Embedding GGUFs run by llama.cpp: nomic-embed-text-v1.5 (embedded), or any the person adds.

Queries and passages get the model's task prefixes (nomic: `search_query: ` and
`search_document: `). A Matryoshka-trained model can be cut to fewer dimensions
(`[embedding] dims`): as nomic's model card does it, the full vector is layer-normalised,
truncated to the first `dims` values and renormalised, and the binary and int8 codes are
made from that. Each (model, dims) pair stores its own codes: its `name` says both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from assistant.errors import UserError
from assistant.llamacpp import llama_threads, open_llama

MAX_TOKENS = 512  # a chunk is at most ~100 words; longer input is cut here, as MiniLM cuts at 256
NOMIC_DIMS = (768, 512, 256)
NOMIC_PREFIXES = ("search_query: ", "search_document: ")


def gguf_metadata(path: Path) -> dict[str, str]:
    """The GGUF's metadata (read with the vocabulary only), or a UserError when llama.cpp cannot open it."""
    try:
        with _quiet():
            return dict(open_llama(path, vocab_only=True).metadata)
    except Exception as exc:  # llama.cpp raises ValueError/RuntimeError for files it cannot load
        raise UserError(f"llama.cpp cannot load {path}: {exc}") from exc


def check_embedding_model(path: Path) -> dict[str, str]:
    """The GGUF's metadata; a UserError for one with no pooling, which would give one vector
    per token, not per text."""
    meta = gguf_metadata(path)
    arch = meta.get("general.architecture", "?")
    if meta.get(f"{arch}.pooling_type", "0") == "0":
        raise UserError(f"{path} is not an embedding model (a {arch} GGUF with no pooling type, so it gives "
                        "no sentence vectors); add a sentence-embedding GGUF such as nomic-embed-text, "
                        "or add this one with --role chat or completion")
    return meta


def _quiet():
    """llama.cpp warns on stderr, even when not verbose, about a context length nomic's GGUF
    does not record; the CLI's errors are one line."""
    from llama_cpp._utils import suppress_stdout_stderr

    return suppress_stdout_stderr(disable=False)


class GgufEmbedder:
    """A sentence-embedding GGUF; `dims` below its width keeps the first `dims` (Matryoshka)."""

    def __init__(self, model: str, path: Path, dims: int | None = None,
                 prefixes: tuple[str, str] = ("", ""), threads: int | None = None) -> None:
        self.model = model
        self.path = Path(path)
        self.requested_dims = dims
        self.query_prefix, self.document_prefix = prefixes
        self.threads = threads or llama_threads(background=True)
        self._llm = None

    @property
    def dim(self) -> int:
        return self.requested_dims or self._load().n_embd()

    @property
    def name(self) -> str:
        """What the store's codes are filed under: the model and the dimensions kept."""
        return f"{self.model}/{self.dim}"

    def _load(self):
        if self._llm is None:
            with _quiet():
                try:
                    llm = open_llama(self.path, embedding=True, n_ctx=MAX_TOKENS, n_batch=MAX_TOKENS,
                                     n_ubatch=MAX_TOKENS, n_threads=self.threads, n_threads_batch=self.threads,
                                     n_gpu_layers=-1)
                except Exception as exc:
                    raise UserError(f"llama.cpp cannot load {self.path}: {exc}") from exc
            if llm.pooling_type() == 0:  # LLAMA_POOLING_TYPE_NONE
                raise UserError(f"{self.path} is not an embedding model (no pooling type); "
                                "choose a sentence-embedding GGUF in [embedding] backend")
            native = llm.n_embd()
            if self.requested_dims is not None and not (8 <= self.requested_dims <= native
                                                        and self.requested_dims % 8 == 0):
                raise UserError(f"[embedding] dims = {self.requested_dims} does not fit {self.model} "
                                f"({native} dimensions); use a multiple of 8 up to {native}, e.g. "
                                + "/".join(str(d) for d in NOMIC_DIMS if d <= native))
            self._llm = llm
        return self._llm

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Passages (what is stored): the document prefix."""
        return self._encode([self.document_prefix + t for t in texts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions: the query prefix."""
        return self._encode([self.query_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        llm = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One text per call: llama-cpp-python's multi-sequence batches were no faster here.
        full = np.array([llm.embed(t, normalize=True, truncate=True) for t in texts], dtype=np.float32)
        return matryoshka(full, self.dim)


def matryoshka(vectors: np.ndarray, dims: int) -> np.ndarray:
    """Unit vectors of `dims` dimensions from full-width unit vectors: layer norm, keep the first
    `dims`, renormalise (nomic's recipe; layer norm ignores the scale the input came with, so one
    cached full-width vector serves every width). At full width they are returned as they are."""
    if dims < vectors.shape[1]:
        centred = vectors - vectors.mean(axis=1, keepdims=True)
        vectors = (centred / np.sqrt(centred.var(axis=1, keepdims=True) + 1e-5))[:, :dims]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
