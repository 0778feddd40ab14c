"""`assistant forget`: after each form no byte of what was forgotten is left anywhere under the home,
search and history cannot show it, the rest stays searchable, and indexing does not bring it back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from assistant.config import Config, remember_source_path
from assistant.core import Assistant
from assistant.home import Home
from assistant.ingest.pipeline import Indexer
from assistant.store.audit import record_generation
from tests.conftest import SAMPLE, cli_json, make_assistant, run_cli

# Each canary's first three letters are shared, so an FTS5 leaf that prefix-compresses one term
# against another still holds the rest of it: the byte scan looks for what follows "qwx".
DOC = "QWXDOCCANARYALPHA"
PATH = "QWXPATHCANARYBETA"
WHATSAPP = "QWXWACANARYGAMMA"
OLD = "QWXOLDCANARYDELTA"
NEW = "QWXNEWKEEPEPSILON"
CANARIES = (DOC, PATH, WHATSAPP, OLD)
KEPT = "stormwater"  # in Priya's notes on the Alder Street park: must stay searchable


def plant(root: Path) -> tuple[Path, Path]:
    """The sample person plus a canary in each shape one form of forget removes; (sample, extra)."""
    sample = root / "priya"
    shutil.copytree(SAMPLE, sample)
    (sample / "notes" / "recipe.txt").write_text(
        f"Grandmother's fish stew: the secret is {DOC} paprika, two bay leaves and patience.\n")
    (sample / "chats" / "whatsapp-gate.txt").write_text(
        f"[12/03/2026, 10:15:00] Priya Nandakumar: the gate code for the allotment is {WHATSAPP}\n"
        "[12/03/2026, 10:16:02] Sam Okoye: got it, thanks\n")
    (sample / "chats" / "old.jsonl").write_text("\n".join(json.dumps(m) for m in (
        {"conversation": "old", "speaker": "priya", "text": f"my first bike lock combination was {OLD}",
         "timestamp": "2019-12-31T22:00:00+00:00"},
        # within hours of the old one: its context (searched beside it) quotes the old one's words
        {"conversation": "old", "speaker": "priya", "text": f"and the new lock is {NEW}",
         "timestamp": "2020-01-01T06:00:00+00:00"})) + "\n")
    extra = root / "diary"
    extra.mkdir()
    (extra / "today.md").write_text(f"# Diary\n\nToday I buried the time capsule marked {PATH} under the oak.\n")
    return sample, extra


@pytest.fixture(scope="session")
def planted(tmp_path_factory, embedder) -> tuple[Path, Path]:
    """(home, data folder) indexed once, as `assistant index SAMPLE EXTRA` leaves them."""
    root = tmp_path_factory.mktemp("forget")
    sample, extra = plant(root / "data")
    home = Home(root / "home")
    assistant = make_assistant(home, embedder)
    report = Indexer(assistant).run([sample, extra])
    assert report.failed == 0, report.problems
    for path in (sample, extra):
        remember_source_path(home, path.resolve())
    db = assistant.db
    for canary in CANARIES + (KEPT,):
        (chunk_id,) = db.execute("SELECT id FROM chunks WHERE text LIKE ?", [f"%{canary}%"]).fetchone()
        record_generation(db, skill="draft", model="test", seconds=0.1, chunk_ids=[chunk_id],
                          request={"instruction": f"write about {canary}"})
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return home.root, root / "data"


@pytest.fixture
def home(planted, tmp_path, monkeypatch) -> Home:
    """A copy of the planted home and its data; the config's paths point at the copy."""
    root, data = planted
    shutil.copytree(data, tmp_path / "data")
    shutil.copytree(root, tmp_path / "home")
    config = tmp_path / "home" / "config.toml"
    config.write_text(config.read_text().replace(str(data), str(tmp_path / "data")))
    with sqlite3.connect(tmp_path / "home" / "profile.db") as db:  # the copy's paths, as if indexed there
        for table, column in (("files", "path"), ("documents", "container"), ("documents", "uri")):
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", [str(data), str(tmp_path / "data")])
        db.execute("UPDATE generation_chunks SET uri = replace(uri, ?, ?)", [str(data), str(tmp_path / "data")])
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    return Home(tmp_path / "home")


def leaked(home: Home, canary: str) -> list[str]:
    """Every file under the home holding the canary (any case; FTS5 keeps terms lower-case)."""
    needle = canary.lower()[3:].encode()
    return [str(path.relative_to(home.root)) for path in sorted(home.root.rglob("*"))
            if path.is_file() and needle in path.read_bytes().lower()]


