"""`search(query, k, filters) -> [Hit]`, the query API every skill uses.

1. Embed the query (float32) and take its sign bits.
2. Binary shortlist: the nearest codes by Hamming distance (in memory), narrowed by
   scoring the float query against their sign bits (still in memory).
3. Rescore the shortlist with its int8 codes against the float query: held in memory beside
   the binary codes when they fit (`INT8_IN_MEMORY`), else read from the store.
4. FTS5 BM25 over the chunk text and its context (a chat message's predecessor), in parallel.
5. Reciprocal rank fusion of the two lists. The text list weighs in proportion to how much
   of the question its best match contains (`text_coverage`): questions that avoid the
   stored words lean on meaning. Every hit keeps each stage's score and rank so callers
   can explain why it ranked.
6. A question about the person (I, me, my) also runs as a second vector query framed as
   their likes and dislikes (`preference_probe`), fused as a third list, and their own
   writing is boosted; optional recency and own-writing boosts (off by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

import numpy as np

from assistant.config import Config
from assistant.embedding.quantize import Int8Scale, binary_codes, load_ranges
from assistant.retrieval.binary_index import BinaryIndex, change_mark, changes_since, read_codes_of, refine

SHORTLIST_MIN = 800
SHORTLIST_FACTOR = 16
HAMMING_FACTOR = 10
# A filtered search first looks this many times deeper in the global shortlist.
FILTER_WIDENING = 5
# The int8 codes stay in memory up to this size (1.4M chunks of 384 dimensions), else rescoring
# reads the shortlist's from the store: 0.9 ms against 4.4 ms for 800 of 1M on a busy machine.
INT8_IN_MEMORY = 512 << 20
BATCH = 500  # ids per `IN (...)` statement
_WORD = re.compile(r"\w+", re.UNICODE)
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself)\b", re.IGNORECASE)
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
        return any(getattr(self, f.name) is not None for f in fields(self))  # asdict deep-copies: 0.2 ms a query


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


def matching_ids(db, filters: Filters, among: list[int] | None = None) -> list[int]:
    """Chunk ids that pass `filters`: all of them, or those of `among`."""
    where, params = filters.sql()
    sql = f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE {where}"
    if among is None:
        return [r[0] for r in db.execute(sql, params)]
    found: list[int] = []
    for start in range(0, len(among), BATCH):
        part = among[start : start + BATCH]
        marks = ",".join("?" * len(part))
        found += [r[0] for r in db.execute(f"{sql} AND c.id IN ({marks})", params + part)]
    return found


def shortlist_size(n: int) -> int:
    """How many int8 codes to read and rescore for `n` results (see `benchmarks` for recall vs size)."""
    return max(SHORTLIST_MIN, n * SHORTLIST_FACTOR)


def hamming_size(shortlist: int) -> int:
    """How many Hamming neighbours the in-memory sign-bit scoring narrows to `shortlist`."""
    return shortlist * HAMMING_FACTOR


def int8_fits(chunks: int, dim: int) -> bool:
    """Whether `chunks` int8 codes of `dim` dimensions are held in memory for rescoring."""
    return chunks * dim <= INT8_IN_MEMORY


def rescore(db, index: BinaryIndex, scale: Int8Scale, query: np.ndarray, rows: np.ndarray, dist: np.ndarray,
            n: int) -> list[tuple[int, float, int]]:
    """Order a Hamming shortlist (index rows) by the float query against its int8 codes:
    (chunk id, score, Hamming). The codes come from memory when the index holds them, else from
    the store in one statement (only the shortlist is ever read)."""
    if index.int8 is not None:
        at, codes = np.arange(len(rows)), index.int8.take(rows, axis=0)  # whole rows, as `refine` gathers
    else:
        order = np.argsort(rows)  # row order is id order: the store returns it
        ids, codes = read_codes_of(db, index.model, index.ids[rows[order]], ("int8",))
        at = order[np.isin(index.ids[rows[order]], ids)]  # a code deleted since the scan is left out
        codes = codes.view(np.int8)
    if not len(at):
        return []
    scores = np.full(len(rows), -np.inf, dtype=np.float32)
    scores[at] = scale.scores(query, codes)
    best = np.argsort(-scores, kind="stable")[: min(n, len(at))]  # equal scores keep Hamming order
    return list(zip(index.ids[rows[best]].tolist(), scores[best].tolist(), dist[best].tolist()))


def vector_ranking(db, index: BinaryIndex, scale: Int8Scale, query: np.ndarray, n: int,
                   filters: Filters, shortlist: int | None = None,
                   among: np.ndarray | None = None) -> list[tuple[int, float, int]]:
    """(chunk id, rescored similarity, Hamming distance), best first; `among` (chunk ids) limits
    an unfiltered search to part of the index.

    With filters, a wider shortlist is filtered; when too few of it match (a selective
    filter: one correspondent, a narrow date range), the Hamming scan runs again over
    exactly the matching chunks, so a filter never hides its own best matches.
    """
    size = shortlist or shortlist_size(n)
    wide = hamming_size(size)
    code = binary_codes(query[None, :])[0]
    if not filters.active():
        rows, dist = index.search_rows(code, wide, among=among)
    else:
        rows, dist = index.search_rows(code, wide * FILTER_WIDENING)
        allowed = set(matching_ids(db, filters, index.ids[rows].tolist()))
        keep = np.fromiter((cid in allowed for cid in index.ids[rows].tolist()), dtype=bool, count=len(rows))
        if keep.sum() < n and len(rows) < len(index):
            rows, dist = index.search_rows(code, wide, among=matching_ids(db, filters))
        else:
            rows, dist = rows[keep][:wide], dist[keep][:wide]
    rows, dist = refine(index, query, rows, dist, size)
    return rescore(db, index, scale, query, rows, dist, n)


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
         vector_weight: float = 1.0, text_weight: float = 1.0, preference: list[tuple] = (),
         preference_weight: float = 0.0) -> list[tuple[int, float, dict]]:
    """Reciprocal rank fusion: score = Σ weight / (rrf_k + rank), ranks from 1."""
    fused: dict[int, float] = {}
    stages: dict[int, dict] = {}
    for name, ranking, weight in (("vector", vector, vector_weight), ("preference", preference, preference_weight)):
        for rank, (cid, score, hamming) in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + weight / (rrf_k + rank)
            stages.setdefault(cid, {})[name] = {"rank": rank, "score": round(score, 6), "hamming": hamming}
    for rank, (cid, score) in enumerate(text, 1):
        fused[cid] = fused.get(cid, 0.0) + text_weight / (rrf_k + rank)
        stages.setdefault(cid, {})["text"] = {"rank": rank, "bm25": round(score, 6)}
    best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
    return [(cid, score, stages[cid]) for cid, score in best]


def about_me(query: str) -> bool:
    """True for a question in the first person singular ("what should I…", "recommend me…")."""
    return bool(_FIRST_PERSON.search(query))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def text_coverage(query: str, text: str) -> float:
    """Share of the question's words (stopwords aside; plurals folded) that occur in `text`."""
    words = {_stem(w) for w in (w.lower() for w in _WORD.findall(query)) if w not in STOPWORDS}
    if not words:
        return 0.0
    return len(words & {_stem(w.lower()) for w in _WORD.findall(text)}) / len(words)


