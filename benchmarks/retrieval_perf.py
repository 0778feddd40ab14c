"""Vector search at 10k–1M chunks, index memory, and indexing throughput.

Synthetic chunk vectors follow the real model's distribution: real sentences are
embedded with all-MiniLM-L6-v2, then each synthetic vector is one of them, plus a
random share of another (so a million vectors are not a few thousand tight clusters
of near-ties, which no sign-bit code can order) plus gaussian noise, renormalised. Held-out queries are fresh perturbations of the same
sentences and real questions. Ground truth is the float32 exact top-k.

The codes live where the product keeps them: binary in the in-process `BinaryIndex`,
int8 in a real SQLite store (the `vectors` table), read only for the shortlist.
`previous_ranking` is the in-memory rescoring stage as it was before whole-row `take` gathers
and einsum sums, timed in the same run as the reference for the change.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.config import Config
from assistant.embedding.quantize import Int8Scale, binary_codes, calibrate, int8_codes
from assistant.retrieval.binary_index import _BYTE_BITS, BinaryIndex, _byte_offsets
from assistant.retrieval.search import Filters, hamming_size, int8_fits, shortlist_size, vector_ranking
from assistant.store import connect

NOISE = 0.02  # per-dimension σ; a unit 384-d vector has ≈0.05 per dimension
BLOCK = 100_000
DEPTH = 50  # what `Searcher.search` asks the vector stage for at k = 10
RECALL_KS = (1, 5, 10, 20, 50)
MODEL = "synthetic"


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        mix = rng.uniform(0, 1, (m, 1)).astype(np.float32)
        block = (base[rng.integers(0, len(base), m)] + mix * base[rng.integers(0, len(base), m)]
                 + rng.standard_normal((m, base.shape[1]), dtype=np.float32) * NOISE)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def write_store(path: Path, ids: np.ndarray, binary: np.ndarray, int8: np.ndarray):
    """The real store schema; only the `vectors` table is filled (no chunk rows, so FK checks are off)."""
    db = connect(path)
    db.execute("PRAGMA foreign_keys = OFF")
    with db.conn:
        db.conn.executemany(
            "INSERT INTO vectors (chunk_id, model, binary, int8) VALUES (?, ?, ?, ?)",
            ((int(i), MODEL, b.tobytes(), c.tobytes()) for i, b, c in zip(ids, binary, int8)),
        )
    return db


def previous_ranking(index: BinaryIndex, scale: Int8Scale, query: np.ndarray, n: int,
                     shortlist: int) -> list[tuple[int, float, int]]:
    """The unfiltered in-memory vector stage as it was: both gathers by fancy indexing in row
    order (an argsort each), the sign-bit scores summed with `.sum(axis=1)`."""
    rows, dist = index.search_rows(binary_codes(query[None, :])[0], hamming_size(shortlist))
    order = np.argsort(rows)
    codes = index.codes[rows[order]]
    table = (_BYTE_BITS @ query.reshape(-1, 8).T).T.ravel()
    scores = np.empty(len(rows), dtype=np.float32)
    scores[order] = np.take(table, codes + _byte_offsets(codes.shape[1])).sum(axis=1)
    keep = np.sort(np.argpartition(-scores, shortlist - 1)[:shortlist])
    rows, dist = rows[keep], dist[keep]
    order = np.argsort(rows)
    scores = np.empty(len(rows), dtype=np.float32)
    scores[order] = scale.scores(query, index.int8[rows[order]])
    return [(int(index.ids[rows[i]]), float(scores[i]), int(dist[i])) for i in np.argsort(-scores, kind="stable")[:n]]


def timed(fn: Callable, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def stats(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Float32 exact top-k row numbers per query, best first."""
    scores = queries @ vectors.T
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def recall(found: list[int], truth: np.ndarray) -> float:
    return len(set(found) & set(truth.tolist())) / len(truth)


