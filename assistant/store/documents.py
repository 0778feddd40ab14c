"""Writing and removing documents with everything derived from them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable

from sqlite_utils import Database

from assistant.store.style_rows import remove_features


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def source_id(db: Database, name: str, kind: str) -> int:
    row = next(db["sources"].rows_where("name = ?", [name]), None)
    if row is not None:
        return row["id"]
    return db["sources"].insert({"name": name, "kind": kind, "added_at": now()}).last_pk


def delete_documents(db: Database, document_ids: Iterable[int]) -> int:
    """Remove documents and their chunks, vectors, FTS rows and style rows, and the fact evidence
    those chunks gave: an inferred fact left with no evidence goes too (a stated or pinned one
    stays). Returns how many documents went."""
    ids = list(document_ids)
    remove_features(db, ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        for table in ("vectors", "vectors_next", "fact_evidence", "fact_processed"):
            db.execute(
                f"DELETE FROM {table} WHERE chunk_id IN (SELECT id FROM chunks WHERE document_id IN ({marks}))", part
            )
        db.execute(f"DELETE FROM chunks WHERE document_id IN ({marks})", part)
        db.execute(f"DELETE FROM documents WHERE id IN ({marks})", part)
    if ids:
        _drop_unsupported_facts(db)
    return len(ids)


def _drop_unsupported_facts(db: Database) -> None:
    """Delete inferred, unpinned facts no evidence supports any more, recording why."""
    orphans = [row[0] for row in db.execute(
        "SELECT id FROM facts WHERE source = 'inferred' AND status != 'pinned' "
        "AND id NOT IN (SELECT fact_id FROM fact_evidence)")]
    stamp = now()
    for fact_id in orphans:
        db.execute("INSERT INTO fact_history (fact_id, action, old_text, old_status, old_confidence, at, reason) "
                   "SELECT id, 'forgotten', text, status, confidence, ?, 'its sources were removed' "
                   "FROM facts WHERE id = ?", [stamp, fact_id])
        db.execute("UPDATE facts SET supersedes = NULL WHERE supersedes = ?", [fact_id])
        db.execute("DELETE FROM facts WHERE id = ?", [fact_id])


def insert_document(db: Database, source: int, container: str, item, content_hash: str) -> int:
    return db["documents"].insert(
        {
            "source_id": source,
            "uri": item.uri,
            "container": container,
            "kind": item.kind,
            "title": item.title,
            "author": item.author,
            "recipients": json.dumps(item.recipients),
            "author_is_me": int(bool(item.author_is_me)),
            "created_at": item.created_at,
            "indexed_at": now(),
            "content_hash": content_hash,
            "meta": json.dumps(item.meta, sort_keys=True, default=str),
        }
    ).last_pk


def quarantine(db: Database, uri: str, source: str, reason: str, stat: tuple[int, float] | None = None) -> None:
    """Record why `uri` could not be indexed; `stat` (size, mtime) for a whole file that failed."""
    stamp = now()
    existing = next(db["quarantine"].rows_where("uri = ?", [uri]), None)
    db["quarantine"].upsert(
        {
            "uri": uri,
            "source": source,
            "reason": reason[:500],
            "first_seen": existing["first_seen"] if existing else stamp,
            "last_seen": stamp,
            "size": stat[0] if stat else None,
            "mtime": stat[1] if stat else None,
        },
        pk="uri",
    )
