"""Re-embedding the store after the embedding model changed, without a moment of broken search.

`vectors` always holds one model's codes for every chunk: the serving model, which
search embeds its queries with. When `[embedding] backend` names another model, the new
model's codes go into `vectors_next`, a batch per transaction, so a killed run keeps
what it finished and the next run goes on from there. Only when every chunk has new
codes do they replace the old ones, in one transaction: until then search keeps using the
old model and its codes, and chunks indexed meanwhile get old codes first, new ones next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from assistant.store.db import write_transaction

BATCH = 64
_MISSING = "FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vectors_next n WHERE n.chunk_id = c.id)"


def serving_model(db) -> str | None:
    """The model whose codes search reads; None while the store holds none."""
    row = db.execute("SELECT model FROM vectors LIMIT 1").fetchone()
    return row[0] if row else None


def pending(db) -> int:
    """Chunks still without codes from the model being switched to."""
    return db.execute(f"SELECT count(*) {_MISSING}").fetchone()[0]


@dataclass
class Switch:
    old: str | None
    new: str
    embedded: int = 0
    done: bool = False


def reembed(assistant, on_start: Callable[[int], None] | None = None,
            on_progress: Callable[[int], None] | None = None) -> Switch:
    """Bring the store's codes to the configured model; nothing to do when they are its already.

    `on_start(total)` is called once with the chunks left to embed, `on_progress(n)` after
    each committed batch.
    """
    from assistant.ingest.pipeline import embed_codes

    db = assistant.db
    target = assistant.configured_model
    switch = Switch(serving_model(db), target)
    switch.done = switch.old in (None, target)
    with write_transaction(db):
        # Codes of a model chosen before and dropped again are of no further use.
        db.execute("DELETE FROM vectors_next WHERE model != ? OR ?", [target, switch.done])
    if switch.done:
        return switch
    embedder = assistant.target_embedder
    if on_start:
        on_start(pending(db))
    while rows := db.execute(f"SELECT c.id, c.text {_MISSING} ORDER BY c.id LIMIT ?", [BATCH]).fetchall():
        codes = embed_codes(db, embedder, [text for _, text in rows])
        with write_transaction(db):
            for (chunk_id, _), (binary, int8) in zip(rows, codes):
                # A chunk removed since it was read (a file deleted meanwhile) is skipped.
                db.execute("INSERT INTO vectors_next (chunk_id, model, binary, int8) SELECT ?, ?, ?, ? "
                           "WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?)",
                           [chunk_id, target, binary, int8, chunk_id])
        switch.embedded += len(rows)
        if on_progress:
            on_progress(len(rows))
    switch.done = finish(db, target)
    return switch


def finish(db, model: str) -> bool:
    """Replace the serving codes by `model`'s, if every chunk has them (checked in the same transaction)."""
    with write_transaction(db):
        if pending(db):
            return False
        old = [row[0] for row in db.execute("SELECT DISTINCT model FROM vectors")]
        db.execute("DELETE FROM vectors")
        db.execute("INSERT INTO vectors (chunk_id, model, binary, int8) "
                   "SELECT chunk_id, model, binary, int8 FROM vectors_next")
        db.execute("DELETE FROM vectors_next")
        db.execute(f"DELETE FROM quantization WHERE model IN ({','.join('?' * len(old))}) AND model != ?",
                   [*old, model])
    return True