def assistant_for(home: Home, embedder) -> Assistant:
    assistant = Assistant(home, Config.load(home))
    assistant.__dict__["embedder"] = embedder
    return assistant


def found(assistant: Assistant, word: str) -> bool:
    return any(word in hit.text for hit in assistant.search(f"{word} {word.lower()}", k=10))


def history_requests(home: Home) -> list[str]:
    return [row["request"]["instruction"] for row in cli_json("history", "--limit", "100", home=home)]


def forget(home: Home, *args: str) -> dict:
    return cli_json("forget", *args, "--yes", home=home)


def check_forgotten(home: Home, embedder, gone: tuple[str, ...], kept: tuple[str, ...] = (KEPT,)) -> None:
    for canary in gone:
        assert leaked(home, canary) == [], canary
    requests = history_requests(home)
    assert not any(f"write about {c}" in requests for c in gone)
    assert all(f"write about {word}" in requests for word in kept if word in CANARIES + (KEPT,))
    hits = cli_json("search", " ".join(gone), "-k", "20", home=home)
    assert not any(c in hit["text"] for hit in hits for c in gone)
    assistant = assistant_for(home, embedder)
    for word in kept:
        assert found(assistant, word), word


def test_the_scan_sees_a_canary_where_one_is(home):
    """The checks below mean something: before forget, each canary is on disk (store and source file)."""
    for canary in CANARIES:
        assert "profile.db" in leaked(home, canary), canary


def test_forget_a_document(home, embedder):
    recipe = home.root.parent / "data" / "priya" / "notes" / "recipe.txt"
    home.cache_dir.joinpath("prefix").mkdir(parents=True, exist_ok=True)  # a saved prompt-prefix state
    (home.cache_dir / "prefix" / "planted.state").write_text(f"style notes quoting {DOC}")
    result = forget(home, "--document", str(recipe))
    assert (result["documents"], result["chunks"], result["vectors"], result["files"], result["generations"]) == \
           (1, 1, 1, 1, 1)
    assert result["prompt_states"] == 1
    assert result["wal_truncated"] and result["ignored"] == [str(recipe)]
    check_forgotten(home, embedder, (DOC,), kept=(KEPT, PATH, WHATSAPP))
    # The next index, even after the file was touched, and the daemon's reconciliation leave it out.
    recipe.write_text(recipe.read_text() + "More paprika.\n")
    assert run_cli("index", home=home).returncode == 0
    assert run_cli("daemon", "run", "--oneshot", home=home).returncode == 0
    assert leaked(home, DOC) == []
    # Naming it to `index` is asking for it back.
    assert run_cli("index", str(recipe), home=home).returncode == 0
    assert "profile.db" in leaked(home, DOC) or "profile.db-wal" in leaked(home, DOC)


def test_forget_a_source_path(home, embedder):
    diary = home.root.parent / "data" / "diary"
    result = forget(home, "--source", str(diary))
    assert result["documents"] == 1 and result["files"] == 1
    assert str(diary) not in Config.load(home).source_paths
    check_forgotten(home, embedder, (PATH,), kept=(KEPT, DOC, WHATSAPP))
    (diary / "tomorrow.md").write_text(f"Dig up {PATH} again.\n")
    assert run_cli("index", home=home).returncode == 0
    assert run_cli("daemon", "run", "--oneshot", home=home).returncode == 0
    assert leaked(home, PATH) == []


def test_forget_a_source_by_name(home, embedder):
    result = forget(home, "--source", "whatsapp")
    assert result["documents"] == 2 and result["ignored"] == ["whatsapp"]
    check_forgotten(home, embedder, (WHATSAPP,), kept=(KEPT, DOC, PATH))
    assert run_cli("daemon", "run", "--oneshot", home=home).returncode == 0  # full hash: every file re-read
    assert leaked(home, WHATSAPP) == []


def test_forget_before_a_date(home, embedder):
    context = "SELECT c.context FROM chunks c WHERE c.text LIKE ?"
    assert OLD in assistant_for(home, embedder).db.execute(context, [f"%{NEW}%"]).fetchone()[0]
    result = forget(home, "--before", "2020-01-01")
    assert result["documents"] == 1 and result["files"] == 0  # the file's newer message stays
    assert result["contexts"] == 1
    check_forgotten(home, embedder, (OLD,), kept=(KEPT, NEW, DOC))
    # The file changes: it is read again, and the old message stays out while a new one comes in.
    old = home.root.parent / "data" / "priya" / "chats" / "old.jsonl"
    with old.open("a") as handle:
        handle.write(json.dumps({"conversation": "old", "speaker": "priya", "text": "and a third lock",
                                 "timestamp": "2026-03-01T10:00:00+00:00"}) + "\n")
    assistant = assistant_for(home, embedder)
    assert Indexer(assistant).run([Path(p) for p in assistant.config.source_paths]).added == 1
    assert leaked(home, OLD) == [] and found(assistant, NEW)


