"""Drafting quality on the four Enron dev senders: is the draft on topic, in the person's voice, not pasted?

Protocol (issue 11, "Quality goals"): each sender's sent mail is split 80/20 by a fixed seed.
Each sender gets a home of their own (`[me]` is that sender) holding their 80% as their own
sent mail and the other three senders' 80% as mail they received (a mailbox holds both; the
draft's exemplars are only ever the person's own). For each sampled held-out email the request
is its content words only, "Write an email about: w1, w2, …" (the rarest `--words` of them in
order, the sender's own name left out: no style cue), and three drafts are made side by side
with the same model:

- none: `--no-personalization`;
- retrieval: the person's most similar past emails as exemplars, no profile (no persona, style
  notes, facts or greeting), one candidate;
- full: the shipped system (`[draft] candidates`, and `more_candidates` while none is in the
  person's voice; reranking, copy guard); "full, first candidate" is its first draft as written;
- full-no-length, full-no-notes (only with `--modes`): the full system without the person's usual
  length (note and token budget), or without the style notes: which parts of the profile help.

Scored against the real email: chrF (character 6-grams, β = 2) and ROUGE-L F1; attribution, the
share of drafts a nearest-centroid `Stylometer` fitted on the four senders' real 80% attributes to
the right sender (its accuracy on the real held-out mail is the ceiling); coverage, the share
of the request's content words the draft uses; the longest run of words the draft shares with
any one message indexed in its home; "written", the drafts written per request. Writes
benchmarks/results/draft_quality.json.

    python -m benchmarks.draft_quality [--per-sender 3] [--offset 0] [--words 12] [--modes none,retrieval,full]
                                       [--candidates N]

Defaults are chosen on `--offset 3` (each sender's 4th and later sampled emails); the reported
run is the default selection, the first `--per-sender` of each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from assistant.core import Assistant
from assistant.generation.copying import MAX_COPIED_WORDS, CopyIndex, words
from assistant.profile.refresh import refresh_style
from assistant.profile.stylometry import Stylometer
from assistant_plugins import draft as draft_skill
from assistant_plugins.draft.choose import content_words, coverage
from benchmarks.draft_bench import rouge_l
from benchmarks.profile_bench import SENDERS, email_item, load_emails, make_home, store
from benchmarks.retrieval_data import CachingEmbedder, datasets_dir

RESULTS = Path(__file__).parent / "results"
SEED = 11
MODES = ("none", "retrieval", "full")
# the first candidate: the first draft as written, before reranking, the copy guard and tidying
ROWS = ("none", "retrieval", "full-no-length", "full-no-notes", "full, first candidate", "full")
PASTE_RUN = 5  # words in a row shared with one indexed message that count towards "pasted"
MIN_WORDS, MAX_WORDS = 20, 200  # held-out emails scored: long enough to have a topic, short enough to draft


def split(emails: dict[str, list[str]], seed: int = SEED) -> dict[str, tuple[list[str], list[str]]]:
    """Each sender's emails shuffled with `seed`: (the first 80%, the last 20%)."""
    out = {}
    for sender, texts in emails.items():
        order = list(texts)
        random.Random(f"{seed}:{sender}").shuffle(order)
        cut = round(len(order) * 0.8)
        out[sender] = (order[:cut], order[cut:])
    return out


def sample(parts: dict[str, tuple[list[str], list[str]]], senders: list[str], per_sender: int,
           offset: int = 0) -> dict[str, list[str]]:
    """Each sender's held-out emails of a draftable length, the `offset`-th to the `offset + per_sender`-th."""
    held = {s: [t for t in parts[s][1] if MIN_WORDS <= len(t.split()) <= MAX_WORDS] for s in senders}
    return {s: held[s][offset:offset + per_sender] for s in senders}


