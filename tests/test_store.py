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


def test_store_is_a_plain_sqlite_file(tmp_path):
    connect(tmp_path / "p.db").conn.close()
    assert sqlite3.connect(tmp_path / "p.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