def run_size(n: int, base: np.ndarray, queries: np.ndarray, rng: np.random.Generator, folder: Path,
             timing_queries: int, float_queries: int, recall_curve: bool, held_out: int) -> dict:
    """`queries[:held_out]` are synthetic perturbations, the rest real questions."""
    import faiss

    vectors = synthetic(base, n, rng)
    ranges = calibrate(vectors[:10_000])  # a store calibrates on its first batch
    scale = Int8Scale(ranges)
    binary, int8 = binary_codes(vectors), int8_codes(vectors, ranges)
    ids = np.arange(1, n + 1, dtype=np.int64)  # chunk ids; row r is chunk r + 1
    path = folder / f"store-{n}.db"
    db = write_store(path, ids, binary, int8)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store_bytes = os.path.getsize(path)
    # As `Searcher` loads it: the int8 codes in memory when they fit, else read from the store.
    index = BinaryIndex(ids, binary, model=MODEL, int8=int8 if int8_fits(n, int8.shape[1]) else None)
    from_store = BinaryIndex(ids, binary, model=MODEL)
    faiss.omp_set_num_threads(1)  # one query, one thread, as `hamming_knn` runs it
    flat = faiss.IndexBinaryFlat(binary.shape[1] * 8)  # faiss' default: a heap per query
    flat.add(binary)
    counting = faiss.IndexBinaryFlat(binary.shape[1] * 8)
    counting.use_heap = False  # its counting kernel, the one `BinaryIndex` uses for wide lists
    counting.add(binary)
    shortlist = shortlist_size(DEPTH)
    wide = hamming_size(shortlist)  # the Hamming list both engines are asked for
    words = binary.view(np.uint64)
    nothing = Filters()

    methods: dict[str, Callable] = {
        "read codes once": lambda q: words.sum(),
        "faiss IndexBinaryFlat": lambda q: flat.search(binary_codes(q[None, :]), wide),
        "faiss IndexBinaryFlat counting": lambda q: counting.search(binary_codes(q[None, :]), wide),
        "faiss IndexBinaryFlat k=100": lambda q: flat.search(binary_codes(q[None, :]), 100),
        # The vector stage as `vector_ranking` runs it: row numbers, as faiss returns its own;
        # chunk ids are looked up only for the final results.
        "BinaryIndex": lambda q: index.search_rows(binary_codes(q[None, :])[0], wide),
        "BinaryIndex.search (with chunk ids)": lambda q: index.search(binary_codes(q[None, :])[0], wide),
        "BinaryIndex + int8 rescoring": lambda q: vector_ranking(db, index, scale, q, DEPTH, nothing, shortlist),
        "+ int8 rescoring from the store":
            lambda q: vector_ranking(db, from_store, scale, q, DEPTH, nothing, shortlist),
        "previous in-memory rescoring": lambda q: previous_ranking(index, scale, q, DEPTH, shortlist),
    }
    if index.int8 is None:  # a store too large to hold its int8 codes: there was no in-memory path
        del methods["previous in-memory rescoring"]
    times: dict[str, list[float]] = {name: [] for name in [*methods, "float32 numpy scan"]}
    # CPU seconds of this thread, beside wall time: on a shared machine a query that spans more
    # time slices waits more, whatever its own work (every method here runs in this thread).
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    for i, q in enumerate(queries[:timing_queries]):  # interleaved, so load from others hits all alike
        for name, fn in methods.items():
            start = time.thread_time()
            times[name].append(timed(fn, q))
            cpu[name].append(time.thread_time() - start)
        if i < float_queries:
            times["float32 numpy scan"].append(timed(lambda v: np.argpartition(-(vectors @ v), 10)[:10], q))
    latency = {name: stats(values) for name, values in times.items()}
    cpu_ms = {name: stats(values) for name, values in cpu.items()}

    truth = top_k(vectors, queries, max(RECALL_KS))
    rescored = [[cid - 1 for cid, _, _ in vector_ranking(db, index, scale, q, DEPTH, nothing)] for q in queries]
    binary_only = [(index.search(binary_codes(q[None, :])[0], DEPTH)[0] - 1).tolist() for q in queries]
    result = {
        "size": n,
        "shortlist": shortlist,
        "hamming_k": wide,
        "latency_ms": latency,
        "cpu_ms": cpu_ms,
        "recall@10": {
            "float32": 1.0,
            "binary": float(np.mean([recall(b[:10], t[:10]) for b, t in zip(binary_only, truth)])),
            "rescored": float(np.mean([recall(r[:10], t[:10]) for r, t in zip(rescored, truth)])),
        },
        "rescored_recall@10_by_queries": {
            "synthetic": float(np.mean([recall(r[:10], t[:10]) for r, t in zip(rescored[:held_out], truth)])),
            "real questions": float(np.mean([recall(r[:10], t[:10])
                                             for r, t in zip(rescored[held_out:], truth[held_out:])])),
        },
        "index_bytes_per_chunk": index.nbytes / n,
        "int8_in_memory_bytes_per_chunk": index.int8_nbytes / n,
        "store_bytes_per_chunk": store_bytes / n,
    }
    if recall_curve:
        result["recall_at_k"] = {
            "binary": {k: float(np.mean([recall(b[:k], t[:k]) for b, t in zip(binary_only, truth)])) for k in RECALL_KS},
            "rescored": {k: float(np.mean([recall(r[:k], t[:k]) for r, t in zip(rescored, truth)])) for k in RECALL_KS},
        }
        result["recall@10_by_shortlist"] = {
            s: float(np.mean([recall([cid - 1 for cid, _, _ in vector_ranking(db, index, scale, q, 10, nothing, s)],
                                     t[:10]) for q, t in zip(queries, truth)]))
            for s in (50, 100, 200, 400, 800)
        }
    db.conn.close()
    return result


