import sqlite3

from assistant.store import connect
from assistant.store.migrations import migrations


def test_migrations_build_the_schema_from_an_empty_file(tmp_path):
    path = tmp_path / "empty.db"
    db = connect(path)
    tables = set(db.table_names())
    assert {"sources", "files", "documents", "chunks", "vectors", "quantization", "quarantine", "chunks_fts"} <= tables
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.conn.close()
    # Re-opening applies nothing twice.
    again = connect(path)
    assert [m.name for m in migrations.applied(again)] == applied
    assert migrations.pending(again) == []


def test_fts_follows_chunk_inserts_and_deletes(tmp_path):
    db = connect(tmp_path / "s.db")
    db["sources"].insert({"id": 1, "name": "t", "kind": "doc", "added_at": ""})
    db["documents"].insert({"id": 1, "source_id": 1, "uri": "u", "kind": "doc", "author_is_me": 1})
    db["chunks"].insert({"id": 1, "document_id": 1, "position": 0, "text": "zucchini lasagne", "hash": "h"})
    assert db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'zucchini'").fetchall() == [(1,)]
    db["chunks"].delete(1)
    assert db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'zucchini'").fetchall() == []


def test_an_indexed_store_passes_the_integrity_check_and_a_damaged_one_is_reported(assistant, tmp_path):
    from assistant.ingest.pipeline import index_paths
    from tests.conftest import run_cli

    notes = tmp_path / "notes"
    notes.mkdir()
    for n in range(30):
        (notes / f"note-{n}.md").write_text(f"# Note {n}\n\n" + f"The hornbeam hedge by bed {n} needs cutting. " * 40)
    report = index_paths(assistant, [notes])
    assert report.failed == 0 and report.added == 30
    db = assistant.db
    assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] >= 30
    assert db.execute("SELECT count(*) FROM vectors").fetchone()[0] >= 30
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    plain = sqlite3.connect(assistant.home.db_path)  # a plain SQLite file any tool can check
    assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    page_size = plain.execute("PRAGMA page_size").fetchone()[0]
    roots = [row[0] for row in plain.execute(
        "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'documents' AND rootpage > 0")]
    plain.close()

    with open(assistant.home.db_path, "r+b") as handle:  # the documents table's pages and its indexes' turn to noise
        for root in roots:
            handle.seek((root - 1) * page_size)
            handle.write(bytes(range(256)) * (page_size // 256))
    damaged = sqlite3.connect(assistant.home.db_path)
    try:
        problems = [row[0] for row in damaged.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # a damaged root page stops the check itself
        problems = [str(exc)]
    damaged.close()
    assert problems and problems != ["ok"], problems

    # the store still opens (the schema is whole); a command that reads the damaged page says so in one line
    result = run_cli("profile", "show", home=assistant.home)
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "is damaged (database disk image is malformed)" in result.stderr
