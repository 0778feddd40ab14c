"""The onnx-int8 embedding backend against the torch float32 model, side by side in one run.

    python -m benchmarks.embedding_bench [--quick]

- Throughput: chunks/s of each backend encoding the same real sentences with the same
  batch size, interleaved (torch, onnx, torch, onnx, …), medians.
- Agreement: cosine between the two backends' vectors of the same texts.
- Quality kept: float32 exact vector retrieval on the development data with each
  backend's vectors (PrefEval R@5 and MRR, LoCoMo evidence recall@10), as onnx ÷ torch;
  the goal is ≥ 0.99.
- The default's two paths (`MiniLMEmbedder`: numpy for up to `SMALL_BATCH` texts, torch
  beyond): seconds to a query's first vector in a fresh process (imports, weights, encoding;
  not the interpreter's start), numpy ÷ torch, medians of 3 alternating; and chunks/s of
  numpy ÷ torch on the same texts (why bulk goes to torch).
Writes `benchmarks/results/embedding.json`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.embedding.embedder import MiniLMEmbedder
from assistant.embedding.numpy_minilm import NumpyMiniLMEmbedder
from assistant.embedding.onnx_int8 import OnnxInt8Embedder
from assistant.ingest.chunking import chunk_text
from benchmarks.retrieval_data import datasets_dir, locomo, locomo_messages, prefeval

RESULTS = Path(__file__).parent / "results"


def throughput(embedders: dict, texts: list[str], rounds: int) -> dict[str, float]:
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            start = time.perf_counter()
            embedder.encode(texts, batch_size=64)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(texts) / float(np.median(values)) for name, values in seconds.items()}


def first_vector_seconds(torch: bool) -> float:
    """A fresh process: import the default embedder and embed one query, through torch or numpy."""
    code = ("import time; started = time.perf_counter(); from assistant.embedding.embedder import MiniLMEmbedder; "
            f"e = MiniLMEmbedder(); {'e._load(); ' if torch else ''}e.encode(['where is the alder budget?']); "
            "print(time.perf_counter() - started)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(run.stdout.strip().splitlines()[-1])


def prefeval_quality(embedder, root: Path, topics: int | None) -> dict[str, float]:
    fillers, preferences = prefeval(root, topics)
    chunks = [c for f in fillers for c in chunk_text(f["text"])]
    filler_vectors = embedder.encode(chunks)
    pref_vectors = embedder.encode([p.preference for p in preferences])
    questions = embedder.encode([p.question for p in preferences])
    ranks = []
    for pref, question in zip(pref_vectors, questions):
        ranks.append(1 + int(np.sum(filler_vectors @ question > pref @ question)))
    r = np.array(ranks)
    return {"R@5": float(np.mean(r <= 5)), "MRR": float(np.mean(1.0 / r))}


def locomo_quality(embedder, root: Path, limit: int | None) -> dict[str, float]:
    recalls = []
    for conversation in locomo(root, limit):
        vectors = embedder.encode([m["text"] for m in locomo_messages(conversation, True)])
        dia = [t["dia_id"] for t in conversation.turns]
        questions = embedder.encode([q.text for q in conversation.questions])
        for question, q in zip(conversation.questions, questions):
            top = {dia[i] for i in np.argsort(-(vectors @ q))[:10]}
            recalls.append(len(question.evidence & top) / len(question.evidence))
    return {"recall@10": float(np.mean(recalls))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer texts, 4 PrefEval topics, 2 LoCoMo conversations")
    args = parser.parse_args(argv)
    root = datasets_dir()
    if root is None:
        print("skipped: dataset absent (../shared/datasets or $ASSISTANT_DATASETS)")
        return 0
    with tempfile.TemporaryDirectory() as cache:
        embedders = {"torch": MiniLMEmbedder(), "onnx-int8": OnnxInt8Embedder(Path(cache))}
        texts = [m["text"] for m in locomo_messages(locomo(root, 1)[0], True)][: 300 if args.quick else 1200]
        for embedder in embedders.values():
            embedder.encode(texts[:64])  # load (and export the ONNX file) outside the timings
        rates = throughput(embedders, texts, rounds=2 if args.quick else 3)
        numpy_rates = throughput({"numpy": NumpyMiniLMEmbedder(), "torch": embedders["torch"]}, texts[:128], rounds=2)
        starts: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3):
            for torch in (False, True):
                starts[torch].append(first_vector_seconds(torch))
        first = {"numpy": statistics.median(starts[False]), "torch": statistics.median(starts[True])}
        cosines = np.sum(embedders["torch"].encode(texts) * embedders["onnx-int8"].encode(texts), axis=1)
        quality = {name: {**prefeval_quality(e, root, 4 if args.quick else None),
                          **locomo_quality(e, root, 2 if args.quick else None)} for name, e in embedders.items()}
    rows = [("chunks/s torch / onnx-int8", f"{rates['torch']:.0f} / {rates['onnx-int8']:.0f}", "", ""),
            ("onnx-int8 ÷ torch throughput", f"{rates['onnx-int8'] / rates['torch']:.2f}", "", ""),
            ("cosine onnx-int8 vs torch: mean / min", f"{cosines.mean():.4f} / {cosines.min():.4f}", "", ""),
            (f"first query vector in a fresh process, numpy ÷ torch ({first['numpy']:.2f} s ÷ {first['torch']:.2f} s)",
             f"{first['numpy'] / first['torch']:.2f}", "", ""),
            (f"chunks/s numpy ÷ torch ({numpy_rates['numpy']:.1f} ÷ {numpy_rates['torch']:.1f}, 128 chunks)",
             f"{numpy_rates['numpy'] / numpy_rates['torch']:.2f}", "", "")]
    for metric in ("R@5", "MRR", "recall@10"):
        dataset = "LoCoMo" if metric == "recall@10" else "PrefEval"
        t, o = quality["torch"][metric], quality["onnx-int8"][metric]
        rows.append((f"{dataset} float32 exact {metric}: torch / onnx-int8 (ratio)", f"{t:.3f} / {o:.3f} ({o / t:.3f})",
                     "≥ 0.99", "PASS" if o / t >= 0.99 else "FAIL"))
    print("| metric | value | goal | result |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    RESULTS.mkdir(exist_ok=True)
    out = {"throughput": rates, "numpy_throughput": numpy_rates, "first_vector_s": first, "cosine": {"mean": float(cosines.mean()), "min": float(cosines.min())},
           "quality": quality}
    (RESULTS / "embedding.json").write_text(json.dumps(out, indent=2))
    print(f"wrote {RESULTS / 'embedding.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
