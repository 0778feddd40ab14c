"""Embeddings from the person's model server (`[embedding] backend = "server"`): `/v1/embeddings` of
an OpenAI-compatible server on their LAN, e.g. `llama-server --embedding -m nomic-embed-text-v1.5.gguf`.

Reached like the server generator (`assistant.model_server`: LAN only, no proxy, no redirect,
one-line errors). Texts go in batches; the vectors are renormalised here, and a server model
wider than `[server] embedding_dims` is cut to it as a Matryoshka model is (`gguf.matryoshka`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Sequence

import numpy as np

from assistant.config import ServerSettings
from assistant.embedding.gguf import matryoshka
from assistant.errors import UserError
from assistant.model_server import ServerClient


def server_embedder_name(settings: ServerSettings) -> str:
    """What the store files this embedder's codes under: the server's model and the width kept."""
    return f"server:{settings.embedding_model}/{settings.embedding_dims}" if settings.embedding_model \
        else f"server/{settings.embedding_dims}"


class ServerEmbedder:
    def __init__(self, settings: ServerSettings) -> None:
        self.client = ServerClient(replace(settings, url=settings.embedding_url or settings.url))
        self.settings = settings
        self.name = server_embedder_name(settings)
        self.dim = int(settings.embedding_dims)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Passages (what is stored), each after `[server] document_prefix`."""
        return self._encode(texts, self.settings.document_prefix, batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions, each after `[server] query_prefix`."""
        return self._encode(texts, self.settings.query_prefix, 64)

    def _encode(self, texts: Sequence[str], prefix: str, batch_size: int) -> np.ndarray:
        parts = [self._embed([prefix + t for t in texts[i:i + batch_size]]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def _embed(self, texts: list[str]) -> np.ndarray:
        url = self.client.url + "/embeddings"
        model = self.settings.embedding_model
        reply = self.client.post("/embeddings", {"input": texts, **({"model": model} if model else {})})
        data = reply.get("data")
        try:
            rows = sorted(data, key=lambda row: row.get("index", 0))
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise self.client.garbage(url, json.dumps(reply)[:200]) from None
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise self.client.garbage(url, json.dumps(reply)[:200])
        if vectors.shape[1] < self.dim:
            raise UserError(f"[server] embedding_dims = {self.dim}, but the model at {url} gives "
                            f"{vectors.shape[1]} dimensions; set embedding_dims = {vectors.shape[1]} (or fewer)")
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return matryoshka(vectors, self.dim)
