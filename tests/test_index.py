"""Indexing real files into a real store with the real embedding model."""

import os
import shutil
import subprocess
import sys

import numpy as np

from assistant.ingest.pipeline import index_paths
from tests.conftest import SAMPLE, run_cli
from tests.daemon_support import assert_store_consistent, make_home, note_text, store_summary


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


def test_codes_are_bit_for_bit_those_of_sentence_transformers():
    """Codes already stored were made by sentence-transformers' helpers; ours must not differ by a bit."""
    from sentence_transformers.util.quantization import quantize_embeddings

    from assistant.embedding.quantize import binary_codes, calibrate, int8_codes

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 384)).astype(np.float32)
    vectors[:, 5] = 0.25  # a constant dimension: its step is 0, as a tiny calibration set can make
    ranges = calibrate(vectors[:100])  # the rest fall outside the ranges too, and are clipped
    assert np.array_equal(binary_codes(vectors), quantize_embeddings(vectors, precision="ubinary"))
    ours, theirs = int8_codes(vectors, ranges), quantize_embeddings(vectors, precision="int8", ranges=ranges)
    assert ours.dtype == theirs.dtype == np.int8 and np.array_equal(ours, theirs)
    assert binary_codes(vectors[:0]).shape == (0, 48) and int8_codes(vectors[:0], ranges).shape == (0, 384)


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


def test_reconciling_an_unchanged_tree_stats_each_file_once(assistant, tmp_path, monkeypatch):
    """Which source claims a file is read from the folder listing, not asked of the filesystem per source:
    at 10,000 notes those stats were most of the daemon's unchanged-tree reconciliation."""
    from assistant.ingest.pipeline import Indexer

    folder = tmp_path / "notes"
    for n in range(40):
        (folder / f"d{n % 2}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{n % 2}" / f"f{n:02}.md").write_text(note_text(n))
    assert index_paths(assistant, [folder]).added == 40
    calls = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda *a, real=real, **k: calls.append(a[0]) or real(*a, **k))
    report = Indexer(assistant).run([folder])
    monkeypatch.undo()
    assert (report.added, report.updated, report.unchanged) == (0, 0, 40)
    per_file = [c for c in calls if str(c).endswith(".md")]
    assert len(per_file) == 40, f"{len(per_file)} stats of 40 unchanged files"


def _found(assistant, word: str) -> list[str]:
    """Uris whose stored text holds `word`, by full text and by meaning (the search a person runs)."""
    hits = assistant.search(word, k=5)
    return sorted({h.uri for h in hits if word.lower() in h.text.lower()})


def _message(subject: str, body: str) -> bytes:
    return (f"From: Sam Okafor <sam@example.org>\r\nTo: priya@fernhill.example\r\nSubject: {subject}\r\n"
            f"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
            f"\r\n{body}\r\n").encode()


def test_a_file_that_can_no_longer_be_read_loses_its_old_text(assistant, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "zeppelin.md"
    note.write_text("The zeppelin hangar lease ends in October; call the airfield about it.")
    (folder / "kept.md").write_text("The kiln needs a new shelf before the winter firing.")
    maildir = folder / "Maildir"
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    message = maildir / "cur" / "1773500000.M1P1.laptop:2,S"
    message.write_bytes(_message("Quokka visit", "The quokka enclosure opens to visitors on Saturday."))
    assert index_paths(assistant, [folder]).failed == 0
    assert _found(assistant, "zeppelin") == [str(note)]
    assert _found(assistant, "quokka") == [f"{maildir}#INBOX/1773500000.M1P1.laptop"]

    note.write_text("")  # emptied
    message.write_bytes(_message("Quokka visit", ""))  # a message with no text left
    report = index_paths(assistant, [folder])
    assert report.failed == 2 and report.removed == 2
    assert _found(assistant, "zeppelin") == [] and _found(assistant, "quokka") == []
    assert str(note) not in _docs(assistant) and str(folder / "kept.md") in _docs(assistant)
    errors = run_cli("sources", "errors", home=assistant.home)
    assert f"{note}\n  files: empty file" in errors.stdout
    assert f"{maildir}#INBOX/1773500000.M1P1.laptop\n  mail: empty: no text to index" in errors.stdout

    note.write_text("The zeppelin hangar lease ends in October; call the airfield about it.")
    assert index_paths(assistant, [folder]).added == 1 and _found(assistant, "zeppelin") == [str(note)]
    assert str(note) not in {r["uri"] for r in assistant.db["quarantine"].rows}  # readable again: no error left
    note.write_bytes(os.urandom(512) + b"\x00binary garbage")
    report = index_paths(assistant, [folder])
    assert report.failed == 1 and report.removed == 1 and _found(assistant, "zeppelin") == []
    assert "binary content" in assistant.db["quarantine"].get(str(note))["reason"]
    # the same bytes again (size and mtime too) are not mistaken for the stored, readable file
    assert assistant.db.execute("SELECT count(*) FROM files WHERE path = ?", [str(note)]).fetchone()[0] == 0


def test_concurrent_indexers_converge_on_the_store_one_indexer_makes(assistant, tmp_path):
    """`assistant index` run three times at once on a new store: each reads before any writes (the
    model loads at the first write), so every write meets rows another process stored meanwhile."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(40):
        (folder / f"n{n:02}.md").write_text(note_text(n))
    for n in range(3):  # a few documents of many chunks
        (folder / f"long{n}.md").write_text("\n\n".join(f"# Part {p}\n\n{note_text(100 * n + p)}" for p in range(30)))
    (folder / "bad.txt").write_bytes(b"\x00\x01binary")
    home = make_home(tmp_path / "home", [])
    env = {**os.environ, "ASSISTANT_HOME": str(home.root)}
    runs = [subprocess.Popen([sys.executable, "-m", "assistant", "index", str(folder)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
    assert [code for code, _ in results] == [0, 0, 0], [err[-2000:] for _, err in results]
    index_paths(assistant, [folder])  # the same folder, one indexer
    together, alone = store_summary(home), store_summary(assistant.home)
    assert together["documents"] == alone["documents"] and len(alone["documents"]) == 43
    assert together == alone
    assert_store_consistent(home)
