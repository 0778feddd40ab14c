"""Encryption at rest, measured: `python -m benchmarks.encryption_bench [--copies 10 --repeats 2]`.

The same corpus (the sample person, `--copies` times, each copy's text made distinct) is indexed
into a plain SQLite store and into an SQLCipher one (passphrase key), in the same run with the
same loaded embedding model, the order alternating between repeats. Reported, encrypted ÷ plain:

- indexing throughput, chunks per second of `index` (best of the repeats; goal ≥ 0.9);
- search latency, the median of `Assistant.search` over the queries, each asked of both
  stores in turn (goal ≤ 1.2);
- for scale, the store's part alone: a full-text query reading 20 chunks' text (no goal).

Prints a table and writes JSON to benchmarks/results/encryption.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from importlib.resources import files
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "encryption.json"
SAMPLE = Path(str(files("assistant") / "sample"))
QUERIES = [
    "alder street park budget", "what did Sam say about the budget", "kitchen cabinet quote",
    "Portuguese lessons on Tuesday", "Meera's visit in August", "courtyard ideas from Marcus",
    "the completeness review", "plants from Greenleaf", "barbecue at Ollie's", "books to read next",
    "mailbox verification", "new year wishes", "first walkthrough of the site", "availability of trees",
    "kickoff of the Alder project", "what did I promise Sam", "renovation timeline", "the lease",
    "when is the BBQ", "which trees to order",
]

FULL_TEXT = ("SELECT c.id, c.text FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
             "WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT 20")


def _match(query: str) -> str:
    """Any of the query's words, each quoted (FTS5 syntax)."""
    return " OR ".join(f'"{word}"' for word in query.replace("'", " ").split())


def make_corpus(target: Path, copies: int) -> Path:
    """`copies` copies of the sample, each file's text ending in a line of its own copy number."""
    for n in range(copies):
        copy = target / f"copy-{n:03d}"
        shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("README.md"))
        for path in copy.rglob("*"):
            if path.suffix in (".md", ".txt", ".eml"):
                path.write_text(path.read_text(encoding="utf-8") + f"\nCopy {n} of the sample, kept for the record.\n",
                                encoding="utf-8")
    return target


def make_assistant(root: Path, embedder, encrypted: bool):
    from assistant.config import Config, Identity, write_config
    from assistant.core import Assistant
    from assistant.home import Home

    home = Home(root).ensure()
    write_config(home, Identity(["Priya Nandakumar"], ["priya@fernhill.example"], ["priya"]))
    if encrypted:
        from assistant.store.encryption import encrypt_store

        encrypt_store(home.db_path, "passphrase")
    assistant = Assistant(home, Config.load(home))
    if embedder is not None:
        assistant.__dict__["embedder"] = embedder
    return assistant


def index_once(root: Path, corpus: Path, embedder, encrypted: bool):
    from assistant.ingest.pipeline import index_paths

    shutil.rmtree(root, ignore_errors=True)
    assistant = make_assistant(root, embedder, encrypted)
    embedder = assistant.embedder  # loaded before the clock starts
    embedder.encode(["warm up"])
    started = time.perf_counter()
    report = index_paths(assistant, [corpus])
    seconds = time.perf_counter() - started
    assert report.failed == 0, report.problems
    chunks = assistant.db["chunks"].count
    return assistant, chunks, seconds


def main(argv: list[str] | None = None) -> dict:
    from assistant.store.keys import PASSPHRASE_ENV

    parser = argparse.ArgumentParser(prog="python -m benchmarks.encryption_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--search-rounds", type=int, default=5, help="times each query is asked of each store")
    args = parser.parse_args(argv)
    os.environ.setdefault(PASSPHRASE_ENV, "benchmark passphrase, not a secret")
    work = Path(tempfile.mkdtemp(prefix="encryption-bench-"))
    try:
        corpus = make_corpus(work / "corpus", args.copies)
        rates: dict[bool, list[float]] = {False: [], True: []}
        assistants, chunks, embedder = {}, 0, None
        for r in range(args.repeats):
            for encrypted in ((False, True) if r % 2 == 0 else (True, False)):
                assistant, chunks, seconds = index_once(work / f"home-{int(encrypted)}", corpus, embedder, encrypted)
                embedder = assistant.embedder
                rates[encrypted].append(chunks / seconds)
                assistants[encrypted] = assistant
        latency: dict[bool, list[float]] = {False: [], True: []}
        store_only: dict[bool, list[float]] = {False: [], True: []}
        for query in QUERIES:
            for encrypted in (False, True):
                assistants[encrypted].search(query, k=5)  # warm: the index loaded, the pages cached
        for _ in range(args.search_rounds):
            for query in QUERIES:
                for encrypted in (False, True):
                    started = time.perf_counter()
                    assistants[encrypted].search(query, k=5)
                    latency[encrypted].append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    assistants[encrypted].db.execute(FULL_TEXT, [_match(query)]).fetchall()
                    store_only[encrypted].append((time.perf_counter() - started) * 1000)
        sizes = {enc: (work / f"home-{int(enc)}" / "profile.db").stat().st_size for enc in (False, True)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    index_ratio = max(rates[True]) / max(rates[False])
    store_ratio = statistics.median(store_only[True]) / statistics.median(store_only[False])
    search_ratio = statistics.median(latency[True]) / statistics.median(latency[False])
    result = {
        "copies": args.copies, "chunks": chunks, "repeats": args.repeats,
        "index_chunks_per_s": {"plain": max(rates[False]), "encrypted": max(rates[True])},
        "search_median_ms": {"plain": statistics.median(latency[False]),
                             "encrypted": statistics.median(latency[True])},
        "store_query_median_ms": {"plain": statistics.median(store_only[False]),
                                  "encrypted": statistics.median(store_only[True])},
        "store_bytes": {"plain": sizes[False], "encrypted": sizes[True]},
        "index_ratio": index_ratio, "search_ratio": search_ratio, "store_query_ratio": store_ratio,
    }
    rows = [
        ("indexing, chunks/s", result["index_chunks_per_s"], index_ratio, "≥ 0.9", index_ratio >= 0.9),
        ("search, median ms", result["search_median_ms"], search_ratio, "≤ 1.2", search_ratio <= 1.2),
        ("store only: full-text query + 20 texts, median ms", result["store_query_median_ms"], store_ratio, "", None),
    ]
    print(f"{chunks} chunks ({args.copies} copies of the sample), {args.repeats} repeats\n")
    print("| measure | plain | encrypted | encrypted ÷ plain | goal | result |\n|---|---|---|---|---|---|")
    for name, values, ratio, goal, ok in rows:
        shown = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"| {name} | {values['plain']:.2f} | {values['encrypted']:.2f} | {ratio:.3f} | {goal} | {shown} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
