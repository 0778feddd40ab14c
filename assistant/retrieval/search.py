"""`search(query, k, filters) -> [Hit]`, the query API every skill uses.

1. Embed the query (float32) and take its sign bits.
2. Binary shortlist: the nearest codes by Hamming distance.
3. Rescore the shortlist with the int8 codes against the float query.
4. FTS5 BM25 over the chunk text, in parallel.
5. Reciprocal rank fusion of the two lists; every hit keeps each stage's score and
   rank so callers can explain why it ranked.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.config import Config
from assistant.embedding.quantize import Int8Scale, binary_codes, load_ranges
from assistant.retrieval.binary_index import BinaryIndex

SHORTLIST_MIN = 200
SHORTLIST_FACTOR = 20
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to help BM25 tell chunks apart; the vector side still reads the whole question.
STOPWORDS = frozenset(
    "a about an and are as at be been but by can could did do does for from had has have he her his how i "
    "if in into is it its me my no not of on or our she so than that the their them then there these they "
    "this to was we were what when where which who why will with would you your".split()
)


@dataclass
class Filters:
    kind: str | None = None  # doc | mail | chat
    mine: bool | None = None  # True: only the person's own writing
    source: str | None = None
    correspondent: str | None = None  # substring of author or recipients
    since: str | None = None  # ISO date
    until: str | None = None

    def sql(self) -> tuple[str, list]:
        clauses, params = [], []
        if self.kind:
            clauses.append("d.kind = ?")
            params.append(self.kind)
        if self.mine is not None:
            clauses.append("d.author_is_me = ?")
            params.append(int(self.mine))
        if self.source:
            clauses.append("d.source_id IN (SELECT id FROM sources WHERE name = ?)")
            params.append(self.source)
        if self.correspondent:
            clauses.append("(lower(d.author) LIKE ? OR lower(d.recipients) LIKE ?)")
            params += [f"%{self.correspondent.lower()}%"] * 2
        if self.since:
            clauses.append("d.created_at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("d.created_at <= ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "1"), params

    def active(self) -> bool:
        return any(v is not None for v in asdict(self).values())


@dataclass
class Hit:
    chunk_id: int
    document_id: int
    uri: str
    text: str
    score: float
    kind: str = ""
    title: str = ""
    author: str = ""
    author_is_me: bool = False
    timestamp: str = ""
    stages: dict = field(default_factory=dict)  # vector/text rank and score

    def as_json(self) -> dict:
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "uri": self.uri,
            "score": round(self.score, 6),
            "text": self.text,
            "timestamp": self.timestamp,
            "kind": self.kind,
            "title": self.title,
            "author": self.author,
            "author_is_me": self.author_is_me,
            "stages": self.stages,
        }


def fts_query(text: str) -> str:
    """Any of the query's words, each quoted, so punctuation in a question cannot break FTS5 syntax."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS)
    return " OR ".join(f'"{w}"' for w in words)


def _allowed(db, ids: list[int], filters: Filters) -> set[int]:
    where, params = filters.sql()
    allowed: set[int] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks}) AND {where}",
            part + params,
        ).fetchall()
        allowed.update(r[0] for r in rows)
    return allowed


def vector_ranking(db, index: BinaryIndex, scale: Int8Scale, query: np.ndarray, n: int,
                   filters: Filters) -> list[tuple[int, float, int]]:
    """(chunk id, rescored similarity, Hamming distance), best first."""
    shortlist = max(SHORTLIST_MIN, n * SHORTLIST_FACTOR)
    if filters.active():
        shortlist *= 5
    ids, dist = index.search(binary_codes(query[None, :])[0], shortlist)
    id_list = [int(i) for i in ids]
    if filters.active():
        allowed = _allowed(db, id_list, filters)
        keep = [i for i, cid in enumerate(id_list) if cid in allowed]
        id_list, dist = [id_list[i] for i in keep], dist[keep]
    if not id_list:
        return []
    codes = {}
    for start in range(0, len(id_list), 500):
        part = id_list[start : start + 500]
        marks = ",".join("?" * len(part))
        for cid, blob in db.execute(f"SELECT chunk_id, int8 FROM vectors WHERE chunk_id IN ({marks})", part):
            codes[cid] = blob
    matrix = np.frombuffer(b"".join(codes[c] for c in id_list), dtype=np.int8).reshape(len(id_list), -1)
    scores = scale.scores(query, matrix)
    order = np.argsort(-scores, kind="stable")[:n]
    return [(id_list[i], float(scores[i]), int(dist[i])) for i in order]