def chrf(candidate: str, reference: str, n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) as sacreBLEU computes it: character n-grams without spaces, n = 1..6,
    precision and recall averaged over n, then their F-β."""
    a, b = "".join(candidate.split()), "".join(reference.split())
    precisions, recalls = [], []
    for k in range(1, n + 1):
        x = Counter(a[i:i + k] for i in range(len(a) - k + 1))
        y = Counter(b[i:i + k] for i in range(len(b) - k + 1))
        if not x or not y:
            continue
        common = sum((x & y).values())
        precisions.append(common / sum(x.values()))
        recalls.append(common / sum(y.values()))
    if not precisions:
        return 0.0
    p, r = statistics.mean(precisions), statistics.mean(recalls)
    return 0.0 if p + r == 0 else 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def request_for(text: str, sender: str, words: int) -> tuple[str, list[str]]:
    wanted = content_words(text, limit=words, exclude=set(sender.lower().split("_")))
    return "Write an email about: " + ", ".join(wanted), wanted


def build_home(work: Path, person: str, train: dict[str, list[str]], embedder) -> Assistant:
    """`person`'s home: their train mail as theirs, the others' as received; `embedder` shared across homes."""
    assistant = Assistant(make_home(work, person))
    assistant.__dict__["embedder"] = embedder
    items, n = [], 0
    for sender in SENDERS:
        for text in train[sender]:
            items.append(email_item(n, sender, text, person))
            n += 1
    store(assistant, items)
    refresh_style(assistant.db)
    return assistant


def _no_profile(inputs):
    return replace(inputs, persona="", style_notes=[], recipient_notes=[], facts=[], fact_ids=[], salutation=None,
                   tone=None)


def _no_length(inputs):
    guide = inputs.tone.notes if inputs.tone else []
    return replace(inputs, tone=None, recipient_notes=[n for n in inputs.recipient_notes if n not in guide])


def _no_notes(inputs):
    guide = inputs.tone.notes if inputs.tone else []
    return replace(inputs, style_notes=[], recipient_notes=[n for n in inputs.recipient_notes if n in guide])


# modes that draft with part of the prompt left out: which parts of the profile help
ABLATIONS = {"retrieval": _no_profile, "full-no-length": _no_length, "full-no-notes": _no_notes}


@contextlib.contextmanager
def ablated(change):
    """Drafts whose prompt inputs pass through `change` (one of `ABLATIONS`)."""
    original = draft_skill.prompt_inputs
    draft_skill.prompt_inputs = lambda *args, **kwargs: change(original(*args, **kwargs))
    try:
        yield
    finally:
        draft_skill.prompt_inputs = original


def scored(sender: str, mode: str, request: str, wanted: list[str], real: str, text: str, judge: Stylometer,
           copies: CopyIndex) -> dict:
    runs = copies.runs(text)
    longest = runs[0] if runs else None
    inside = {i for run in runs if run.length >= PASTE_RUN for i in range(run.start, run.end)}
    return {"sender": sender, "mode": mode, "request": request, "real": real, "draft": text,
            "chrF": chrf(text, real), "rouge_l": rouge_l(text, real), "judged": judge.predict(text),
            "attributed": float(judge.predict(text) == sender), "coverage": coverage(text, wanted),
            "longest_copy": longest.length if longest else 0, "words": len(text.split()),
            "pasted": len(inside) / max(1, len(words(text)))}


def make_draft(assistant: Assistant, mode: str, request: str):
    if mode == "none":
        return draft_skill.draft(assistant, request, personalize=False)
    if mode in ABLATIONS:
        with ablated(ABLATIONS[mode]):
            return draft_skill.draft(assistant, request, candidates=1 if mode == "retrieval" else None)
    return draft_skill.draft(assistant, request)


def summarise(rows: list[dict]) -> list[dict]:
    table = []
    for mode in ROWS:
        mine = [r for r in rows if r["mode"] == mode]
        if not mine:
            continue
        table.append({
            "mode": mode, "drafts": len(mine),
            "chrF": statistics.mean(r["chrF"] for r in mine),
            "ROUGE-L": statistics.mean(r["rouge_l"] for r in mine),
            "attribution": statistics.mean(r["attributed"] for r in mine),
            "coverage": statistics.mean(r["coverage"] for r in mine),
            "longest copy": max(r["longest_copy"] for r in mine),
            "copies > 12": sum(r["longest_copy"] > MAX_COPIED_WORDS for r in mine),
            "pasted": statistics.mean(r.get("pasted", float("nan")) for r in mine),
            "words": statistics.median(r["words"] for r in mine),
            "s/draft": statistics.median(r["seconds"] for r in mine) if "seconds" in mine[0] else float("nan"),
            "written": (statistics.fmean(len(r["candidates"]) for r in mine)
                        if all("candidates" in r for r in mine) else float("nan")),  # older runs: not kept
        })
    return table


def goals(table: list[dict]) -> list[tuple[str, bool]]:
    by = {row["mode"]: row for row in table}
    if not {"none", "retrieval", "full"} <= set(by):
        return []
    full, none, retrieval = by["full"], by["none"], by["retrieval"]
    return [
        ("attribution ≥ 0.5", full["attribution"] >= 0.5),
        ("attribution ≥ 2.5 × none", full["attribution"] >= 2.5 * none["attribution"]),
        ("coverage ≥ 0.5", full["coverage"] >= 0.5),
        ("coverage ≥ none", full["coverage"] >= none["coverage"]),
        (f"no copy > {MAX_COPIED_WORDS} words", full["copies > 12"] == 0),
        ("chrF > none and > retrieval", full["chrF"] > none["chrF"] and full["chrF"] > retrieval["chrF"]),
    ]


def _cell(row: dict, key: str) -> str:
    value = row.get(key, float("nan"))  # runs saved before a column existed lack it
    if isinstance(value, float) and math.isnan(value):  # no figure: the first candidate has no time of its own
        return ""
    if isinstance(value, float):
        return f"{value:.1f}" if key in ("chrF", "words", "s/draft", "written") else f"{value:.3f}"
    return str(value)


def markdown(table: list[dict], ceiling: dict, sampled: int) -> str:
    keys = ("drafts", "chrF", "ROUGE-L", "attribution", "coverage", "longest copy", "copies > 12", "pasted",
            "words", "s/draft", "written")
    lines = ["| mode | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for row in table:
        cells = [_cell(row, k) for k in keys]
        lines.append(f"| {row['mode']} | " + " | ".join(cells) + " |")
    lines.append(f"\nattribution ceiling (the judge on the real held-out mail): {ceiling['sampled']:.3f} on the "
                 f"{ceiling['picked']} that could be sampled, {ceiling['all']:.3f} on all {ceiling['count']} held-out "
                 f"emails; {sampled} drafted so far")
    lines += [f"goal {name}: {'PASS' if ok else 'FAIL'}" for name, ok in goals(table)]
    return "\n".join(lines)


def plot(data: dict, path: Path) -> Path:
    """The table as bars, one group per measure, one bar per mode, with the goals (0.5, and 2.5 × none's
    attribution) and the judge's ceiling drawn across: easier to take in than the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measures = (("chrF", "chrF ÷ 100", 100), ("ROUGE-L", "ROUGE-L", 1), ("attribution", "attribution", 1),
                ("coverage", "coverage", 1))
    table = data["table"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(table))
    for i, row in enumerate(table):
        xs = [m + (i - (len(table) - 1) / 2) * width for m in range(len(measures))]
        ax.bar(xs, [row[key] / scale for key, _, scale in measures], width, label=row["mode"])
    for m, (key, _, _) in enumerate(measures):
        if key in ("attribution", "coverage"):
            ax.hlines(0.5, m - 0.45, m + 0.45, colors="black", linestyles="dashed", linewidth=1)
        if key == "attribution":
            ax.hlines(data["ceiling"]["sampled"], m - 0.45, m + 0.45, colors="grey", linestyles="dotted", linewidth=1.5)
            none = [row["attribution"] for row in table if row["mode"] == "none"]
            if none:
                ax.hlines(2.5 * none[0], m - 0.45, m + 0.45, colors="tab:blue", linestyles="dashdot", linewidth=1)
    ax.set_xticks(range(len(measures)), [label for _, label, _ in measures])
    ax.set_ylim(0, 1)
    emails = len({(r["sender"], r["real"]) for r in data["rows"]})
    ax.set_title(f"Drafts of {emails} held-out Enron emails\n(dashed: goal 0.5; dash-dot: goal 2.5 × none; dotted: "
                 f"the judge on the real emails)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-sender", type=int, default=3, help="held-out emails drafted per sender")
    parser.add_argument("--offset", type=int, default=0, help="skip each sender's first K sampled held-out emails "
                        "(development runs use --offset 3, so the reported first 3 stay unseen)")
    parser.add_argument("--words", type=int, default=12, help="content words in each request")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--senders", default=",".join(SENDERS))
    parser.add_argument("--candidates", type=int, help="drafts per request in the full modes (default: the "
                        "shipped `[draft] candidates`)")
    parser.add_argument("--out", type=Path, default=RESULTS / "draft_quality.json")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON", help="print the table of a saved (or "
                        "running) run and draw its plot beside it (JSON with .png); of several runs (different "
                        "selections), one table over all their emails, saved with its plot to --out")
    args = parser.parse_args(argv)
    if args.report:
        data = pooled([json.loads(path.read_text()) for path in args.report])
        if len(args.report) > 1:
            args.out.parent.mkdir(exist_ok=True)
            args.out.write_text(json.dumps(data, indent=1))
        print(report(data))
        print(f"plot: {plot(data, (args.out if len(args.report) > 1 else args.report[0]).with_suffix('.png'))}")
        return 0
    root = datasets_dir()
    if root is None:
        print("skipped: ../shared/datasets is absent")
        return 0
    parts = split(load_emails(root))
    judge = Stylometer()
    for sender in SENDERS:
        judge.fit_texts(sender, parts[sender][0])
    picked = sample(parts, args.senders.split(","), args.per_sender, args.offset)
    ceiling = {"sampled": judge.accuracy([(s, t) for s, ts in picked.items() for t in ts]),
               "picked": sum(len(ts) for ts in picked.values()),
               "all": judge.accuracy([(s, t) for s in SENDERS for t in parts[s][1]]),
               "count": sum(len(parts[s][1]) for s in SENDERS)}
    train = {s: parts[s][0] for s in SENDERS}
    work = Path(tempfile.mkdtemp(prefix="draft-quality-"))
    embedder = CachingEmbedder(Assistant(make_home(work, "probe")).embedder)  # one encoding per text
    homes, generator = {}, None
    for sender in picked:
        started = time.perf_counter()
        homes[sender] = build_home(work, sender, train, embedder)
        if args.candidates:
            homes[sender].config.draft_candidates = args.candidates
        if generator is not None:
            homes[sender].__dict__["generator"] = generator  # one model for all homes
        generator = homes[sender].generator
        print(f"{sender}: home built in {time.perf_counter() - started:.0f} s", flush=True)
    copies = CopyIndex([t for s in SENDERS for t in train[s]])
    rows = []
    for round_ in range(args.per_sender):  # round-robin over senders: a run cut short stays balanced
        for sender, texts in picked.items():
            if round_ >= len(texts):
                continue
            real = texts[round_]
            request, wanted = request_for(real, sender, args.words)
            print(f"{sender} #{round_ + 1}: {request}", flush=True)
            for mode in args.modes.split(","):
                result = make_draft(homes[sender], mode, request)
                rows.append(scored(sender, mode, request, wanted, real, result.draft, judge, copies))
                rows[-1]["seconds"] = result.seconds
                rows[-1]["candidates"] = result.candidates  # every draft written
                line = (f"  {mode:<9} {result.seconds:5.0f} s  chrF {rows[-1]['chrF']:.1f}  cov "
                        f"{rows[-1]['coverage']:.2f}  judge {rows[-1]['judged']}  copy {rows[-1]['longest_copy']}")
                if mode == "full":
                    # the first candidate, finished and guarded like a draft: what `candidates = 1` gives
                    rows.append(scored(sender, "full, first candidate", request, wanted, real,
                                       result.candidates[0], judge, copies))
                    rows[-1]["candidates"] = result.candidates[:1]
                print(line, flush=True)
            save(args.out, args, ceiling, rows)
    data = save(args.out, args, ceiling, rows)
    print(report(data))
    print(f"plot: {plot(data, args.out.with_suffix('.png'))}")
    return 0


