"""Keep the facts up to date with the person's writing, reading only chunks not read before.

Only chunks of documents with `author_is_me = 1` are read (a chat message is one document, so
in a chat only the person's own turns), oldest first, in batches that commit with their
`fact_processed` markers: a refresh killed midway resumes after the last committed batch.
Each candidate is merged into the stored facts:

- near-identical to a fact already known (cosine ≥ `SAME_FACT`), or a plain `life` statement
  that says an active fact again in other words (≥ `SAME_LIFE_FACT`): the chunk becomes more
  evidence for it (more confidence, later `last_seen`); a rejected fact stays rejected;
- the same changing subject as an active fact ("home", "pref:coffee"; for preferences
  matched by the object's meaning) but saying something else, and newer: it supersedes it;
- otherwise a new active fact.
A (chunk, proposition) pair the person rejected is never inferred again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.profile import extract, facts
from assistant.store.documents import now

log = logging.getLogger(__name__)

SAME_FACT = 0.9  # cosine above which two propositions are the same fact (all-MiniLM-L6-v2)
# A plain (`life`) statement said again in other words is the same fact at a lower cosine: "Their goal is
# to give kids a loving home" / "Their dream is to create a safe and loving home for these kids". Chosen
# on LoCoMo's tune half (0.8: no change; 0.75: evidence precision +0.009, recall -0.003; 0.7 merged
# different events, "Went to a place in London" / "Went to a Harry Potter conference in the UK").
SAME_LIFE_FACT = 0.75
SAME_SUBJECT = 0.8  # cosine above which two preference objects are the same subject ("coffee", "black coffee")
BATCH = 64


@dataclass
class RefreshReport:
    chunks: int = 0
    added: int = 0
    merged: int = 0
    superseded: int = 0
    skipped_rejected: int = 0
    remaining: int = 0
    path: str = "embedded"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"read {self.chunks} new chunk(s) of your writing ({self.path} path): {self.added} new fact(s), "
                f"{self.merged} confirmed, {self.superseded} superseded")


def pending_count(db) -> int:
    return db.execute(_PENDING.replace("SELECT c.id, c.hash, c.text, d.created_at", "SELECT count(*)")
                      .replace(" ORDER BY d.created_at, c.id LIMIT ?", "")).fetchone()[0]


_PENDING = ("SELECT c.id, c.hash, c.text, d.created_at FROM chunks c JOIN documents d ON d.id = c.document_id "
            "LEFT JOIN fact_processed p ON p.chunk_id = c.id AND p.hash = c.hash "
            "WHERE d.author_is_me = 1 AND d.kind IN ('doc', 'mail', 'chat') AND p.chunk_id IS NULL "
            "ORDER BY d.created_at, c.id LIMIT ?")


def refresh_facts(db, embedder, generator=None, *, batch: int = BATCH, limit: int | None = None,
                  on_progress: Callable[[int], None] | None = None) -> RefreshReport:
    """Read the person's chunks not read yet and merge what they say into the facts.

    With a `generator` (a capable model: see `assistant.facts_refresh`) facts come from its
    schema-constrained JSON; without one, from the embedded path's patterns. `limit` caps how
    many chunks this call reads (the rest wait for the next call).
    """
    from assistant.store.db import write_transaction

    report = RefreshReport(path="capable" if generator is not None else "embedded")
    merger = _Merger(db, embedder, report)
    while limit is None or report.chunks < limit:
        size = batch if limit is None else min(batch, limit - report.chunks)
        rows = [dict(r) for r in db.query(_PENDING, [size])]
        if not rows:
            break
        with write_transaction(db):
            if generator is None:
                found = [(c, row, None) for row in rows for c in extract.embedded_candidates(row["text"])]
            else:
                known = {f.id: f.text for f in facts.all_facts(db, ("active", "pinned"))[:40]}
                found = [(f.candidate, rows[f.passage], f.supersedes)
                         for f in extract.model_candidates(generator, [r["text"] for r in rows], known)]
            vectors = embedder.encode([c.text for c, _, _ in found]) if found else []
            for (candidate, row, supersedes), vector in zip(found, vectors):
                merger.merge(candidate, vector, row, supersedes)
            stamp = now()
            db.conn.executemany("INSERT OR REPLACE INTO fact_processed (chunk_id, hash, processed_at) VALUES (?, ?, ?)",
                                [(r["id"], r["hash"], stamp) for r in rows])
        report.chunks += len(rows)
        if on_progress:
            on_progress(len(rows))
    report.remaining = pending_count(db)
    return report


class _Merger:
    """Merges candidates into the stored facts, holding their vectors for the length of a refresh."""

    def __init__(self, db, embedder, report: RefreshReport) -> None:
        self.db, self.embedder, self.report = db, embedder, report
        rows = [dict(r) for r in db.query("SELECT * FROM facts")]
        self.rows = rows
        self.vectors = facts.fact_vectors(db, embedder, rows) if rows else np.zeros((0, embedder.dim), np.float32)

    def merge(self, candidate: extract.Candidate, vector: np.ndarray, chunk: dict,
              supersedes: int | None = None) -> None:
        db = self.db
        if facts.is_rejected(db, chunk["hash"], candidate.text):
            self.report.skipped_rejected += 1
            return
        seen = chunk["created_at"] or now()
        same = self._nearest(vector)
        if same is not None and SAME_LIFE_FACT <= same[1] < SAME_FACT and candidate.category == "life" \
                and self.rows[same[0]]["status"] in ("active", "pinned"):
            self._confirm(self.rows[same[0]], chunk, seen)
            return
        if same is not None and same[1] >= SAME_FACT:
            row = self.rows[same[0]]
            head = self._head(row)
            # Said again after it changed ("loves coffee", "hates coffee", "loves coffee"): a new state.
            if not (row["status"] == "superseded" and head is not None and _earlier(head["first_seen"], seen)):
                self._confirm(row, chunk, seen)
                return
        old = self._same_subject(candidate) if supersedes is None else self._row(supersedes)
        status, link = "active", None
        if old is not None and old["status"] == "active":
            if _earlier(seen, old["last_seen"]):
                status = "superseded"  # an older statement found late: history, not the current state
            else:
                link = old["id"]
        fact_id = facts.insert(db, text=candidate.text, category=candidate.category, confidence=candidate.confidence,
                               seen=seen, subject=candidate.subject, source="inferred", vector=vector,
                               sensitive=candidate.sensitive, status=status, supersedes=link,
                               reason=f"from chunk {chunk['id']}")
        facts.add_evidence(db, fact_id, chunk["id"])
        if link is not None:
            facts.update(db, link, "superseded", f"superseded by fact {fact_id}", status="superseded")
            old["status"] = "superseded"
            self.report.superseded += 1
        self.report.added += 1
        self.rows.append(dict(db["facts"].get(fact_id)))
        self.vectors = np.vstack([self.vectors, vector[None, :]])

    def _head(self, row: dict) -> dict | None:
        """The newest fact in the lineage `row` belongs to (the one that superseded it, and so on)."""
        seen = {row["id"]}
        while True:
            nxt = next((r for r in self.rows if r["supersedes"] == row["id"]), None)
            if nxt is None or nxt["id"] in seen:
                return row if len(seen) > 1 else None
            seen.add(nxt["id"])
            row = nxt

    def _row(self, fact_id: int) -> dict | None:
        return next((r for r in self.rows if r["id"] == fact_id), None)

    def _nearest(self, vector: np.ndarray) -> tuple[int, float] | None:
        if not self.rows:
            return None
        sims = self.vectors @ vector
        best = int(np.argmax(sims))
        return best, float(sims[best])

    def _same_subject(self, candidate: extract.Candidate) -> dict | None:
        """The active fact about the same changing state: the same subject key, or for a preference,
        an object that means the same ("coffee" / "black coffee")."""
        if not candidate.subject:
            return None
        exact = [r for r in self.rows if r["subject"] == candidate.subject and r["status"] == "active"]
        if exact:
            return max(exact, key=lambda r: r["last_seen"] or "")
        family = candidate.subject.split(":", 1)[0]
        if ":" not in candidate.subject:
            return None
        others = [r for r in self.rows if r["status"] == "active" and (r["subject"] or "").startswith(family + ":")]
        if not others:
            return None
        mine = self.embedder.encode([candidate.subject.split(":", 1)[1], *[r["subject"].split(":", 1)[1] for r in others]])
        sims = mine[1:] @ mine[0]
        best = int(np.argmax(sims))
        return others[best] if sims[best] >= SAME_SUBJECT else None

    def _confirm(self, row: dict, chunk: dict, seen: str) -> None:
        db = self.db
        if db.execute("SELECT 1 FROM fact_evidence WHERE fact_id = ? AND chunk_id = ?", [row["id"], chunk["id"]]).fetchone():
            return
        facts.add_evidence(db, row["id"], chunk["id"])
        changes = {"last_seen": max(row["last_seen"] or "", seen)}
        if row["status"] in ("active", "pinned", "superseded"):
            changes["confidence"] = round(facts.confidence_after(row["confidence"]), 3)
        db["facts"].update(row["id"], changes)
        facts.record(db, row["id"], "confirmed", f"said again in chunk {chunk['id']}",
                     old={"confidence": row["confidence"]}, new={"confidence": changes.get("confidence")})
        row.update(changes)
        self.report.merged += 1


def _earlier(a: str | None, b: str | None) -> bool:
    """Whether time stamp `a` is before `b` (False when either is unknown)."""
    first, second = facts.parse_date(a), facts.parse_date(b)
    return bool(first and second and first < second)