def run_scale(sizes: list[int], base: np.ndarray, real_queries: np.ndarray, held_out: int = 200,
              timing_queries: int = 200, float_queries: int = 30, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    queries = np.concatenate([synthetic(base, held_out, rng), real_queries]).astype(np.float32)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            results.append(run_size(n, base, queries, rng, Path(folder), timing_queries, float_queries,
                                    recall_curve=n == max(sizes), held_out=held_out))
    return results


class _TimedEmbedder:
    """Counts the seconds an embedder spends in `encode`, to split the Indexer's time."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim, self.seconds = inner, inner.name, inner.dim, 0.0

    def encode(self, texts, batch_size: int = 64):
        start = time.perf_counter()
        try:
            return self.inner.encode(texts, batch_size=batch_size)
        finally:
            self.seconds += time.perf_counter() - start


def indexing_throughput(texts: list[str], embedder, rounds: int = 2) -> dict:
    """Chunks/s through the real `Indexer` (chat JSONL → stored, searchable chunks) vs raw `encode`
    of the same chunk texts with the same batch size: raw, indexer, raw, … (medians), and the
    share of the Indexer's own time spent inside `encode` (the same-run view, free of load swings)."""
    from assistant.core import Assistant
    from assistant.home import Home
    from assistant.ingest.pipeline import index_paths
    from benchmarks.retrieval_data import write_jsonl

    messages = [{"conversation": "bench", "speaker": "someone", "text": t, "timestamp": "2024-01-01T00:00:00"}
                for t in texts]
    timed_embedder = _TimedEmbedder(embedder)

    def index_once(folder: Path) -> tuple[float, list[str]]:
        assistant = Assistant(Home(folder / "home"), Config())
        assistant.__dict__["embedder"] = timed_embedder
        path = write_jsonl(folder / "chat.jsonl", messages)
        start = time.perf_counter()
        report = index_paths(assistant, [path])
        seconds = time.perf_counter() - start
        chunks = [r[0] for r in assistant.db.execute("SELECT text FROM chunks")]
        assert report.chunks == len(chunks) and report.embedded == len(set(chunks))
        assistant.db.conn.close()
        return seconds, chunks

    with tempfile.TemporaryDirectory() as folder:
        _, chunks = index_once(Path(folder) / "warm-up")  # and the exact chunk texts the pipeline embeds
        unique = sorted(set(chunks))
        raw = [timed(lambda t: embedder.encode(t, batch_size=64), unique)]
        indexed = []
        for round_ in range(rounds):
            timed_embedder.seconds = 0.0
            indexed.append(index_once(Path(folder) / f"round-{round_}")[0])
            raw.append(timed(lambda t: embedder.encode(t, batch_size=64), unique))
    raw_rate = len(unique) / float(np.median(raw))
    index_rate = len(chunks) / float(np.median(indexed))
    return {"chunks": len(chunks), "raw_chunks_per_s": raw_rate, "indexer_chunks_per_s": index_rate,
            "ratio": index_rate / raw_rate, "encode_share_of_indexer": timed_embedder.seconds / indexed[-1]}
