"""Evaluation data for the retrieval benchmarks (and the LoCoMo test), written as chat JSONL.

Only the development parts of `../shared/datasets` are read: `locomo/` and PrefEval's
`explicit_preference/` and `filtered_inter_turns.json`.

Each dataset is split in two halves by a fixed seed: `tune` (where the fusion weights
in `[retrieval]` may be fitted) and `report` (where the quality tables are measured).
LoCoMo splits by conversation and PrefEval by topic file, so no conversation's turns or
topic's preferences are seen by both halves. PrefEval's filler chats are the distractors
of every question and belong to neither half.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

DATASETS_ENV = "ASSISTANT_DATASETS"
# LoCoMo's QA categories (checked against the data: 1 has the most multi-turn evidence).
LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
SPLITS = ("report", "tune", "all")
SPLIT_SEED = 14


def datasets_dir() -> Path | None:
    """`$ASSISTANT_DATASETS`, else `../shared/datasets` beside the repository; None when absent."""
    root = Path(os.environ.get(DATASETS_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
    return root if root.is_dir() else None


class CachingEmbedder:
    """Wraps an embedder so every text is encoded once per run, and its float vector kept.

    The float vectors are what the float32-exact baseline ranks by; the store keeps
    only binary and int8 codes. Questions and passages are cached apart (a model may
    prefix them differently).
    """

    def __init__(self, embedder) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.cache: dict[str, np.ndarray] = {}
        self.query_cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._cached(texts, self.cache, lambda missing: self.inner.encode(missing, batch_size=batch_size))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, self.query_cache, self.inner.encode_queries)

    def _cached(self, texts: Sequence[str], cache: dict, encode) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            for text, vector in zip(missing, encode(missing)):
                cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cache[t] for t in texts])


class Truncated:
    """A Matryoshka cut of another (cached) embedder's vectors, as `GgufEmbedder` makes them:
    one run of the model serves every width."""

    def __init__(self, full: CachingEmbedder, dims: int) -> None:
        from assistant.embedding.gguf import matryoshka

        self.full, self.dim, self._cut = full, dims, matryoshka
        self.name = f"{full.name.rpartition('/')[0]}/{dims}"

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._cut(self.full.encode(texts), self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._cut(self.full.encode_queries(texts), self.dim)


def benchmark_embedders(names: list[str], cache_dir: Path) -> dict:
    """Cached embedders by name: all-MiniLM-L6-v2 (torch), or nomic-embed-text-v1.5/DIMS, every
    width cut from one cached run of the full 768-dimensional model."""
    from assistant.embedding.embedder import NOMIC, MiniLMEmbedder

    out: dict = {}
    full = None
    for name in names:
        if name == "all-MiniLM-L6-v2":
            out[name] = CachingEmbedder(MiniLMEmbedder())
            continue
        model, _, dims = name.partition("/")
        if model != NOMIC or not dims.isdigit():
            raise SystemExit(f"unknown embedder {name!r}: use all-MiniLM-L6-v2 or {NOMIC}/768|512|256")
        if full is None:
            from assistant.embedding.gguf import NOMIC_PREFIXES, GgufEmbedder
            from assistant.embedding.nomic_assembly import model_file

            full = CachingEmbedder(GgufEmbedder(NOMIC, model_file(), 768, NOMIC_PREFIXES))
        out[name] = Truncated(full, int(dims))
    return out


def split_half(paths: Sequence[Path], split: str) -> list[Path]:
    """The files of one half, in name order: a fixed shuffle (seed `SPLIT_SEED`) of all of them by
    name, whose first half is `tune` and the rest `report`; `all` is every file."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    ordered = sorted(paths, key=lambda p: p.name)
    if split == "all":
        return ordered
    shuffled = ordered[:]
    random.Random(SPLIT_SEED).shuffle(shuffled)
    half = set(shuffled[: len(shuffled) // 2] if split == "tune" else shuffled[len(shuffled) // 2 :])
    return [p for p in ordered if p in half]


def write_jsonl(path: Path, messages: list[dict]) -> Path:
    """One chat message per line, the `chats` source's format: line N is `path#LN` in the store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for message in messages:
            handle.write(json.dumps(message, ensure_ascii=False) + "\n")
    return path


def line_of(uri: str) -> int:
    return int(uri.rsplit("#L", 1)[1])


# -- LoCoMo -------------------------------------------------------------------------------


@dataclass
class Question:
    text: str
    evidence: set[str]
    category: int


@dataclass
class Conversation:
    name: str
    turns: list[dict]  # speaker, dia_id, text, date (ISO)
    questions: list[Question]


def _session_date(value: str) -> str:
    return datetime.strptime(value.strip(), "%I:%M %p on %d %B, %Y").isoformat()


def locomo(root: Path, limit: int | None = None, split: str = "all") -> list[Conversation]:
    conversations = []
    for path in split_half(list((root / "locomo").glob("*.json")), split)[:limit]:
        data = json.loads(path.read_text(encoding="utf-8"))
        turns = []
        sessions = sorted((int(m.group(1)) for key in data if (m := re.fullmatch(r"session_(\d+)", key))))
        for number in sessions:
            date = _session_date(data[f"session_{number}_date_time"])
            for turn in data[f"session_{number}"]:
                text = turn["text"]
                if turn.get("blip_caption"):
                    text += f" [shares a photo: {turn['blip_caption']}]"
                turns.append({"speaker": turn["speaker"], "dia_id": turn["dia_id"], "text": text, "date": date})
        questions = [
            Question(qa["question"], {e.strip() for ev in qa["evidence"] for e in re.split(r"[;,]", ev) if e.strip()},
                     qa["category"])
            for qa in data["qa"] if qa["category"] in LOCOMO_CATEGORIES and qa.get("evidence")
        ]
        conversations.append(Conversation(path.stem, turns, questions))
    return conversations


def locomo_messages(conversation: Conversation, with_context: bool) -> list[dict]:
    """The turns as chat messages; `with_context` puts speaker and session date in the text itself,
    so both the embedding and BM25 see who said it and when (the questions name both)."""
    messages = []
    for turn in conversation.turns:
        text = turn["text"]
        if with_context:
            text = f"{turn['speaker']} ({turn['date'][:10]}): {text}"
        messages.append({"conversation": f"locomo-{conversation.name}", "speaker": turn["speaker"],
                         "text": text, "timestamp": turn["date"]})
    return messages


# -- PrefEval ------------------------------------------------------------------------------


@dataclass
class Preference:
    topic: str
    preference: str
    question: str


def prefeval(root: Path, topics: int | None = None, split: str = "all",
             fillers: int | None = None) -> tuple[list[dict], list[Preference]]:
    """(filler chat messages, the first `fillers` of them; explicit preferences with their questions)
    of the `split` half's topics."""
    base = root / "prefeval" / "benchmark_dataset"
    messages = []
    for conversation in json.loads((base / "filtered_inter_turns.json").read_text(encoding="utf-8")):
        for turn in conversation["conversation"]:
            messages.append({"conversation": "filler", "speaker": turn["role"], "text": turn["content"],
                             "timestamp": "2024-01-01T00:00:00"})
    preferences = []
    for path in split_half(list((base / "explicit_preference").glob("*.json")), split)[:topics]:
        for entry in json.loads(path.read_text(encoding="utf-8")):
            preferences.append(Preference(path.stem, entry["preference"], entry["question"]))
    return messages[:fillers], preferences


def base_sentences(root: Path | None, limit: int) -> list[str]:
    """Real sentences to draw synthetic chunk vectors from: LoCoMo turns, else the bundled sample."""
    if root is not None:
        texts = [t["text"] for c in locomo(root) for t in c.turns]
    else:
        from assistant.ingest.calibration import calibration_texts

        texts = calibration_texts()
    return list(dict.fromkeys(texts))[:limit]
