"""A few of the person's own texts per context that show how they write: central yet diverse.

Chosen by maximal marginal relevance over the stored embeddings: each pick is close to
the context's mean vector (typical of the person) and far from the picks before it
(diverse), of typical length and clean (no quoted or forwarded text, no pasted links).
Only the person's own mail, chat and documents count: never an attachment, never
anyone else's text. A new text competes with the chosen ones against a running mean;
the whole context is searched again only when a chosen text or any other is removed,
or after `RESELECT_AFTER` new texts, so the cost follows what changed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from assistant.embedding.quantize import Int8Scale, load_ranges
from assistant.profile.style import WRITING_CONTEXTS

TARGET = 8
RELEVANCE = 0.7  # MMR's weight on centrality against diversity
RESELECT_AFTER = 200


@dataclass
class Exemplar:
    document_id: int
    context: str
    title: str
    recipients: list[str]
    text: str


def _vectors(db, ids: list[int]) -> dict[int, np.ndarray]:
    """Each document's mean chunk vector, from its stored int8 codes (empty without codes)."""
    found: dict[int, list[np.ndarray]] = {}
    scales: dict[str, Int8Scale | None] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for doc_id, model, code in db.execute(
            f"SELECT c.document_id, v.model, v.int8 FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
            f"WHERE c.document_id IN ({','.join('?' * len(part))})", part,
        ):
            if model not in scales:
                ranges = load_ranges(db, model)
                scales[model] = Int8Scale(ranges) if ranges is not None else None
            scale = scales[model]
            if scale is not None:
                codes = np.frombuffer(code, dtype=np.int8).astype(np.float32)
                found.setdefault(doc_id, []).append(scale.low + (codes + 128.0) * scale.step)
    return {doc_id: np.mean(vectors, axis=0) for doc_id, vectors in found.items()}


def _words(db, ids: list[int]) -> dict[int, tuple[int, bool]]:
    """(words, clean) of each of the person's documents `ids`, from their stored counts."""
    out = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for doc_id, counts in db.execute(f"SELECT document_id, counts FROM style_features WHERE mine = 1 AND "
                                         f"document_id IN ({','.join('?' * len(part))})", part):
            counts = json.loads(counts)
            out[doc_id] = (int(counts.get("words", 0)), not counts.get("unclean"))
    return out


def _choose(candidates: dict[int, np.ndarray], centroid: np.ndarray, words: dict[int, tuple[int, bool]],
            typical: tuple[int, int]) -> list[tuple[int, float]]:
    """MMR over the clean `candidates`: (document id, centrality less its length penalty), best first."""
    ids = [i for i in candidates if words.get(i, (0, False))[1]]
    if not ids:
        return []
    vectors = np.stack([candidates[i] for i in ids])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    centre = centroid / (np.linalg.norm(centroid) + 1e-9)
    low, high = typical
    penalty = np.array([0.0 if low <= words[i][0] <= high else
                        0.1 * abs(math.log(max(words[i][0], 1) / (low if words[i][0] < low else high)))
                        for i in ids])
    base = vectors @ centre - penalty
    chosen: list[int] = []
    nearest = np.full(len(ids), -1.0)
    while len(chosen) < min(TARGET, len(ids)):
        score = RELEVANCE * base - (1 - RELEVANCE) * (nearest if chosen else 0)
        score[chosen] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        nearest = np.maximum(nearest, vectors @ vectors[pick])
    return [(ids[i], round(float(base[i]), 4)) for i in chosen]


def update_exemplars(db, context: str, added: list[int]) -> bool:
    """Inside a write transaction: choose `context`'s exemplars again after the person's texts
    `added` to it (and any removals). Returns True when the whole context was searched."""
    row = db.execute("SELECT docs, vector, added_since_selection FROM style_centroids WHERE context = ?",
                     [context]).fetchone()
    docs = db.execute("SELECT value FROM style_counts WHERE context = ? AND correspondent = '' AND key = 'docs'",
                      [context]).fetchone()
    docs = int(docs[0]) if docs else 0
    current = [r[0] for r in db.execute("SELECT document_id FROM style_exemplars WHERE context = ? ORDER BY rank",
                                        [context])]
    full = (row is None or row[0] + len(added) != docs or row[2] + len(added) >= RESELECT_AFTER
            or len(current) < min(TARGET, docs - len(added)))
    if full:
        pool = [r[0] for r in db.execute("SELECT document_id FROM style_features WHERE mine = 1 AND context = ?",
                                         [context])]
        candidates = _vectors(db, pool)
        total = np.sum(list(candidates.values()), axis=0) if candidates else None
        since = 0
    else:
        candidates = _vectors(db, current + added)
        new = [candidates[i] for i in added if i in candidates]
        total = np.frombuffer(row[1], dtype=np.float32) + (np.sum(new, axis=0) if new else 0)
        since = row[2] + len(added)
    db.execute("DELETE FROM style_exemplars WHERE context = ?", [context])
    db.execute("DELETE FROM style_centroids WHERE context = ?", [context])
    if total is None or not docs:
        return full
    db.execute("INSERT INTO style_centroids (context, docs, vector, added_since_selection) VALUES (?, ?, ?, ?)",
               [context, docs, np.asarray(total, dtype=np.float32).tobytes(), since])
    profile = db.execute("SELECT data FROM style_profile WHERE context = ? AND correspondent = ''",
                         [context]).fetchone()
    lengths = json.loads(profile[0])["words"] if profile else {"p25": 0, "p75": 10**9}
    words = _words(db, list(candidates))
    db.conn.executemany(
        "INSERT INTO style_exemplars (context, rank, document_id, score) VALUES (?, ?, ?, ?)",
        [(context, rank, doc_id, score) for rank, (doc_id, score) in enumerate(
            _choose(candidates, total, words, (lengths["p25"], lengths["p75"])))])
    return full


def exemplar_set(db, context: str = "email", fallback: bool = True) -> list[Exemplar]:
    """The stored exemplars of `context`, best first. With `fallback`, a person with none there
    (no mail at all) gets those of their documents or chats instead."""
    order = [context] + ([c for c in WRITING_CONTEXTS if c != context] if fallback else [])
    for name in order:
        rows = db.execute(
            "SELECT d.id, d.title, d.recipients, (SELECT group_concat(text, '\n\n') FROM "
            "  (SELECT text FROM chunks WHERE document_id = d.id ORDER BY position)) "
            "FROM style_exemplars e JOIN documents d ON d.id = e.document_id WHERE e.context = ? ORDER BY e.rank",
            [name]).fetchall()
        if rows:
            return [Exemplar(doc_id, name, title or "", json.loads(recipients or "[]"), text or "")
                    for doc_id, title, recipients, text in rows]
    return []
