"""The style profile's bookkeeping: per-document rows and the group totals that are their sums.

A row holds a document's additive counts and word n-grams, and the groups it counts
towards: for the person's own writing its context (correspondent '') and each
correspondent, for anyone else's the context's `OTHERS`. Counts whose key starts with
`~` go to the context only. Adding or removing rows changes the totals by exactly those
rows and marks the groups dirty, so their profiles are rendered again
(`assistant.profile.refresh`); nothing else is read.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Iterable

from sqlite_utils import Database

CONTEXT_ONLY = "~"


OTHERS = "~others"  # the group of everyone else's text in a context: the background for phrases


def _groups(row: dict) -> list[str]:
    return ["", *row["correspondents"]] if row["mine"] else [OTHERS]


def _apply(db: Database, rows: list[dict], sign: int) -> None:
    counts: Counter = Counter()
    grams: dict[tuple, list[int]] = {}
    dirty: set[tuple[str, str]] = set()
    for row in rows:
        dirty.add((row["context"], ""))  # everyone's text changes the context's phrases
        for group in _groups(row):
            dirty.add((row["context"], group))
            for key, value in row["counts"].items():
                if group in ("", OTHERS) or not key.startswith(CONTEXT_ONLY):
                    counts[(row["context"], group, key)] += sign * value
        for gram, uses in row["grams"].items():
            total = grams.setdefault((row["mine"], row["context"], gram), [0, 0])
            total[0] += sign
            total[1] += sign * uses
    db.conn.executemany(
        "INSERT INTO style_counts (context, correspondent, key, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET value = value + excluded.value",
        [(*key, value) for key, value in counts.items() if value])
    db.conn.executemany(
        "INSERT INTO style_grams (mine, context, gram, docs, uses) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET docs = docs + excluded.docs, uses = uses + excluded.uses",
        [(*key, docs, uses) for key, (docs, uses) in grams.items()])
    if sign < 0:  # only the totals just lowered can have reached zero
        db.conn.executemany("DELETE FROM style_counts WHERE context = ? AND correspondent = ? AND key = ? "
                            "AND abs(value) < 1e-9", list(counts))
        db.conn.executemany("DELETE FROM style_grams WHERE mine = ? AND context = ? AND gram = ? AND docs <= 0",
                            list(grams))
    db.conn.executemany("INSERT OR IGNORE INTO style_dirty (context, correspondent) VALUES (?, ?)", sorted(dirty))


def add_features(db: Database, rows: list[dict]) -> None:
    """Store `rows` (document_id, content_hash, mine, context, correspondents, counts, grams) and add them in."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO style_features (document_id, content_hash, mine, context, correspondents, counts, "
        "grams) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r["document_id"], r["content_hash"], r["mine"], r["context"], json.dumps(r["correspondents"]),
          json.dumps(r["counts"]), json.dumps(r["grams"])) for r in rows])
    _apply(db, rows, +1)


def remove_features(db: Database, document_ids: Iterable[int]) -> int:
    """Take the rows of `document_ids` out of the totals and delete them, with any exemplar they were."""
    ids = list(document_ids)
    rows = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        for row in db.execute(f"SELECT document_id, mine, context, correspondents, counts, grams FROM style_features "
                              f"WHERE document_id IN ({marks})", part):
            rows.append({"document_id": row[0], "mine": row[1], "context": row[2],
                         "correspondents": json.loads(row[3]), "counts": json.loads(row[4]),
                         "grams": json.loads(row[5])})
        db.execute(f"DELETE FROM style_features WHERE document_id IN ({marks})", part)
        db.execute(f"DELETE FROM style_exemplars WHERE document_id IN ({marks})", part)
    _apply(db, rows, -1)
    return len(rows)
