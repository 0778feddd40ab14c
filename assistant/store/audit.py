"""The audit of generations: what each draft (or other generated text) was made from.

Every skill that generates calls `record_generation` once per output; `assistant history`
reads it back. The output itself is not stored, only what went into it, so the audit never
holds more of the person's text than the request they typed and the ids and titles of the
chunks used. `forget_generations` removes every generation that cites a forgotten document.
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

from sqlite_utils import Database

from assistant.store.db import write_transaction
from assistant.store.documents import now

BATCH = 500


def record_generation(db: Database, *, skill: str, model: str, seconds: float, request: dict,
                      chunk_ids: Sequence[int] = (), style_notes: Sequence[str] = (),
                      fact_ids: Sequence[int] = (), guard_removed: Sequence[str] = ()) -> int:
    """Store one generation and the chunks it used (with their documents' uri and title now); its id."""
    with write_transaction(db):
        generation = db["generations"].insert({
            "skill": skill, "model": model, "created_at": now(), "seconds": round(float(seconds), 3),
            "request": json.dumps(request, ensure_ascii=False, sort_keys=True, default=str),
            "style_notes": json.dumps(list(style_notes), ensure_ascii=False),
            "fact_ids": json.dumps([int(f) for f in fact_ids]),
            "guard_removed": json.dumps(list(guard_removed), ensure_ascii=False),
        }).last_pk
        for position, chunk_id in enumerate(chunk_ids):
            row = db.execute("SELECT d.uri, d.title FROM chunks c JOIN documents d ON d.id = c.document_id "
                             "WHERE c.id = ?", [chunk_id]).fetchone()
            db["generation_chunks"].insert({"generation_id": generation, "position": position,
                                            "chunk_id": int(chunk_id), "uri": row[0] if row else None,
                                            "title": row[1] if row else None})
    return generation


def _row(db: Database, row: dict, with_chunks: bool) -> dict:
    data = dict(row)
    for key in ("request", "style_notes", "fact_ids", "guard_removed"):
        data[key] = json.loads(data[key] or "null")
    chunks = [dict(c) for c in db.query(
        "SELECT chunk_id, uri, title FROM generation_chunks WHERE generation_id = ? ORDER BY position", [row["id"]])]
    data["chunk_ids"] = [c["chunk_id"] for c in chunks]
    if with_chunks:
        data["chunks"] = [{**c, "text": _current_text(db, c)} for c in chunks]
    return data


def _current_text(db: Database, chunk: dict) -> str | None:
    """The chunk's text if the store still holds it unchanged (same id, same document); else None."""
    row = db.execute("SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
                     "WHERE c.id = ? AND d.uri = ?", [chunk["chunk_id"], chunk["uri"]]).fetchone()
    return row[0] if row else None


def list_generations(db: Database, limit: int = 20) -> list[dict]:
    """The newest `limit` generations, newest first, each with the ids of the chunks it used."""
    rows = db.query("SELECT * FROM generations ORDER BY id DESC LIMIT ?", [limit])
    return [_row(db, row, with_chunks=False) for row in rows]


def get_generation(db: Database, generation_id: int) -> dict | None:
    """One generation in full: its request, notes and each chunk used with its source document."""
    row = next(db.query("SELECT * FROM generations WHERE id = ?", [generation_id]), None)
    return _row(db, row, with_chunks=True) if row else None


def forget_generations(db: Database, chunk_ids: Iterable[int] = (), uris: Iterable[str] = (),
                       fact_ids: Iterable[int] = ()) -> int:
    """Inside a write transaction: remove every generation citing one of these chunks, documents or facts."""
    found: set[int] = set()
    queries = (("SELECT DISTINCT generation_id FROM generation_chunks WHERE chunk_id IN ({})", list(chunk_ids)),
               ("SELECT DISTINCT generation_id FROM generation_chunks WHERE uri IN ({})", list(uris)),
               ("SELECT DISTINCT g.id FROM generations g, json_each(g.fact_ids) f WHERE f.value IN ({})",
                list(fact_ids)))
    for sql, values in queries:
        for start in range(0, len(values), BATCH):
            part = values[start : start + BATCH]
            found.update(r[0] for r in db.execute(sql.format(",".join("?" * len(part))), part))
    return delete_generations(db, sorted(found))


def delete_generations(db: Database, ids: Sequence[int] | None = None) -> int:
    """Inside a write transaction: remove these generations (all of them when `ids` is None)."""
    if ids is None:
        count = db.execute("SELECT count(*) FROM generations").fetchone()[0]
        db.execute("DELETE FROM generation_chunks")
        db.execute("DELETE FROM generations")
        return count
    for start in range(0, len(ids), BATCH):
        part = list(ids[start : start + BATCH])
        marks = ",".join("?" * len(part))
        db.execute(f"DELETE FROM generation_chunks WHERE generation_id IN ({marks})", part)
        db.execute(f"DELETE FROM generations WHERE id IN ({marks})", part)
    return len(ids)
