"""all-MiniLM-L6-v2 against nomic-embed-text-v1.5 at 768, 512 and 256 dimensions, one table.

    python -m benchmarks.embedder_compare [--locomo 2] [--topics 2] [--fillers 200]

- Quality: the hybrid search (`Searcher`'s fusion over the real store) and float32 exact
  vector search, on a subset of the development data (LoCoMo conversations; PrefEval topics
  among the first N filler messages), with the issue's goals. nomic runs once at 768
  dimensions; 512 and 256 are cut from the same vectors, as `GgufEmbedder` cuts them.
- Speed: chunks/s embedding the same real chat chunks (PrefEval filler messages chunked as
  the indexer chunks them), the two models interleaved.
- Size: stored code bytes per chunk (binary + int8) and in-memory index bytes per chunk.
Writes `benchmarks/results/embedders.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from assistant.config import Config
from assistant.embedding.embedder import NOMIC
from assistant.ingest.chunking import chunk_text
from benchmarks.retrieval_data import benchmark_embedders, datasets_dir, prefeval
from benchmarks.retrieval_quality import run_locomo, run_prefeval

RESULTS = Path(__file__).parent / "results"
NAMES = ["all-MiniLM-L6-v2", f"{NOMIC}/768", f"{NOMIC}/512", f"{NOMIC}/256"]


def throughput(embedders: dict, texts: list[str], rounds: int = 2) -> dict[str, float]:
    """Chunks/s of each model on the same texts, interleaved, best round (the machine is shared)."""
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            start = time.perf_counter()
            embedder.encode(texts)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(texts) / min(values) for name, values in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedder_compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", type=int, default=2, help="LoCoMo conversations")
    parser.add_argument("--topics", type=int, default=2, help="PrefEval topics")
    parser.add_argument("--fillers", type=int, default=200, help="PrefEval filler messages")
    parser.add_argument("--speed-chunks", type=int, default=40)
    parser.add_argument("--speed-rounds", type=int, default=2)
    args = parser.parse_args(argv)
    root = datasets_dir()
    if root is None:
        print("skipped: dataset absent (../shared/datasets or $ASSISTANT_DATASETS)")
        return 0
    embedders = benchmark_embedders(NAMES, RESULTS / "cache")
    fillers, _ = prefeval(root, 1)
    sample = [c for f in fillers for c in chunk_text(f["text"])][-args.speed_chunks:]
    words = float(np.mean([len(c.split()) for c in sample]))
    models = {"all-MiniLM-L6-v2": embedders[NAMES[0]].inner, NOMIC: embedders[NAMES[1]].full.inner}
    for model in models.values():
        model.encode(sample[:2])  # load outside the timings
    rates = throughput(models, sample, rounds=args.speed_rounds)
    out: dict = {"args": vars(args), "chunks_per_s": rates, "words_per_chunk": words,
                 "quality": {name: {} for name in embedders}}
    RESULTS.mkdir(exist_ok=True)
    # PrefEval for every embedder first, then LoCoMo: on a busy machine the first half is kept
    # (written after each step) even when the second does not finish.
    for dataset in ("prefeval", "locomo"):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            if dataset == "prefeval":
                result = run_prefeval(root, embedder, Config(), topics=args.topics, filler_limit=args.fillers)
            else:
                result = run_locomo(root, embedder, Config(), limit=args.locomo)
            out["quality"][name][dataset] = result
            print(f"{name} {dataset}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
            (RESULTS / "embedders.json").write_text(json.dumps(out, indent=1))
    print(table(out))
    print(f"\nwrote {RESULTS / 'embedders.json'}")
    return 0


def table(out: dict) -> str:
    """The markdown table; a dataset not run (yet) shows as –."""
    rows = ["| embedder | dims | PrefEval hybrid R@5 / MRR (goal ≥ 0.9 / ≥ 0.75) | PrefEval float32 R@5 / MRR "
            "| LoCoMo hybrid R@10 / multi-hop (goal ≥ 0.8 / ≥ 0.6) | LoCoMo float32 R@10 / multi-hop | chunks/s "
            "| code bytes/chunk (binary + int8) | index bytes/chunk |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, q in out["quality"].items():
        model, _, dims = name.partition("/")
        dims = int(dims or 384)
        cells = []
        for dataset, (a, b) in (("prefeval", ("R@5", "MRR")), ("locomo", ("overall", "multi-hop"))):
            for mode in ("hybrid", "float32"):
                found = q.get(dataset, {}).get(mode)
                cells.append(f"{found[a]:.3f} / {found[b]:.3f}" if found else "–")
        rate = out["chunks_per_s"][model]
        rows.append(f"| {model} | {dims} | {' | '.join(cells)} | {rate:.1f} | {dims // 8} + {dims} = "
                    f"{dims // 8 + dims} | {dims // 8 + 8} |")
    args = out["args"]
    done = next(iter(out["quality"].values()))
    counts = {d: done[d]["hybrid"]["questions"] for d in ("prefeval", "locomo") if d in done}
    rows.append(f"\n{counts.get('prefeval', 0)} PrefEval questions ({args['topics']} topic(s) among "
                f"{args['fillers']} filler messages), {counts.get('locomo', 0)} LoCoMo questions "
                f"({args['locomo']} conversation(s)); chunks/s: the same {args['speed_chunks']} real chat "
                f"chunks ({out['words_per_chunk']:.0f} words on average), best of {args['speed_rounds']}.")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
