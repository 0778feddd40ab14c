"""The CLI as a person runs it: init, help, models."""

import subprocess
import sys
import tomllib

import pytest

from assistant.generation.catalog import embedded_models
from tests.conftest import cli_json, run_cli


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["index", "--help"], ["daemon", "--help"]])
def test_help_imports_no_heavy_library(args):
    """The real `assistant ... --help`; `-X importtime` lists every module the process imported."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Usage:" in result.stdout, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "assistant.cli.main" in imported  # the listing works
    heavy = {"torch", "sentence_transformers", "llama_cpp", "numpy", "faiss", "onnxruntime"}
    assert not heavy & {name.split(".")[0] for name in imported}


def test_init_without_questions_writes_identity(temp_home):
    result = run_cli("init", "--name", "Priya Nandakumar", "--email", "priya@fernhill.example",
                     "--email", "p@home.example", "--handle", "pri", home=temp_home)
    assert result.returncode == 0, result.stderr
    config = tomllib.loads(temp_home.config_path.read_text())
    assert config["me"]["emails"] == ["priya@fernhill.example", "p@home.example"]
    assert set(config["me"]["handles"]) == {"pri", "Priya Nandakumar"}
    assert "# " in temp_home.config_path.read_text()  # commented for a person to read
    again = run_cli("init", "--name", "X", home=temp_home)
    assert again.returncode == 1 and "--force" in again.stderr


def test_models_list_add_use(temp_home, tmp_path):
    rows = cli_json("models", "list", home=temp_home)
    assert {r["name"] for r in rows} >= {m.name for m in embedded_models()}
    assert [r["name"] for r in rows if r["default"]] == ["qwen2.5-coder-1.5b-instruct"]
    # a GGUF the person owns: here the SmolLM2 file, copied to look like their own download
    from assistant.generation.catalog import find_model
    from assistant.config import Config

    source = find_model(Config(), "smollm2-135m-instruct").resolve()
    mine = tmp_path / "My-Model.Q4.gguf"
    mine.symlink_to(source)
    added = run_cli("models", "add", str(mine), "--use", home=temp_home)
    assert added.returncode == 0, added.stderr
    rows = cli_json("models", "list", home=temp_home)
    assert [r["name"] for r in rows if r["default"]] == ["my-model.q4"]
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    bad = run_cli("models", "add", str(not_gguf), home=temp_home)
    assert bad.returncode == 1 and "not a GGUF" in bad.stderr


def test_missing_model_says_what_to_run(temp_home, tmp_path):
    gone = tmp_path / "gone.gguf"
    temp_home.ensure()
    temp_home.config_path.write_text(
        f'[me]\nnames = ["P"]\n[models]\ngenerator = "gone"\n[[models.local]]\nname = "gone"\npath = "{gone}"\n')
    temp_home.config_path.chmod(0o600)
    result = run_cli("draft", "hello", "--no-personalization", home=temp_home)
    assert result.returncode == 1
    assert "assistant models add" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_model_lists_known_ones(temp_home):
    result = run_cli("models", "use", "gpt-9", home=temp_home)
    assert result.returncode == 1 and "qwen2.5-coder-1.5b-instruct" in result.stderr


@pytest.mark.parametrize("line,replacement,error", [
    ("emails = [", 'emails = "priya@fernhill.example"\nold = [',
     '[me] emails must be a list of strings, e.g. emails = ["you@example.com"], got "priya@fernhill.example"'),
    ("rrf_k = 10", 'rrf_k = "ten"', '[retrieval] rrf_k must be a positive integer, got "ten"'),
    ("rrf_k = 10", "rrf_k = 0", "[retrieval] rrf_k must be a positive integer, got 0"),
    ("vector_weight = 1.5", "vector_weight = -1", "[retrieval] vector_weight must be a number 0 or more, got -1"),
    ("text_full_coverage = 0.75", "text_full_coverage = 2",
     "[retrieval] text_full_coverage must be a number above 0 and at most 1, got 2"),
    ("recency_boost = 0.0", "recency_boost = true", "[retrieval] recency_boost must be a number 0 or more, got true"),
    ('backend = "torch"', 'backend = "cuda"',
     '[embedding] backend must be one of "torch", "onnx-int8", "nomic-embed-text-v1.5", got "cuda"'),
    ("gpu_layers = -1", "gpu_layers = 1.5", "[models] gpu_layers must be an integer, -1 or more, got 1.5"),
    ('generator = "qwen2.5-coder-1.5b-instruct"', "generator = 3", "[models] generator must be a non-empty string, got 3"),
    ("paths = []", 'paths = "~/Documents"', '[sources] paths must be a list of strings, e.g. paths = ["~/Documents"], got "~/Documents"'),
])
def test_a_wrong_config_value_is_one_line_naming_the_key(temp_home, line, replacement, error):
    from assistant.config import write_config
    from tests.conftest import PRIYA

    write_config(temp_home, PRIYA)
    text = temp_home.config_path.read_text()
    assert line in text
    temp_home.config_path.write_text(text.replace(line, replacement, 1))
    for args in (["sources", "errors"], ["models", "list"]):
        result = run_cli(*args, home=temp_home)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr == f"Error: {temp_home.config_path}: {error}\n"


def test_a_section_that_is_not_a_table_is_one_line(temp_home):
    temp_home.ensure()
    temp_home.config_path.write_text('retrieval = 3\n[me]\nnames = ["Priya"]\n')
    temp_home.config_path.chmod(0o600)
    result = run_cli("sources", "errors", home=temp_home)
    assert result.returncode == 1
    assert result.stderr == f"Error: {temp_home.config_path}: retrieval must be a section ([retrieval]), got 3\n"


def test_index_of_a_missing_path_fails(temp_home, tmp_path):
    (tmp_path / "here.md").write_text("The hornbeams arrive on Tuesday.")
    result = run_cli("index", str(tmp_path / "missing"), str(tmp_path / "here.md"), home=temp_home)
    assert result.returncode == 1
    assert result.stderr == f"Error: {tmp_path / 'missing'}: no such file or folder; check the path\n"


@pytest.mark.parametrize("k", ["0", "-1"])
def test_search_needs_a_positive_k(temp_home, k):
    result = run_cli("search", "hornbeams", "-k", k, home=temp_home)
    assert result.returncode == 2 and "Invalid value for '-k'" in result.stderr
    assert result.stdout == ""


def test_a_search_for_fewer_than_one_result_is_refused_below_the_cli_too(temp_home):
    """What the daemon's socket passes on reaches `Assistant.search` unchecked by click."""
    from assistant.core import Assistant
    from assistant.errors import UserError

    with pytest.raises(UserError, match="must be 1 or more, got -1"):
        Assistant(temp_home).search("hornbeams", k=-1)


def test_a_store_that_is_not_a_database_is_one_line(temp_home, tmp_path):
    from assistant.config import write_config
    from tests.conftest import PRIYA

    write_config(temp_home, PRIYA)
    temp_home.db_path.write_bytes(b"this is not SQLite at all " * 200)
    temp_home.db_path.chmod(0o600)
    (tmp_path / "note.md").write_text("The hornbeams arrive on Tuesday.")
    for args in (["sources", "errors"], ["search", "hornbeams"], ["index", str(tmp_path / "note.md")]):
        result = run_cli(*args, home=temp_home)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "is damaged (file is not a database)" in result.stderr
        assert "assistant index" in result.stderr


def test_no_keyring_backend_is_a_one_line_error_naming_the_fix(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    result = run_cli("secrets", "set", "imap.work", input="x\n")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "keyrings.alt" in result.stderr
