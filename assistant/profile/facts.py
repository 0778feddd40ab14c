"""Facts about the person: stored propositions with evidence, status, lineage and a history of every change.

A fact is `inferred` (drawn from the person's own writing, resting on chunks in
`fact_evidence`) or `stated` (told with `profile add`). Its status is active, superseded
(a newer fact about the same subject replaced it: `supersedes` links new to old), rejected
(the person said it is wrong) or pinned (the person said it is right: never superseded or
dropped, and shown in prompts even when sensitive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from assistant.errors import UserError
from assistant.store.documents import now

STATUSES = ("active", "superseded", "rejected", "pinned")
SENSITIVE_CATEGORIES = frozenset({"health", "religion", "politics", "sexuality", "ethnicity", "finances"})
# A fact's weight in a prompt halves every this many days since it was last seen in the person's writing.
RECENCY_HALF_LIFE_DAYS = 365.0


@dataclass
class Fact:
    id: int
    text: str
    category: str
    confidence: float
    status: str
    sensitive: bool
    first_seen: str
    last_seen: str
    supersedes: int | None
    subject: str | None
    source: str

    @classmethod
    def from_row(cls, row: dict) -> "Fact":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k != "sensitive"},
                   sensitive=bool(row["sensitive"]))

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blob(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def get(db, fact_id: int) -> Fact:
    row = next(db["facts"].rows_where("id = ?", [fact_id]), None)
    if row is None:
        raise UserError(f"no fact with id {fact_id}; list them with `assistant profile show`")
    return Fact.from_row(row)


def all_facts(db, statuses: tuple[str, ...] = STATUSES) -> list[Fact]:
    marks = ",".join("?" * len(statuses))
    return [Fact.from_row(r) for r in db.query(
        f"SELECT * FROM facts WHERE status IN ({marks}) ORDER BY confidence DESC, last_seen DESC, id", statuses)]


def record(db, fact_id: int, action: str, reason: str, old: dict | None = None, new: dict | None = None) -> None:
    """One row of `fact_history`: what changed (old → new text, status, confidence) and why."""
    old, new = old or {}, new or {}
    db["fact_history"].insert({
        "fact_id": fact_id, "action": action, "at": now(), "reason": reason,
        "old_text": old.get("text"), "new_text": new.get("text"),
        "old_status": old.get("status"), "new_status": new.get("status"),
        "old_confidence": old.get("confidence"), "new_confidence": new.get("confidence"),
    })


def insert(db, *, text: str, category: str, confidence: float, seen: str, subject: str | None,
           source: str, vector: np.ndarray | None, sensitive: bool = False, status: str = "active",
           supersedes: int | None = None, reason: str = "") -> int:
    sensitive = sensitive or category in SENSITIVE_CATEGORIES
    fact_id = db["facts"].insert({
        "text": text, "category": category, "confidence": round(confidence, 3), "status": status,
        "sensitive": int(sensitive), "first_seen": seen, "last_seen": seen, "supersedes": supersedes,
        "subject": subject, "source": source, "vector": None if vector is None else to_blob(vector),
    }).last_pk
    record(db, fact_id, "added", reason or source,
           new={"text": text, "status": status, "confidence": round(confidence, 3)})
    return fact_id


def update(db, fact_id: int, action: str, reason: str, **changes) -> Fact:
    """Change a fact's fields and record the change; returns the fact as it now is."""
    old = get(db, fact_id)
    db["facts"].update(fact_id, changes)
    new = get(db, fact_id)
    record(db, fact_id, action, reason, old=old.as_dict(), new=new.as_dict())
    return new


def add_evidence(db, fact_id: int, chunk_id: int) -> None:
    db.execute("INSERT OR IGNORE INTO fact_evidence (fact_id, chunk_id) VALUES (?, ?)", [fact_id, chunk_id])


def reject(db, fact_id: int) -> Fact:
    """Mark a fact wrong, and remember each (chunk, proposition) it came from so it is never re-inferred."""
    fact = get(db, fact_id)
    for (chunk_hash,) in db.execute(
            "SELECT c.hash FROM fact_evidence e JOIN chunks c ON c.id = e.chunk_id WHERE e.fact_id = ?", [fact_id]):
        db.execute("INSERT OR IGNORE INTO rejected_evidence (chunk_hash, proposition, rejected_at) VALUES (?, ?, ?)",
                   [chunk_hash, normalise(fact.text), now()])
    return update(db, fact_id, "rejected", "rejected by you", status="rejected")


def forget(db, fact_id: int) -> None:
    """Remove a fact, its evidence links, its history (which quotes it) and any link to it; one
    history row, without its words, keeps that a fact was forgotten."""
    fact = get(db, fact_id)
    db.execute("UPDATE facts SET supersedes = ? WHERE supersedes = ?", [fact.supersedes, fact_id])
    db.execute("DELETE FROM fact_evidence WHERE fact_id = ?", [fact_id])
    db.execute("DELETE FROM fact_history WHERE fact_id = ?", [fact_id])
    db.execute("DELETE FROM facts WHERE id = ?", [fact_id])
    record(db, fact_id, "forgotten", "forgotten at your request")