def text_ranking(db, query: str, n: int, filters: Filters) -> list[tuple[int, float]]:
    """(chunk id, BM25 score where higher is better), best first."""
    match = fts_query(query)
    if not match:
        return []
    where, params = filters.sql()
    rows = db.execute(
        f"""SELECT c.id, -bm25(chunks_fts) AS score FROM chunks_fts
            JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id
            WHERE chunks_fts MATCH ? AND {where} ORDER BY bm25(chunks_fts) LIMIT ?""",
        [match, *params, n],
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]


def fuse(vector: list[tuple], text: list[tuple], k: int, rrf_k: int = 60,
         vector_weight: float = 1.0, text_weight: float = 1.0) -> list[tuple[int, float, dict]]:
    """Reciprocal rank fusion: score = Σ weight / (rrf_k + rank), ranks from 1."""
    fused: dict[int, float] = {}
    stages: dict[int, dict] = {}
    for rank, (cid, score, hamming) in enumerate(vector, 1):
        fused[cid] = fused.get(cid, 0.0) + vector_weight / (rrf_k + rank)
        stages.setdefault(cid, {})["vector"] = {"rank": rank, "score": round(score, 6), "hamming": hamming}
    for rank, (cid, score) in enumerate(text, 1):
        fused[cid] = fused.get(cid, 0.0) + text_weight / (rrf_k + rank)
        stages.setdefault(cid, {})["text"] = {"rank": rank, "bm25": round(score, 6)}
    best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
    return [(cid, score, stages[cid]) for cid, score in best]


class Searcher:
    """Holds the binary index and int8 scale so repeated queries (the daemon, benchmarks) reuse them."""

    def __init__(self, db, embedder, config: Config | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.config = config or Config()
        self.index = BinaryIndex.from_db(db, embedder.name)
        ranges = load_ranges(db, embedder.name)
        self.scale = Int8Scale(ranges) if ranges is not None else None

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        depth = max(k * 5, 50)
        vector: list[tuple] = []
        if self.scale is not None and len(self.index):
            q = self.embedder.encode([query])[0]
            vector = vector_ranking(self.db, self.index, self.scale, q, depth, filters)
        text = text_ranking(self.db, query, depth, filters)
        cfg = self.config
        fused = fuse(vector, text, k, cfg.rrf_k, cfg.vector_weight, cfg.text_weight)
        return self._hits(fused)

    def _hits(self, fused: list[tuple[int, float, dict]]) -> list[Hit]:
        if not fused:
            return []
        ids = [cid for cid, _, _ in fused]
        marks = ",".join("?" * len(ids))
        rows = {
            r["id"]: r
            for r in self.db.query(
                f"""SELECT c.id, c.text, c.document_id, d.uri, d.kind, d.title, d.author, d.author_is_me,
                           d.created_at FROM chunks c JOIN documents d ON d.id = c.document_id
                    WHERE c.id IN ({marks})""",
                ids,
            )
        }
        return [
            Hit(chunk_id=cid, document_id=rows[cid]["document_id"], uri=rows[cid]["uri"], text=rows[cid]["text"],
                score=score, kind=rows[cid]["kind"], title=rows[cid]["title"] or "", author=rows[cid]["author"] or "",
                author_is_me=bool(rows[cid]["author_is_me"]), timestamp=rows[cid]["created_at"] or "", stages=st)
            for cid, score, st in fused
            if cid in rows
        ]


def search(db, embedder, query: str, k: int = 10, filters: Filters | None = None,
           config: Config | None = None) -> list[Hit]:
    return Searcher(db, embedder, config).search(query, k, filters)
