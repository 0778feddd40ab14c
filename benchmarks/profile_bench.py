"""The stored style profile: refresh cost, what `draft` spends on style, and whether it captures a voice.

    python -m benchmarks.profile_bench [--emails 5000] [--split 0.7] [--skip-quality]

Speed, on a store of `--emails` Enron emails (the four dev senders' sent mail, cycled;
tana_williams is the person, the others are mail she received, each addressed to one of
30 correspondents). The vectors there come from a seeded random embedder, not the model:
the refresh only reads stored codes, so their values do not change its cost.
- refresh after one new email ÷ full rebuild (goal ≤ 0.05), for one she sent and one she received;
- the style `draft` gets (refresh check + stored profile + notes) ÷ today's per-call
  recomputation (`learn_style` as of commit 5320e96, read from git).

Quality, per dev sender (train/test split of their emails, seeded): a store per sender
holding their train emails, embedded with the real model; a nearest-centroid stylometric
classifier (`assistant.profile.stylometry`) fed only each sender's stored profile and
exemplars attributes the held-out emails of all four; beside it the same classifier on
the raw train text. Writes benchmarks/results/profile.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from assistant.config import Identity, write_config
from assistant.core import Assistant
from assistant.home import Home
from assistant.ingest.pipeline import Indexer
from assistant.profile.exemplars import exemplar_set
from assistant.profile.refresh import refresh_style
from assistant.profile.style import stored_style
from assistant.profile.stylometry import Stylometer
from assistant.sources import Item
from benchmarks.retrieval_data import datasets_dir

SENDERS = ("jeff_johnson", "kay_brown", "shackleton_sara", "tana_williams")  # the dev senders (datasets README)
PERSON = "tana_williams"
BEFORE = "5320e96"  # the commit whose `learn_style` recomputed the style on every draft
RESULTS = Path(__file__).parent / "results"
STYLE_TABLES = ("style_features", "style_counts", "style_grams", "style_dirty", "style_profile",
                "style_exemplars", "style_centroids")


def load_emails(root: Path) -> dict[str, list[str]]:
    folder = root / "panza_enron"
    return {s: [json.loads(line)["email"] for line in (folder / f"{s}_clean.jsonl").open() if line.strip()]
            for s in SENDERS}


def address(sender: str) -> str:
    return f"{sender.replace('_', '.')}@enron.example"


class RandomEmbedder:
    """Seeded random unit vectors, one per distinct text: the store's codes without the model's cost."""

    name = "bench-random-384"
    dim = 384

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(self.dim) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


class _Source:
    name = "bench-mail"
    kind = "mail"


def make_home(work: Path, person: str) -> Home:
    home = Home(work / f"home-{person}")
    write_config(home, Identity(names=[person.replace("_", " ").title()], emails=[address(person)], handles=[]))
    return home


def email_item(n: int, sender: str, text: str, person: str) -> Item:
    return Item(uri=f"bench://{n}", text=text, kind="mail", author_is_me=sender == person, title=f"email {n}",
                author=f"{sender.replace('_', ' ').title()} <{address(sender)}>",
                recipients=[f"person{zlib.crc32(text.encode()) % 30}@corp.example"],
                created_at=f"2001-01-01T00:00:{n:05d}", meta={"from": address(sender)})


def store(assistant: Assistant, items: list[Item]) -> None:
    report = Indexer(assistant).store_items(_Source(), "bench://mail", items)
    assert report.failed == 0, report.problems


def clear_style(db) -> None:
    with db.conn:
        for table in STYLE_TABLES:
            db.execute(f"DELETE FROM {table}")


def old_learn_style():
    """`learn_style` exactly as it was before the stored profile, from git."""
    repo = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{BEFORE}:assistant/profile/style.py"], cwd=repo, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "style_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("style_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.learn_style


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def speed(emails: dict[str, list[str]], size: int, work: Path) -> dict:
    cycle = [(s, t) for i in range(max(map(len, emails.values()))) for s in SENDERS
             if i < len(emails[s]) for t in [emails[s][i]]]
    items = [email_item(n, *cycle[n % len(cycle)], PERSON) for n in range(size)]
    assistant = Assistant(make_home(work, "speed"))
    assistant.__dict__["embedder"] = RandomEmbedder()
    store(assistant, items)
    db = assistant.db
    mine = db.execute("SELECT count(*) FROM documents WHERE author_is_me = 1").fetchone()[0]
    full = []
    for _ in range(2):
        clear_style(db)
        full.append(timed(lambda: refresh_style(db)))
    rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in STYLE_TABLES}
    stored_bytes = db.execute("SELECT sum(length(counts) + length(grams)) FROM style_features").fetchone()[0]
    one = {}
    for label, sender in (("sent", PERSON), ("received", "jeff_johnson")):
        times = []
        for k in range(5):
            text = emails[sender][k] + f"\n\nP.S. {label} note {k}."
            store(assistant, [email_item(size + len(one) * 10 + k, sender, text, PERSON)])
            times.append(timed(lambda: refresh_style(db)))
        one[label] = statistics.median(times)

    learn_style = old_learn_style()
    stored_times, old_times = [], []
    for _ in range(5):
        stored_times.append(timed(lambda: (refresh_style(db), stored_style(db).notes("person3"))))
        old_times.append(timed(lambda: learn_style(db).notes("person3")))
    return {"emails": size + 10, "mine": mine, "full_rebuild_s": min(full),
            "refresh_after_sent_s": one["sent"], "refresh_after_received_s": one["received"],
            "ratio_sent": one["sent"] / min(full), "ratio_received": one["received"] / min(full),
            "draft_style_stored_s": statistics.median(stored_times),
            "draft_style_before_s": statistics.median(old_times),
            "draft_style_ratio": statistics.median(stored_times) / statistics.median(old_times),
            "rows": rows, "feature_bytes": stored_bytes}


def quality(emails: dict[str, list[str]], split: float, work: Path, embedder) -> dict:
    train, test = {}, []
    for sender in SENDERS:
        shuffled = emails[sender][:]
        random.Random(sender).shuffle(shuffled)
        cut = int(len(shuffled) * split)
        train[sender] = shuffled[:cut]
        test += [(sender, text) for text in shuffled[cut:]]
    by_profile, by_text, profile_only, exemplars_only = Stylometer(), Stylometer(), Stylometer(), Stylometer()
    for sender in SENDERS:
        assistant = Assistant(make_home(work, sender))
        assistant.__dict__["embedder"] = embedder
        store(assistant, [email_item(n, sender, text, sender) for n, text in enumerate(train[sender])])
        refresh_style(assistant.db)
        profile = stored_style(assistant.db).contexts["email"]
        exemplars = [e.text for e in exemplar_set(assistant.db, "email")]
        by_profile.fit_profile(sender, profile, exemplars)
        profile_only.fit_profile(sender, profile, [])
        exemplars_only.fit_texts(sender, exemplars)
        by_text.fit_texts(sender, train[sender])
    return {"senders": len(SENDERS), "train": {s: len(t) for s, t in train.items()}, "test": len(test),
            "accuracy_profile_and_exemplars": by_profile.accuracy(test),
            "accuracy_raw_text": by_text.accuracy(test),
            "accuracy_profile_only": profile_only.accuracy(test),
            "accuracy_exemplars_only_as_text": exemplars_only.accuracy(test),
            "chance": max(sum(1 for s, _ in test if s == x) for x in SENDERS) / len(test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--split", type=float, default=0.7, help="share of each sender's emails to train on")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    root = datasets_dir()
    if root is None or not (root / "panza_enron").is_dir():
        raise SystemExit("panza_enron not found: set ASSISTANT_DATASETS or put it in ../shared/datasets")
    emails = load_emails(root)
    work = Path(tempfile.mkdtemp(prefix="profile-bench-"))
    out = {"speed": speed(emails, args.emails, work)}
    s = out["speed"]
    print(f"| speed ({s['emails']} emails, {s['mine']} hers) | value | goal |\n|---|---|---|")
    print(f"| full rebuild | {s['full_rebuild_s']:.2f} s | |")
    print(f"| refresh after one sent email | {s['refresh_after_sent_s'] * 1000:.1f} ms | |")
    print(f"| refresh after one received email | {s['refresh_after_received_s'] * 1000:.1f} ms | |")
    print(f"| ratio (sent) | {s['ratio_sent']:.4f} | ≤ 0.05 {'PASS' if s['ratio_sent'] <= 0.05 else 'FAIL'} |")
    print(f"| ratio (received) | {s['ratio_received']:.4f} | ≤ 0.05 "
          f"{'PASS' if s['ratio_received'] <= 0.05 else 'FAIL'} |")
    print(f"| draft's style: stored | {s['draft_style_stored_s'] * 1000:.1f} ms | |")
    print(f"| draft's style: recomputed (before) | {s['draft_style_before_s'] * 1000:.1f} ms | |")
    print(f"| draft's style ratio stored ÷ before | {s['draft_style_ratio']:.4f} | report |")
    print(f"| stored per-document rows | {s['feature_bytes'] / 1e6:.1f} MB of JSON | |")
    if not args.skip_quality:
        from assistant.embedding.embedder import MiniLMEmbedder

        out["quality"] = q = quality(emails, args.split, work, MiniLMEmbedder())
        print(f"\n| style attribution ({q['senders']} Enron dev senders, {q['test']} held-out emails) | accuracy |")
        print("|---|---|")
        for key in ("accuracy_profile_and_exemplars", "accuracy_raw_text", "accuracy_profile_only",
                    "accuracy_exemplars_only_as_text", "chance"):
            print(f"| {key.removeprefix('accuracy_').replace('_', ' ')} | {q[key]:.3f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