def text_list_weight(db, query: str, text: list[tuple[int, float]], config: Config) -> tuple[float, float]:
    """(weight of the text list in fusion, coverage of its best match).

    BM25 helps when the question names what it wants (a person, a place, a thing) and hurts
    when it shares only generic words with everything (a request phrased unlike the stored
    preference): the best match's coverage of the question tells the two apart.
    """
    if not text:
        return 0.0, 0.0
    row = db.execute("SELECT text, context FROM chunks WHERE id = ?", [text[0][0]]).fetchone()
    coverage = text_coverage(query, f"{row[0]} {row[1]}") if row else 0.0
    return config.text_weight * min(1.0, coverage / max(config.text_full_coverage, 1e-9)), coverage


def boost(db, fused: list[tuple[int, float, dict]], config: Config, query: str = "",
          now: datetime | None = None) -> list[tuple[int, float, dict]]:
    """Scale fused scores up for recent chunks and the person's own writing, then re-sort.

    factor = 1 + recency_boost · 0.5^(age in days / half-life) + [yours] · (own_writing_boost
    + self_query_boost when the question is about you). A question about yourself is best
    answered by what you said about yourself, not by what others wrote around it.
    """
    own = config.own_writing_boost + (config.self_query_boost if about_me(query) else 0.0)
    if not fused or not (own or config.recency_boost):
        return fused
    now = now or datetime.now(timezone.utc)
    ids = [cid for cid, _, _ in fused]
    marks = ",".join("?" * len(ids))
    rows = {r[0]: (r[1], r[2]) for r in db.execute(
        f"SELECT c.id, d.created_at, d.author_is_me FROM chunks c JOIN documents d ON d.id = c.document_id "
        f"WHERE c.id IN ({marks})", ids)}
    boosted = []
    for cid, score, stages in fused:
        created, mine = rows.get(cid, ("", 0))
        factor = 1.0 + own * bool(mine)
        age = _age_days(created, now)
        if age is not None and config.recency_boost:
            factor += config.recency_boost * 0.5 ** (age / config.recency_half_life_days)
        boosted.append((cid, score * factor, {**stages, "boost": {"factor": round(factor, 6), "rrf": round(score, 6)}}))
    return sorted(boosted, key=lambda item: -item[1])


def preference_probe(query: str) -> str | None:
    """For a question about the person, the same question framed as their likes and dislikes.

    Asked for a recommendation ("any games you'd suggest for me?"), the memory that matters
    is what the person said they like or avoid, which rarely shares the question's words or
    its request-shaped meaning; a second vector query in that frame finds it.
    """
    return f"What I like and dislike, my preferences: {query}" if about_me(query) else None


