"""all-MiniLM-L6-v2 in plain numpy: the float model the torch backend runs, without torch.

The model is a six-layer BERT encoder: matrix products, a softmax and layer norms, which
numpy's BLAS runs on a CPU. Its weights are read from the installed model's safetensors
file. The vectors are sentence-transformers' to float rounding (the same stored codes:
`tests/test_embedding.py`). What it saves is the start: importing torch and
sentence-transformers takes ~8 s on 2 cores, every process, before the first vector; numpy
is up in well under a second. Its elementwise steps (exp, erf) run on one core, so for a bulk
of chunks torch is about 5× as fast: `embedder.MiniLMEmbedder` uses this for a few texts only.
"""

from __future__ import annotations

import numpy as np

from assistant.embedding.embedder import model_path
from assistant.embedding.pooled import PooledMiniLM

LAYERS, HEADS, EPS = 6, 12, 1e-12  # the model's config.json: num_hidden_layers, num_attention_heads, layer_norm_eps


class NumpyMiniLMEmbedder(PooledMiniLM):
    """A few texts at a time (`embedder.SMALL_BATCH`); weights loaded on first use."""

    def __init__(self) -> None:
        super().__init__()
        self._weights: dict[str, np.ndarray] | None = None

    def weights(self) -> dict[str, np.ndarray]:
        if self._weights is None:
            from safetensors.numpy import load_file

            weights = load_file(str(model_path() / "model.safetensors"))
            # A linear layer's weight is stored (out, in); kept transposed, so each is one x @ W.
            self._weights = {key: np.ascontiguousarray(value.T) if key.endswith("dense.weight")
                             or key.endswith(("query.weight", "key.weight", "value.weight")) else value
                             for key, value in weights.items()}
        return self._weights

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights()
        batch, tokens = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:tokens]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w, "embeddings.LayerNorm").reshape(batch * tokens, -1)
        # Padding is masked out of attention with the most negative float, as transformers does.
        masked = ((1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min).astype(np.float32)
        width = x.shape[1] // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."
            q, k, v = (_linear(x, w, p + f"attention.self.{name}").reshape(batch, tokens, HEADS, width)
                       .transpose(0, 2, 1, 3) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(width)) + masked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch * tokens, -1)
            x = _layer_norm(_linear(context, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm")
            inner = _gelu(_linear(x, w, p + "intermediate.dense"))
            x = _layer_norm(_linear(inner, w, p + "output.dense") + x, w, p + "output.LayerNorm")
        return x.reshape(batch, tokens, -1)


def _linear(x: np.ndarray, w: dict, name: str) -> np.ndarray:
    return x @ w[name + ".weight"] + w[name + ".bias"]


def _layer_norm(x: np.ndarray, w: dict, name: str) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPS) * w[name + ".weight"] + w[name + ".bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x) (not the tanh approximation)."""
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)
