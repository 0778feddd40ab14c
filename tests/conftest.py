"""Every test gets its own temporary home; the real embedding model is loaded once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Iterator

import pytest

from assistant.config import Config, Identity, write_config
from assistant.core import Assistant
from assistant.home import Home

SAMPLE = Path(str(files("assistant") / "sample"))
PRIYA = Identity(names=["Priya Nandakumar"], emails=["priya@fernhill.example"], handles=["priya"])


@pytest.fixture(autouse=True)
def temp_home(tmp_path, monkeypatch) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    monkeypatch.setenv("ASSISTANT_HOME", str(home.root))
    monkeypatch.delenv("ASSISTANT_PLUGINS", raising=False)
    umask = os.umask(0o022)  # the CLI run in-process (CliRunner) sets 077 for the rest of the process
    os.umask(umask)
    yield home
    os.umask(umask)


@pytest.fixture(scope="session")
def embedder():
    from assistant.embedding.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """A cache folder holding the onnx-int8 model file, exported once per session (`use_onnx` copies it)."""
    from assistant.embedding.onnx_int8 import OnnxInt8Embedder

    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxInt8Embedder(cache).encode(["export"])
    return cache


def use_onnx(home: Home, onnx_cache: Path) -> None:
    """Embed with `[embedding] backend = "onnx-int8"` in `home`: a real backend that starts in about a
    second where the default's torch import takes ten, for tests that start many processes and are
    about something else (crash safety)."""
    from assistant.config import update_config

    update_config(home, lambda doc: doc.setdefault("embedding", {}).__setitem__("backend", "onnx-int8"))
    shutil.copytree(onnx_cache / "onnx", home.cache_dir / "onnx", dirs_exist_ok=True)


def make_assistant(home: Home, embedder) -> Assistant:
    from assistant.config import update_config

    write_config(home, PRIYA)
    # One candidate a draft: the tests here are about something else, and the shipped three would triple each
    # real-model draft's time. `test_draft_uses_the_persons_own_emails` drafts at the shipped setting.
    update_config(home, lambda doc: doc["draft"].__setitem__("candidates", 1))
    assistant = Assistant(home, Config.load(home))
    assistant.__dict__["embedder"] = embedder  # share the one loaded model across tests
    return assistant


@pytest.fixture
def assistant(temp_home, embedder) -> Assistant:
    return make_assistant(temp_home, embedder)


@pytest.fixture(scope="session")
def indexed_sample(tmp_path_factory, embedder) -> Path:
    """A home with the sample person indexed once, style profile refreshed as `assistant index`
    does; tests copy it before changing it."""
    from assistant.ingest.pipeline import index_paths
    from assistant.profile.refresh import refresh_style

    home = Home(tmp_path_factory.mktemp("sample-home") / "home")
    sample = tmp_path_factory.mktemp("sample") / "priya"
    shutil.copytree(SAMPLE, sample)
    assistant = make_assistant(home, embedder)
    report = index_paths(assistant, [sample])
    assert report.failed == 0, report.problems
    refresh_style(assistant.db)
    return home.root


@pytest.fixture
def sample_home(indexed_sample, tmp_path, monkeypatch) -> Home:
    target = tmp_path / "sample-home"
    shutil.copytree(indexed_sample, target)
    monkeypatch.setenv("ASSISTANT_HOME", str(target))
    return Home(target)


@pytest.fixture
def sample_assistant(sample_home, embedder):
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    return assistant


def run_cli(*args: str, home: Home | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """The real `assistant` command in a subprocess, as a person would run it."""
    env = dict(os.environ)
    if home is not None:
        env["ASSISTANT_HOME"] = str(home.root)
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, input=input, timeout=600)


def cli_json(*args: str, home: Home | None = None):
    result = run_cli(*args, "--json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
