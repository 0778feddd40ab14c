"""Retrieval quality on the development data: LoCoMo evidence recall and PrefEval preference recall.

Six rankers side by side over one real store (real `Indexer`, real model):
float32 exact (the float vectors kept by `CachingEmbedder`), binary Hamming only,
binary → int8 rescored, FTS5 BM25 only, RRF of rescored + BM25 at fixed weights, and the
hybrid `Searcher.search` runs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from assistant.config import Config, Identity
from assistant.core import Assistant
from assistant.embedding.quantize import binary_codes
from assistant.home import Home
from assistant.ingest.pipeline import index_paths
from assistant.retrieval.search import Filters, Searcher, fuse, preference_probe, rank, text_ranking
from benchmarks.retrieval_data import (LOCOMO_CATEGORIES, CachingEmbedder, Conversation, line_of, locomo,
                                       locomo_messages, prefeval, write_jsonl)

MODES = ("float32", "binary", "rescored", "bm25", "fixed-rrf", "hybrid")
# fixed-rrf: the two lists fused at fixed weights (1.5 : 1, the previous default), no boosts;
# hybrid: what `Searcher.search` does (text weight by coverage, the self-query boost).
DEPTH = 50  # each list is this deep, as `Searcher.search` fuses for k ≤ 10


def build_store(folder: Path, embedder, files: list[Path], config: Config) -> Assistant:
    assistant = Assistant(Home(folder / "home"), config)
    assistant.__dict__["embedder"] = embedder
    report = index_paths(assistant, files)
    assert report.failed == 0, report.problems[:3]
    return assistant


class Rankers:
    """Every ranker over one store; `among` (chunk ids) limits a ranking to part of the store."""

    def __init__(self, assistant: Assistant, embedder: CachingEmbedder) -> None:
        self.db = assistant.db
        self.config = assistant.config
        self.embedder = embedder
        self.searcher = Searcher(self.db, embedder, assistant.config)
        rows = self.db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
        self.chunk_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.floats = embedder.encode([r[1] for r in rows])

    def rank(self, question: str, among: np.ndarray | None = None) -> dict[str, list[int]]:
        q = self.embedder.encode_queries([question])[0]
        code = binary_codes(q[None, :])[0]
        index = self.searcher.index
        rows = slice(None) if among is None else np.searchsorted(self.chunk_ids, among)
        ids = self.chunk_ids[rows]
        scores = self.floats[rows] @ q
        out = {"float32": [int(i) for i in ids[np.argsort(-scores, kind="stable")[:DEPTH]]],
               "binary": [int(i) for i in index.search(code, DEPTH, among=among)[0]]}
        # The lists `Searcher.search` fuses: the query's vectors, its preference probe's, BM25.
        vector, preference = self.searcher.vector_lists(question, DEPTH, Filters(), among)
        if among is None:
            text = text_ranking(self.db, question, DEPTH, Filters())
        else:
            allowed = set(among.tolist())
            text = [t for t in text_ranking(self.db, question, len(self.chunk_ids), Filters())
                    if t[0] in allowed][:DEPTH]
        hybrid = [cid for cid, _, _ in rank(self.db, question, vector, text, DEPTH, self.config, preference)]
        out["fixed-rrf"] = [cid for cid, _, _ in fuse(vector, text, DEPTH, self.config.rrf_k, 1.5, 1.0)]
        out["rescored"] = [cid for cid, _, _ in vector]
        out["bm25"] = [cid for cid, _ in text]
        out["hybrid"] = hybrid
        return out


def labels(ranking: list[int], label_of: dict[int, str]) -> list[str]:
    """Chunk ids → document labels, best first, each document once."""
    return list(dict.fromkeys(label_of[cid] for cid in ranking if cid in label_of))


def chunk_labels(db, label_for_uri) -> dict[int, str]:
    return {cid: label_for_uri(uri) for cid, uri in db.execute(
        "SELECT c.id, d.uri FROM chunks c JOIN documents d ON d.id = c.document_id")}


@dataclass
class LocomoResult:
    recall: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # mode → category → per-question

    def add(self, mode: str, category: str, value: float) -> None:
        self.recall.setdefault(mode, {}).setdefault(category, []).append(value)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for mode, by_cat in self.recall.items():
            every = [v for values in by_cat.values() for v in values]
            out[mode] = {"overall": float(np.mean(every)), "questions": len(every),
                         **{cat: float(np.mean(values)) for cat, values in by_cat.items()}}
        return out


def evaluate_locomo_conversation(conversation: Conversation, embedder: CachingEmbedder, folder: Path,
                                 config: Config, with_context: bool, result: LocomoResult, k: int = 10) -> None:
    messages = locomo_messages(conversation, with_context)
    path = write_jsonl(folder / f"{conversation.name}.jsonl", messages)
    embedder.encode_queries([q.text for q in conversation.questions])  # one batch; the Indexer encodes the chunks
    assistant = build_store(folder, embedder, [path], config)
    dia = [t["dia_id"] for t in conversation.turns]
    label_of = chunk_labels(assistant.db, lambda uri: dia[line_of(uri) - 1])
    rankers = Rankers(assistant, embedder)
    for question in conversation.questions:
        for mode, ranking in rankers.rank(question.text).items():
            top = set(labels(ranking, label_of)[:k])
            result.add(mode, LOCOMO_CATEGORIES[question.category], len(question.evidence & top) / len(question.evidence))
    assistant.db.conn.close()


def run_locomo(root: Path, embedder: CachingEmbedder, config: Config, with_context: bool = True,
               limit: int | None = None, split: str = "all") -> dict:
    result = LocomoResult()
    conversations = locomo(root, limit, split)
    for conversation in conversations:
        with tempfile.TemporaryDirectory() as folder:
            evaluate_locomo_conversation(conversation, embedder, Path(folder), config, with_context, result)
    return {mode: {**figures, "conversations": len(conversations)} for mode, figures in result.summary().items()}


def run_prefeval(root: Path, embedder: CachingEmbedder, config: Config, topics: int | None = None,
                 split: str = "all", filler_limit: int | None = None) -> dict:
    """Each question of the `split` half's topics must find its own preference among the 632 filler messages.

    The fillers are the person's own assistant chats (as a ChatGPT export holds them): the
    `user` side is the person, so the store's identity owns the handle `user`, and the
    preference is one more message of theirs.

    One store holds the fillers (one conversation) and every preference (one
    conversation each), embedded once. Each question is then ranked among the
    fillers plus its own preference only: the other preferences are masked out of
    every stage (Hamming scan, rescoring, BM25) before fusion, which is the same
    as a store holding just the fillers and that one preference.
    """
    fillers, preferences = prefeval(root, topics, split, filler_limit)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        filler_path = write_jsonl(folder / "fillers.jsonl", fillers)
        pref_path = write_jsonl(folder / "preferences.jsonl", [
            {"conversation": f"preference-{i}", "speaker": "user", "text": p.preference,
             "timestamp": "2024-01-01T00:00:00"} for i, p in enumerate(preferences)])
        probes = [preference_probe(p.question) for p in preferences]
        embedder.encode_queries([p.question for p in preferences] + [probe for probe in probes if probe])
        config = replace(config, me=Identity(handles=["user"]))
        assistant = build_store(folder, embedder, [filler_path, pref_path], config)
        label_of = chunk_labels(assistant.db, lambda uri: f"{Path(uri.split('#')[0]).stem}:{line_of(uri) - 1}")
        filler_chunks = [cid for cid, label in label_of.items() if label.startswith("fillers:")]
        own_chunks: dict[str, list[int]] = {}
        for cid, label in label_of.items():
            own_chunks.setdefault(label, []).append(cid)
        rankers = Rankers(assistant, embedder)
        ranks: dict[str, list[int]] = {mode: [] for mode in MODES}
        for i, pref in enumerate(preferences):
            target = f"preferences:{i}"
            among = np.array(sorted(filler_chunks + own_chunks[target]), dtype=np.int64)
            for mode, ranking in rankers.rank(pref.question, among).items():
                found = labels(ranking, label_of)
                ranks[mode].append(found.index(target) + 1 if target in found else 0)
        assistant.db.conn.close()
    summary = {}
    for mode, values in ranks.items():
        r = np.array(values)
        hit = r > 0
        summary[mode] = {"R@1": float(np.mean(hit & (r <= 1))), "R@5": float(np.mean(hit & (r <= 5))),
                         "MRR": float(np.mean(np.where(hit, 1.0 / np.maximum(r, 1), 0.0))), "questions": len(r),
                         "topics": len({p.topic for p in preferences})}
    return summary