def rank(db, query: str, vector: list[tuple], text: list[tuple], k: int, config: Config,
         preference: list[tuple] = ()) -> list[tuple[int, float, dict]]:
    """Fuse the vector, text (and preference-probe) lists for `query` and apply the boosts:
    (chunk id, score, stages)."""
    weight, coverage = text_list_weight(db, query, text, config)
    depth = max(k, len(vector), len(text), len(preference))
    fused = fuse(vector, text, depth, config.rrf_k, config.vector_weight, weight,
                 preference, config.preference_query_weight)
    fused = boost(db, fused, config, query)[:k]
    fusion = {"text_weight": round(weight, 4), "text_coverage": round(coverage, 4)}
    return [(cid, score, {**stages, "fusion": fusion}) for cid, score, stages in fused]


def explain(stages: dict) -> str:
    """One line on why a hit ranked, from its `stages`: "meaning #2 (0.61) · words #1 · …"."""
    parts = []
    if "vector" in stages:
        parts.append(f"meaning #{stages['vector']['rank']} ({stages['vector']['score']:.2f})")
    if "preference" in stages:
        parts.append(f"as your likes/dislikes #{stages['preference']['rank']}")
    if "text" in stages:
        weight = stages.get("fusion", {}).get("text_weight")
        parts.append(f"words #{stages['text']['rank']}" + (f" (weight {weight:.2f})" if weight is not None else ""))
    factor = stages.get("boost", {}).get("factor", 1.0)
    if factor != 1.0:
        parts.append(f"boost ×{factor:.2f}")
    return " · ".join(parts) or "no stage recorded"


def _age_days(created: str | None, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(created or "")
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (now - when).total_seconds() / 86_400)


class Searcher:
    """Holds the binary index and int8 scale so repeated queries (the daemon, benchmarks) reuse them.

    After the store changes, `refresh()` brings the index up to date without reloading
    it: `Assistant.search` calls it before each query, and the daemon after each batch.
    """

    def __init__(self, db, embedder, config: Config | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.config = config or Config()
        self.scale = self._scale()
        self._load()

    def _load(self) -> None:
        # The mark is read first: a change committed while the codes load is applied again, harmlessly.
        self.mark = change_mark(self.db)
        self.index = BinaryIndex.from_db(self.db, self.embedder.name, int8=self._int8_fits())

    def _int8_fits(self) -> bool:
        """Whether the int8 codes stay in memory beside the binary ones (at most `INT8_IN_MEMORY`
        bytes, counted by the highest chunk id: an upper bound read in one B-tree descent). Only
        memory: an encrypted home must not gain an unencrypted copy of its embeddings on disk."""
        dim = self.scale.low.shape[0] if self.scale is not None else 0
        return int8_fits(self.db.execute("SELECT max(chunk_id) FROM vectors").fetchone()[0] or 0, dim)

    def _scale(self) -> Int8Scale | None:
        ranges = load_ranges(self.db, self.embedder.name)
        return Int8Scale(ranges) if ranges is not None else None

    def refresh(self) -> tuple[int, int]:
        """Apply the vector changes the store logged since the last look: (codes added or
        replaced, codes removed).

        The store's change log (`vector_changes`) names every chunk whose vector was written
        or removed, including chunk ids SQLite handed out again after a delete, so the index
        equals the store afterwards. Cheap when nothing changed: one indexed read of the log.
        """
        if self.scale is None:
            self.scale = self._scale()
        changed, mark = changes_since(self.db, self.mark)
        if changed is None or len(changed) > max(len(self.index), 1000):
            before = len(self.index)
            self._load()  # the log no longer reaches back far enough, or reloading is cheaper
            return len(self.index), before
        removed = self.index.remove(changed)
        if self.index.int8 is None:
            ids, codes = read_codes_of(self.db, self.embedder.name, changed)
            self.index.add(ids, codes)
        else:
            ids, codes, int8 = read_codes_of(self.db, self.embedder.name, changed, ("binary", "int8"))
            self.index.add(ids, codes, int8)
        self.mark = mark
        return len(ids), removed

    def vector_lists(self, query: str, depth: int, filters: Filters,
                     among: np.ndarray | None = None) -> tuple[list[tuple], list[tuple]]:
        """(the query's vector ranking, its preference-probe ranking: empty unless the question is
        about the person), both embedded in one batch."""
        probe = preference_probe(query) if self.config.preference_query_weight else None
        if self.scale is None or not len(self.index):
            return [], []
        vectors = self.embedder.encode_queries([query] if probe is None else [query, probe])
        rankings = [vector_ranking(self.db, self.index, self.scale, v, depth, filters, among=among) for v in vectors]
        return rankings[0], rankings[1] if probe is not None else []

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        depth = max(k * 5, 50)
        vector, preference = self.vector_lists(query, depth, filters)
        text = text_ranking(self.db, query, depth, filters)
        return self._hits(rank(self.db, query, vector, text, k, self.config, preference))

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