def save(out: Path, args, ceiling: dict, rows: list[dict]) -> dict:
    """Everything so far, rewritten after each held-out email: a run cut short still has its figures."""
    data = {"args": {k: str(v) for k, v in vars(args).items()}, "ceiling": ceiling, "table": summarise(rows),
            "rows": rows}
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    return data


def pooled(runs: list[dict]) -> dict:
    """One run of several saved ones: their rows together (each selection's emails drafted once,
    so no email counts twice unless two runs share a selection) and the judge's ceiling over all."""
    if len(runs) == 1:
        return runs[0]
    rows = [row for run in runs for row in run["rows"]]
    picked = sum(run["ceiling"]["picked"] for run in runs)
    ceiling = dict(runs[0]["ceiling"], picked=picked,
                   sampled=sum(run["ceiling"]["sampled"] * run["ceiling"]["picked"] for run in runs) / picked)
    return {"args": {"report": " ".join(run["args"].get("out", "?") for run in runs)}, "ceiling": ceiling,
            "table": summarise(rows), "rows": rows}


def report(data: dict) -> str:
    emails = len({(r["sender"], r["real"]) for r in data["rows"]})
    senders = Counter(r["sender"] for r in data["rows"] if r["mode"] == data["rows"][0]["mode"])
    return (markdown(data["table"], data["ceiling"], emails) + f"\n{emails} held-out emails ("
            + ", ".join(f"{s} {n}" for s, n in senders.items()) + "), one draft each per mode")


if __name__ == "__main__":
    raise SystemExit(main())
