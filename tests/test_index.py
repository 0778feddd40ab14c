"""Indexing real files into a real store with the real embedding model."""

import os
import shutil

import numpy as np

from assistant.ingest.pipeline import index_paths
from tests.conftest import SAMPLE, run_cli


def _docs(assistant):
    return {r["uri"]: r for r in assistant.db.query("SELECT * FROM documents")}


def test_sample_person_is_indexed_with_authorship(assistant, tmp_path):
    sample = tmp_path / "priya"
    shutil.copytree(SAMPLE, sample)
    report = index_paths(assistant, [sample])
    assert report.failed == 0, report.problems
    docs = _docs(assistant)
    mine = [d for d in docs.values() if d["kind"] == "mail" and d["author_is_me"]]
    others = [d for d in docs.values() if d["kind"] == "mail" and not d["author_is_me"]]
    assert len(mine) == 40 and len(others) == 8
    chats = [d for d in docs.values() if d["kind"] == "chat"]
    assert {d["author"] for d in chats if d["author_is_me"]} == {"priya"}
    # every chunk has exactly one binary (48 B) and one int8 (384 B) code
    rows = assistant.db.execute(
        "SELECT length(v.binary), length(v.int8) FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id"
    ).fetchall()
    assert rows and set(rows) == {(48, 384)}
    ranges = assistant.db["quantization"].get("all-MiniLM-L6-v2")
    assert ranges["calibration_size"] >= 100


def test_reindex_skips_unchanged_and_reembeds_only_changes(assistant, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Garden\n\nThe tomatoes need staking before June.")
    (folder / "b.txt").write_text("Biscuit the greyhound hates thunderstorms.")
    first = index_paths(assistant, [folder])
    assert (first.added, first.embedded) == (2, 2)
    second = index_paths(assistant, [folder])
    assert (second.added, second.updated, second.unchanged, second.embedded) == (0, 0, 2, 0)
    (folder / "a.md").write_text("# Garden\n\nThe tomatoes need staking before July.")
    third = index_paths(assistant, [folder])
    assert (third.updated, third.unchanged, third.embedded) == (1, 1, 1)
    # same text under a new name: stored again, but its vector is reused, not re-embedded
    (folder / "c.txt").write_text("Biscuit the greyhound hates thunderstorms.")
    fourth = index_paths(assistant, [folder])
    assert (fourth.added, fourth.embedded) == (1, 0)
    (folder / "b.txt").unlink()
    fifth = index_paths(assistant, [folder])
    assert fifth.removed == 1
    assert not [u for u in _docs(assistant) if u.endswith("b.txt")]
    orphans = assistant.db.execute(
        "SELECT count(*) FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)").fetchone()[0]
    assert orphans == 0


def test_bad_files_are_reported_and_the_rest_is_stored(assistant, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("I cycle to the studio every morning, rain or shine.")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(os.urandom(2048) + b"\x00\x00")
    (folder / "latin1.txt").write_bytes("Café crème with Tomás — naïve résumé".encode("cp1252"))
    (folder / "undecodable.txt").write_bytes(b"caf\x81\x8d\x8f\x90 \xff\xfe\x81")
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    report = index_paths(assistant, [folder, tmp_path / "missing-folder"])
    docs = _docs(assistant)
    assert str(folder / "good.md") in docs
    assert "Tomás" in assistant.db.execute(
        "SELECT text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.uri = ?",
        [str(folder / "latin1.txt")]).fetchone()[0]
    reasons = {os.path.basename(p): r for p, r in report.problems}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["undecodable.txt"]
    assert "no such file" in reasons["missing-folder"]
    quarantined = {os.path.basename(r["uri"]) for r in assistant.db["quarantine"].rows}
    assert {"empty.txt", "binary.txt", "undecodable.txt"} <= quarantined
    # nothing already stored is lost when a later run meets bad input
    again = index_paths(assistant, [folder / "binary.txt"])
    assert again.failed == 1 and str(folder / "good.md") in _docs(assistant)


def test_cli_index_summary_and_errors_listing(temp_home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.md").write_text("The lease renewal is due in March.")
    (folder / "bad.txt").write_bytes(b"\x00\x01\x02binary")
    assert run_cli("init", "--name", "Priya Nandakumar", home=temp_home).returncode == 0
    result = run_cli("index", str(folder), home=temp_home)
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "1 failed" in result.stdout
    assert "bad.txt" in result.stderr
    errors = run_cli("sources", "errors", home=temp_home)
    assert "bad.txt" in errors.stdout and "binary" in errors.stdout


def test_quantized_codes_rank_like_float_vectors(embedder):
    from assistant.embedding.quantize import Int8Scale, binary_codes, calibrate, int8_codes

    texts = [
        "My dog is a greyhound named Biscuit.",
        "The drainage swale must be dug before autumn.",
        "Cashews make me ill; I am allergic.",
        "Let's meet before eleven in the morning.",
        "The kitchen cabinets will be sage green.",
    ] * 4
    vectors = embedder.encode(texts)
    query = embedder.encode(["what breed is my pet?"])[0]
    ranges = calibrate(vectors)
    codes = int8_codes(vectors, ranges)
    assert binary_codes(vectors).shape == (20, 48) and codes.shape == (20, 384) and codes.dtype == np.int8
    approx = Int8Scale(ranges).scores(query, codes)
    exact = vectors @ query
    assert np.argmax(approx) == np.argmax(exact) == 0
    assert np.corrcoef(approx, exact)[0, 1] > 0.99


def test_an_oversized_file_is_refused_before_a_byte_is_hashed(assistant, tmp_path, monkeypatch):
    """A 2 GB file named .txt (sparse: no disk cost) is quarantined on its size alone."""
    from assistant.ingest import pipeline

    hashed = []
    real_hash = pipeline.file_hash
    monkeypatch.setattr(pipeline, "file_hash", lambda path: hashed.append(path.name) or real_hash(path))
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "ok.txt").write_text("A small note about the hornbeam hedge.")
    with (folder / "huge.txt").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    report = index_paths(assistant, [folder])
    reasons = {os.path.basename(p): r for p, r in report.problems}
    assert reasons["huge.txt"].startswith("too large: 2048 MiB")
    assert hashed == ["ok.txt"]
    assert report.added == 1


def test_reconciliation_leaves_an_unchanged_bad_file_unread_until_it_changes(assistant, tmp_path):
    from assistant.ingest.pipeline import Indexer

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("The lease renewal is due in March.")
    bad = folder / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    assert index_paths(assistant, [folder]).failed == 1

    def reconcile():  # as the daemon's frequent pass runs it
        indexer = Indexer(assistant)
        indexer.retry_failed = False
        return indexer.run([folder])

    quiet = reconcile()
    assert (quiet.failed, quiet.still_failing, quiet.unchanged) == (0, 1, 1)
    assert "1 more unchanged since they failed" in quiet.summary()
    assert assistant.db["quarantine"].get(str(bad))["reason"]  # still listed by `assistant sources errors`
    os.utime(bad, (bad.stat().st_atime, bad.stat().st_mtime + 60))
    assert reconcile().failed == 1  # changed: read again
    assert index_paths(assistant, [folder]).failed == 1  # a run you start yourself always retries