def is_rejected(db, chunk_hash: str, proposition: str) -> bool:
    return db.execute("SELECT 1 FROM rejected_evidence WHERE chunk_hash = ? AND proposition = ?",
                      [chunk_hash, normalise(proposition)]).fetchone() is not None


def normalise(text: str) -> str:
    return " ".join(text.lower().strip(" .!").split())


def evidence(db, fact_id: int) -> list[dict]:
    """The chunks a fact rests on, oldest first: chunk id, its text, where it came from and when it was written."""
    return [dict(r) for r in db.query(
        "SELECT e.chunk_id, c.text, d.uri AS source, d.title, d.kind, d.created_at AS date "
        "FROM fact_evidence e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id "
        "WHERE e.fact_id = ? ORDER BY d.created_at, e.chunk_id", [fact_id])]


def lineage(db, fact_id: int) -> list[Fact]:
    """The chain this fact belongs to, oldest first: what it superseded, and what superseded it."""
    chain = [get(db, fact_id)]
    seen = {fact_id}
    while chain[0].supersedes is not None and chain[0].supersedes not in seen:
        row = next(db["facts"].rows_where("id = ?", [chain[0].supersedes]), None)
        if row is None:
            break
        seen.add(row["id"])
        chain.insert(0, Fact.from_row(row))
    while True:
        row = next(db["facts"].rows_where("supersedes = ?", [chain[-1].id]), None)
        if row is None or row["id"] in seen:
            break
        seen.add(row["id"])
        chain.append(Fact.from_row(row))
    return chain


def render_lineage(chain: list[Fact]) -> str:
    """'Lives in Boston (since Jan 2026) → Lives in Denver (since May 2026)'; for a home, 'moved from Boston to Denver in May 2026'."""
    if len(chain) < 2:
        return ""
    steps = []
    for older, newer in zip(chain, chain[1:]):
        when = month(newer.first_seen)
        if newer.subject == "home" and older.text.startswith("Lives in ") and newer.text.startswith("Lives in "):
            steps.append(f"moved from {older.text[9:]} to {newer.text[9:]} in {when}")
        else:
            steps.append(f"'{older.text}' became '{newer.text}' in {when}")
    return "; ".join(steps)


def month(stamp: str | None) -> str:
    when = parse_date(stamp)
    return when.strftime("%B %Y") if when else "an unknown month"


def parse_date(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def for_prompt(fact: Fact) -> bool:
    """Whether a fact may reach a prompt: active or pinned, and not sensitive unless pinned."""
    return fact.status == "pinned" or (fact.status == "active" and not fact.sensitive)


def relevant_facts(db, embedder, query: str, k: int = 5, at: datetime | None = None) -> list[dict]:
    """The `k` facts a prompt about `query` should carry, by relevance × confidence × recency.

    Relevance is the cosine of the query and the fact (negative counts as 0); recency halves
    every `RECENCY_HALF_LIFE_DAYS` since the fact was last seen (pinned and stated facts do not age).
    Sensitive facts take part only when pinned.
    """
    rows = [r for r in db.query("SELECT * FROM facts WHERE status IN ('active', 'pinned')")]
    facts = [Fact.from_row(r) for r in rows]
    keep = [i for i, f in enumerate(facts) if for_prompt(f)]
    if not keep or k < 1:
        return []
    vectors = fact_vectors(db, embedder, [rows[i] for i in keep])
    q = embedder.encode_queries([query])[0]
    at = at or datetime.now(timezone.utc)
    scored = []
    for i, vector in zip(keep, vectors):
        fact = facts[i]
        relevance = max(0.0, float(vector @ q))
        seen = parse_date(fact.last_seen)
        ageless = fact.status == "pinned" or fact.source == "stated" or seen is None
        recency = 1.0 if ageless else 0.5 ** (max(0.0, (at - seen).days) / RECENCY_HALF_LIFE_DAYS)
        score = relevance * fact.confidence * recency
        scored.append({**fact.as_dict(), "score": round(score, 4), "relevance": round(relevance, 4),
                       "recency": round(recency, 4)})
    scored.sort(key=lambda f: -f["score"])
    return scored[:k]


def fact_vectors(db, embedder, rows: list[dict]) -> np.ndarray:
    """Each row's stored vector; missing ones (or another model's, by size) are embedded and stored."""
    vectors: list[np.ndarray | None] = [from_blob(r["vector"]) for r in rows]
    missing = [i for i, v in enumerate(vectors) if v is None or v.shape[0] != embedder.dim]
    if missing:
        fresh = embedder.encode([rows[i]["text"] for i in missing])
        for i, vector in zip(missing, fresh):
            vectors[i] = vector
            db.execute("UPDATE facts SET vector = ? WHERE id = ?", [to_blob(vector), rows[i]["id"]])
    if not vectors:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    matrix = np.vstack(vectors).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


def confidence_after(confidence: float, support: float = 0.3) -> float:
    """Each further piece of evidence closes `support` of the gap to certainty."""
    return min(0.99, confidence + (1 - confidence) * support)