def test_forget_everything(home, embedder):
    result = forget(home, "--everything", "--vacuum")
    assert result["generations"] == 5 and result["vacuumed"] and result["wal_truncated"]
    for canary in CANARIES + (KEPT, NEW):
        assert leaked(home, canary) == [], canary
    assert cli_json("history", home=home) == []
    assert cli_json("search", "stormwater fish stew", home=home) == []
    assert Config.load(home).source_paths == []
    assert run_cli("index", home=home).returncode == 1  # nothing configured to index any more
    assert run_cli("daemon", "run", "--oneshot", home=home).returncode == 0
    assert json.loads(run_cli("export", home=home).stdout)["chunks"] == 0


def test_a_running_search_index_drops_what_was_forgotten(home, embedder):
    """The in-memory binary index of a running process (the daemon's too) follows the store."""
    assistant = assistant_for(home, embedder)
    assert found(assistant, DOC)
    ids = [r[0] for r in assistant.db.execute("SELECT id FROM chunks WHERE text LIKE ?", [f"%{DOC}%"])]
    assert set(ids) <= set(assistant.searcher.index.ids.tolist())
    forget(home, "--document", str(home.root.parent / "data" / "priya" / "notes" / "recipe.txt"))
    # With this process's connection still open (as the daemon's would be) the WAL is not removed
    # on close: only forget's own checkpoint gets the zeroed pages into profile.db.
    assert leaked(home, DOC) == []
    assistant.refresh_search()
    assert not set(ids) & set(assistant.searcher.index.ids.tolist())
    assert not found(assistant, DOC) and found(assistant, KEPT)


def test_forget_asks_first_and_names_what_it_needs(home):
    recipe = str(home.root.parent / "data" / "priya" / "notes" / "recipe.txt")
    refused = run_cli("forget", "--document", recipe, home=home)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert "profile.db" in leaked(home, DOC)
    asked = run_cli("forget", "--document", recipe, "--before", "2020-01-01", home=home)
    assert asked.returncode == 2 and "exactly one of" in asked.stderr
    unknown = run_cli("forget", "--source", "nosuch", "--yes", home=home)
    assert unknown.returncode == 1 and "whatsapp" in unknown.stderr and "diary" in unknown.stderr
    missing = run_cli("forget", "--document", "/nowhere/at/all.txt", "--yes", home=home)
    assert missing.returncode == 1 and "nothing is stored from /nowhere/at/all.txt" in missing.stderr


def test_a_file_read_before_a_forget_is_not_written_after_it(home, embedder):
    """The daemon's race: a file it read (and embedded) just before `forget` ran is written just after."""
    recipe = home.root.parent / "data" / "priya" / "notes" / "recipe.txt"
    recipe.write_text(recipe.read_text() + "A pinch of saffron.\n")  # changed, so it is read again
    indexer = Indexer(assistant_for(home, embedder))
    units = indexer.discover([recipe])
    forget(home, "--document", str(recipe))
    indexer.run([recipe], units)
    assert leaked(home, DOC) == []


def test_forget_a_fact(home, embedder):
    """A fact stated about yourself, used by a generation, quoted by a persona: `forget --fact` leaves no byte of it."""
    fact = "QWXFACTCANARYZETA"
    assert run_cli("profile", "add", f"I am allergic to {fact}", home=home).returncode == 0
    fact_id = next(f["id"] for f in cli_json("profile", "show", home=home)["facts"] if fact in f["text"])
    db = assistant_for(home, embedder).db
    record_generation(db, skill="draft", model="m", seconds=0.1, request={"instruction": "a note about lunch"},
                      fact_ids=[fact_id])
    db["persona_versions"].insert({"text": f"Is allergic to {fact}.", "created_at": "2026-11-30", "model": "m",
                                   "statements": json.dumps([{"text": f"Is allergic to {fact}.", "kept": True}])})
    db.conn.close()
    assert "profile.db" in leaked(home, fact) or "profile.db-wal" in leaked(home, fact)
    result = forget(home, "--fact", str(fact_id))
    assert (result["facts"], result["generations"], result["personas"]) == (1, 1, 1) and result["wal_truncated"]
    assert leaked(home, fact) == []
    assert all(fact not in f["text"] for f in cli_json("profile", "show", home=home)["facts"])
    assert "a note about lunch" not in history_requests(home)
