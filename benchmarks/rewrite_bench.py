"""`rewrite --neutral`: how often a stylometric classifier still attributes the text to the person.

Held-out protocol: some of the sample person's (Priya's) sent emails are taken out of the
corpus; the rest is indexed (her style profile comes from those). A classifier is trained
on her remaining emails against four other writers (the Enron dev senders in
`../shared/datasets/panza_enron`, 40 emails each by a fixed seed), then asked of each
held-out email: as she wrote it; with only the deterministic part of --neutral applied
(`strip_fingerprint`: greeting, sign-off, name, punctuation habits); and as `rewrite
--neutral` returns it. Other writers' held-out emails (Enron and her inbox) show the
classifier's false-positive rate. Content kept: the share of the original's content
words (4+ letters, not stopwords) still in the rewrite, so a rewrite that drops the
message scores low there.

The classifier is this benchmark's own, written to avoid waiting for the shared one
(`assistant/profile/stylometry.py`, in progress on another branch): a text-distortion
stylometric model (Stamatatos 2017): every word outside a fixed list of function words and
greeting/closing words becomes asterisks of its length, so topic words cannot identify
the writer but punctuation, function words, greetings and sign-offs, line and sentence
shapes can; then character 2-4-grams, TF-IDF, logistic regression with balanced classes.

    python -m benchmarks.rewrite_bench [--held-out 8] [--model qwen2.5-coder-1.5b-instruct]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from assistant.config import Config, update_config, write_config
from assistant.core import Assistant
from assistant.home import Home
from assistant.ingest.pipeline import index_paths
from assistant.profile.style import body_lines
from assistant_plugins.mail.parse import message_items
from assistant_plugins.rewrite import rewrite, strip_fingerprint
from benchmarks.draft_bench import PRIYA, held_out_requests
from benchmarks.retrieval_data import datasets_dir

RESULTS = Path(__file__).parent / "results"
SENDERS = ("jeff_johnson", "kay_brown", "shackleton_sara", "tana_williams")
GREETING_WORDS = frozenset("hi hiya hey hello dear morning thanks thank cheers regards best onwards sincerely "
                           "warmly love yours kind".split())
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def distort(text: str, keep: frozenset) -> str:
    """Words outside `keep` become asterisks of their length: what is left is style, not topic."""
    return _WORD.sub(lambda m: m[0] if m[0].lower() in keep else "*" * len(m[0]), text)


def enron(root: Path, sender: str, count: int, rng: random.Random) -> list[str]:
    rows = [json.loads(line)["email"] for line in (root / f"{sender}_clean.jsonl").read_text().splitlines()]
    rows = [r for r in rows if 20 <= len(r.split()) <= 250]
    return rng.sample(rows, count)


def content_kept(original: str, rewritten: str) -> float:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = {w.lower() for w in _WORD.findall(original) if len(w) >= 4 and w.lower() not in ENGLISH_STOP_WORDS}
    found = {w.lower() for w in _WORD.findall(rewritten)}
    return len(words & found) / len(words) if words else 1.0


def train(mine: list[str], others: list[str]):
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    keep = frozenset(ENGLISH_STOP_WORDS) | GREETING_WORDS
    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
                          LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0))
    # Each email also without its greeting and sign-off, so the body's style is learned too,
    # not only the two lines that are easiest to remove.
    texts = mine + others + [body_lines(t) for t in mine + others]
    labels = ([1] * len(mine) + [0] * len(others)) * 2
    model.fit([distort(t, keep) for t in texts], labels)
    return lambda texts: [int(p) for p in model.predict([distort(t, keep) for t in texts])]


def share(flags: list[int]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out", type=int, default=8)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--max-tokens", type=int, default=220)
    args = parser.parse_args()
    root = datasets_dir()
    if root is None:
        raise SystemExit("needs ../shared/datasets/panza_enron (or $ASSISTANT_DATASETS)")

    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="rewrite-bench-"))
    corpus = work / "priya"
    shutil.copytree(Path(str(files("assistant") / "sample")), corpus)
    held = held_out_requests(corpus / "mail" / "sent", args.held_out)
    for item in held:
        item["path"].unlink()
    mine = [message_items(p.read_bytes(), str(p), PRIYA)[0].text for p in sorted((corpus / "mail" / "sent").glob("*.eml"))]
    inbox = [message_items(p.read_bytes(), str(p), PRIYA)[0].text for p in sorted((corpus / "mail" / "inbox").glob("*.eml"))]
    others_train, others_test = [], []
    for sender in SENDERS:
        texts = enron(root / "panza_enron", sender, 50, rng)
        others_train += texts[:40]
        others_test += texts[40:]
    attributed = train(mine, others_train)

    home = Home(work / "home")
    write_config(home, PRIYA)
    index_paths(Assistant(home), [corpus])
    update_config(home, lambda doc: doc["models"].__setitem__("generator", args.model))
    assistant = Assistant(home, Config.load(home))

    originals = [item["real"] for item in held]
    stripped = [strip_fingerprint(text, PRIYA.names)[0] for text in originals]
    neutral, seconds = [], []
    for text in originals:
        started = time.perf_counter()
        neutral.append(rewrite(assistant, text, neutral=True, max_tokens=args.max_tokens).text)
        seconds.append(time.perf_counter() - started)
        print(f"rewrite {len(neutral)}/{len(originals)}: {seconds[-1]:.0f} s, attributed {attributed(neutral[-1:])[0]}, "
              f"kept {content_kept(text, neutral[-1]):.2f}", flush=True)

    rows = [
        ("her emails, as written", share(attributed(originals)), 1.0),
        ("strip_fingerprint only (no model)", share(attributed(stripped)),
         sum(map(content_kept, originals, stripped)) / len(originals)),
        (f"rewrite --neutral ({args.model})", share(attributed(neutral)),
         sum(map(content_kept, originals, neutral)) / len(originals)),
        ("other writers' held-out emails (false positives)", share(attributed(others_test + inbox)), None),
    ]
    print(f"| text ({len(originals)} of Priya's held-out emails) | attributed to Priya | content words kept |")
    print("|---|---|---|")
    for name, rate, kept in rows:
        print(f"| {name} | {rate:.2f} | {'' if kept is None else f'{kept:.2f}'} |")
    print(f"\nmedian {sorted(seconds)[len(seconds) // 2]:.1f} s per rewrite; classifier: text distortion + char "
          f"2-4-grams, {len(mine)} of hers vs {len(others_train)} Enron emails ({', '.join(SENDERS)}).")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rewrite.json").write_text(json.dumps({
        "rows": [{"text": n, "attributed": r, "content_kept": k} for n, r, k in rows],
        "examples": [{"original": o, "neutral": n} for o, n in zip(originals[:3], neutral[:3])],
        "seconds": seconds, "model": args.model}, indent=2, ensure_ascii=False))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
