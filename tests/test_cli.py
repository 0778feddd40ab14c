"""The CLI as a person runs it: init, help, models."""

import subprocess
import sys
import tomllib

from assistant.generation.catalog import embedded_models
from tests.conftest import cli_json, run_cli


def test_help_is_instant_and_imports_no_heavy_library():
    code = ("import sys; from click.testing import CliRunner; from assistant.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'llama_cpp', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


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
    assert [r["name"] for r in rows if r["default"]] == ["gemma3-270m"]
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
    temp_home.root.mkdir(parents=True, exist_ok=True)
    temp_home.config_path.write_text(
        f'[me]\nnames = ["P"]\n[models]\ngenerator = "gone"\n[[models.local]]\nname = "gone"\npath = "{gone}"\n')
    result = run_cli("draft", "hello", "--no-personalization", home=temp_home)
    assert result.returncode == 1
    assert "assistant models add" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_model_lists_known_ones(temp_home):
    result = run_cli("models", "use", "gpt-9", home=temp_home)
    assert result.returncode == 1 and "gemma3-270m" in result.stderr
