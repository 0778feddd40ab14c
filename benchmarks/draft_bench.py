"""Drafts against the person's real emails: personalized vs not, for each embedded model.

Held-out protocol: ten of the sample person's sent emails are taken out of the
corpus; the rest is indexed. Each held-out email's subject and recipient become
the request, and the draft is scored against the real email:

- greeting / sign-off match: does the draft open and close the way the person did?
- ROUGE-L F1 against the real body (Panza's measure of closeness to the real email)
- length: |log(draft words / real words)|, 0 is the same length
- em-dash rate: a habit of this person's

Only what the model generated is scored: a base model's greeting, which the prompt
writes in before generation (`DraftResult.prefilled`), is cut off first, so the prompt
cannot score for the model. Drafts run at the shipped settings (`draft()`'s own
temperature, 0.7) with several seeds; each figure is the mean over seeds, and ± the
spread (max − min of the per-seed means).

Every figure is shown for personalized and --no-personalization drafts from the
same model in the same run, and as their ratio.

    python -m benchmarks.draft_bench [--held-out 10] [--seeds 3]
        [--models gemma3-270m,smollm2-135m-instruct,qwen2.5-coder-1.5b-instruct]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import email.utils
import json
import math
import shutil
import statistics
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from assistant.config import Config, Identity, update_config, write_config
from assistant.core import Assistant
from assistant.generation.catalog import load_generator
from assistant.home import Home
from assistant.ingest.pipeline import index_paths
from assistant.profile.style import greeting_of, signoff_of
from assistant_plugins.draft import draft
from assistant_plugins.mail.parse import message_items

RESULTS = Path(__file__).parent / "results"
PRIYA = Identity(names=["Priya Nandakumar"], emails=["priya@fernhill.example"], handles=["priya"])


def rouge_l(candidate: str, reference: str) -> float:
    a, b = candidate.lower().split(), reference.lower().split()
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b, 1):
            row.append(prev[j - 1] + 1 if x == y else max(prev[j], row[j - 1]))
        prev = row
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def held_out_requests(sent: Path, count: int) -> list[dict]:
    """Every k-th sent email, spread over the corpus, with its request, recipient and real body."""
    emails = sorted(sent.glob("*.eml"))
    step = max(1, len(emails) // count)
    picked = []
    for path in emails[::step][:count]:
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        to_name = email.utils.parseaddr(str(message["To"]))[0] or str(message["To"])
        body = message_items(raw, str(path), PRIYA)[0].text  # what the person wrote, as the store keeps it
        subject = str(message["Subject"]).removeprefix("Re: ")
        picked.append({"path": path, "request": f"write about: {subject}", "to": to_name, "real": body})
    return picked


def score(draft_text: str, real: str) -> dict:
    words = max(1, len(draft_text.split()))
    return {
        "greeting": float(greeting_of(draft_text) == greeting_of(real) and greeting_of(real) is not None),
        "signoff": float(signoff_of(draft_text) == signoff_of(real) and signoff_of(real) is not None),
        "rouge_l": rouge_l(draft_text, real),
        "length_error": abs(math.log(words / max(1, len(real.split())))),
        "em_dash": float("—" in draft_text),
    }


def generated_part(result) -> str:
    """The draft less what the prompt wrote into it."""
    return result.draft.removeprefix(result.prefilled).strip() if result.prefilled else result.draft


METRICS = ("greeting", "signoff", "rouge_l", "length_error", "em_dash")


def summarise(model: str, personalize: bool, per_seed: list[list[dict]], seconds: list[float]) -> dict:
    row = {"model": model, "personalized": personalize, "seconds": statistics.median(seconds),
           "seeds": len(per_seed)}
    for key in METRICS:
        means = [statistics.mean(s[key] for s in scores) for scores in per_seed]
        row[key] = statistics.mean(means)
        row[key + "_spread"] = max(means) - min(means)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default="gemma3-270m,smollm2-135m-instruct,qwen2.5-coder-1.5b-instruct")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="draft-bench-"))
    corpus = work / "priya"
    shutil.copytree(Path(str(files("assistant") / "sample")), corpus)
    requests = held_out_requests(corpus / "mail" / "sent", args.held_out)
    for item in requests:
        item["path"].unlink()
    home = Home(work / "home")
    write_config(home, PRIYA)
    index_paths(Assistant(home), [corpus])

    rows = []
    for model in args.models.split(","):
        update_config(home, lambda doc: doc["models"].__setitem__("generator", model))
        assistant = Assistant(home, Config.load(home))
        runs = {True: ([], []), False: ([], [])}
        for seed in range(args.seeds):
            assistant.__dict__["generator"] = load_generator(assistant.config, seed=seed)
            for personalize in (True, False):
                scores, seconds = [], runs[personalize][1]
                for item in requests:
                    started = time.perf_counter()
                    result = draft(assistant, item["request"], to=item["to"], personalize=personalize)
                    seconds.append(time.perf_counter() - started)
                    scores.append(score(generated_part(result), item["real"]))
                runs[personalize][0].append(scores)
        rows += [summarise(model, personalize, *runs[personalize]) for personalize in (True, False)]

    print("| model | mode | greeting matches | sign-off matches | ROUGE-L | length error | uses em-dash | s/draft |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        mode = "personalized" if row["personalized"] else "baseline"
        cells = [f"{row[k]:.2f} ± {row[k + '_spread']:.2f}" if k != "rouge_l" else
                 f"{row[k]:.3f} ± {row[k + '_spread']:.3f}" for k in METRICS]
        print(f"| {row['model']} | {mode} | " + " | ".join(cells) + f" | {row['seconds']:.1f} |")
    print(f"\n{args.held_out} held-out emails × {args.seeds} seeds at the shipped temperature; "
          "± is the spread (max − min) of the per-seed means.")
    print("ratio personalized ÷ baseline (ROUGE-L):")
    for model in args.models.split(","):
        mine = [r for r in rows if r["model"] == model]
        personal, base = mine[0]["rouge_l"], mine[1]["rouge_l"]
        print(f"  {model:<30}{personal / base if base else float('inf'):.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "draft.json").write_text(json.dumps(rows, indent=2))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
