"""The embedding backends: torch float32 (the default; numpy for a few texts) and onnx-int8, made offline
from the same model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from assistant.config import Config, update_config
from assistant.core import Assistant
from assistant.embedding.embedder import load_embedder
from assistant.embedding.onnx_int8 import OnnxInt8Embedder
from assistant.errors import UserError
from tests.conftest import cli_json

TEXTS = [
    "Did you book the ferry to Skye for Saturday?",
    "Grandma Lakshmi always folded cardamom into the dough for her plum dumplings.",
    "Quarterly budget for the Alder Street project, revised after the permit delay.",
    "ok",
    "",
    "word " * 600,  # past the model's 256 tokens: truncated as sentence-transformers does
]


@pytest.fixture(scope="module")
def onnx_embedder(onnx_cache) -> OnnxInt8Embedder:
    return OnnxInt8Embedder(onnx_cache)  # the session's export (conftest), made by the same code


def test_onnx_int8_vectors_agree_with_the_float_model(onnx_embedder, embedder):
    ours, theirs = onnx_embedder.encode(TEXTS), embedder.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.98, cosines
    # the same nearest neighbour for every text: what retrieval needs of it
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(TEXTS))).all()
    assert onnx_embedder.encode([]).shape == (0, 384)


def test_a_few_texts_get_the_float_models_codes_from_numpy_without_importing_torch(embedder):
    from assistant.embedding.numpy_minilm import NumpyMiniLMEmbedder
    from assistant.embedding.quantize import binary_codes, calibrate, int8_codes

    theirs = np.asarray(embedder._load().encode(TEXTS, normalize_embeddings=True), dtype=np.float32)  # torch
    ours = NumpyMiniLMEmbedder().encode(TEXTS)
    assert ours.dtype == np.float32 and np.abs(ours - theirs).max() < 1e-5
    assert (binary_codes(ours) == binary_codes(theirs)).all()
    ranges = calibrate(theirs)
    assert np.abs(int8_codes(ours, ranges).astype(int) - int8_codes(theirs, ranges)).max() <= 1
    # a command embedding its query, in a process of its own: the default embedder, and torch never imported
    code = ("import sys; from assistant.embedding.embedder import MiniLMEmbedder; "
            "v = MiniLMEmbedder().encode(['where is the alder budget?']); "
            "print(v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.split("\n")[0] == "(1, 384) False False", run.stderr
    query = NumpyMiniLMEmbedder().encode(["where is the alder budget?"])
    assert np.abs(query - embedder._load().encode(["where is the alder budget?"], normalize_embeddings=True)).max() < 1e-5


def test_the_onnx_file_is_made_once_into_the_cache(onnx_embedder):
    onnx_embedder.encode(["warm"])
    made = onnx_embedder.path.stat().st_mtime_ns
    again = OnnxInt8Embedder(onnx_embedder.path.parent.parent)
    again.encode(["again"])
    assert again.path == onnx_embedder.path and again.path.stat().st_mtime_ns == made
    assert [p.name for p in again.path.parent.iterdir()] == [again.path.name]  # no temporary files left


def test_switching_backend_searches_the_codes_already_stored(sample_home, embedder):
    torch_rows = cli_json("search", "walks with the greyhound", "-k", "3", home=sample_home)
    update_config(sample_home, lambda doc: doc.setdefault("embedding", {}).__setitem__("backend", "onnx-int8"))
    assert isinstance(Assistant(sample_home).embedder, OnnxInt8Embedder)
    onnx_rows = cli_json("search", "walks with the greyhound", "-k", "3", home=sample_home)
    assert onnx_rows[0]["chunk_id"] == torch_rows[0]["chunk_id"]
    assert (sample_home.cache_dir / "onnx").is_dir()


def test_an_unknown_backend_names_the_choices(tmp_path):
    with pytest.raises(UserError, match="torch, onnx-int8, nomic-embed-text-v1.5"):
        load_embedder(Config(embedding_backend="tensorflow"), tmp_path)
    assert Config().embedding_backend == "torch"
