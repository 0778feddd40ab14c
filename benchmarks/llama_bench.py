"""How each embedded model runs on this CPU: extra buffer types (weight repacking) on vs off.

Each configuration loads the model in its own child process (llama.cpp chooses buffer
types at load) and times prompt processing and generation on the same prompt; rounds
alternate the configurations, so a noisy neighbour hits both alike. The figure that
decides `load_plan()` is the ratio on ÷ off, per model, in the same run.

    python -m benchmarks.llama_bench [--models gemma3-270m,qwen2.5-coder-1.5b-instruct] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from assistant.llamacpp import EXTRA_BUFFERS_ENV, load_plan

RESULTS = Path(__file__).parent / "results"

CHILD = """
import json, sys, time
from assistant.config import Config
from assistant.generation.catalog import find_model
from assistant.llamacpp import open_llama, quiet_native_stderr
path = find_model(Config(), sys.argv[1]).resolve()
with quiet_native_stderr():
    llm = open_llama(path, n_ctx=2048, seed=1)
prompt = ("Hi Sam, thanks for sending the planting plan over. I went through it on the train "
          "and I think the north bed needs another row of grasses. ") * 12
tokens = llm.tokenize(prompt.encode())
started = time.perf_counter()
llm.eval(tokens)
prompt_s = time.perf_counter() - started
started = time.perf_counter()
out = llm.create_completion(prompt, max_tokens=48, temperature=0.0)
gen_s = time.perf_counter() - started  # the prompt is cached by now: this is generation
print(json.dumps({"prompt_tps": len(tokens) / prompt_s,
                  "gen_tps": out["usage"]["completion_tokens"] / gen_s}))
"""


def run_once(model: str, extra: str) -> dict:
    env = dict(os.environ, **{EXTRA_BUFFERS_ENV: extra})
    result = subprocess.run([sys.executable, "-c", CHILD, model], capture_output=True, text=True, env=env,
                            timeout=900)
    if result.returncode != 0:
        return {"crashed": result.returncode}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="gemma3-270m,qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plan = load_plan()
    print(f"load_plan(): {plan.reason}; {plan.threads} threads\n")
    print("| model | extra buffers | prompt tok/s | generation tok/s |")
    print("|---|---|---|---|")
    rows = []
    for model in args.models.split(","):
        runs: dict[str, list[dict]] = {"on": [], "off": []}
        for _ in range(args.rounds):
            for extra in ("on", "off"):
                runs[extra].append(run_once(model, extra))
        row = {"model": model}
        for extra, results in runs.items():
            crashed = [r["crashed"] for r in results if "crashed" in r]
            if crashed:
                row[extra] = {"crashed": crashed[0]}
                print(f"| {model} | {extra} | crashed (exit {crashed[0]}) | |")
                continue
            row[extra] = {key: statistics.median(r[key] for r in results) for key in ("prompt_tps", "gen_tps")}
            print(f"| {model} | {extra} | {row[extra]['prompt_tps']:.0f} | {row[extra]['gen_tps']:.1f} |")
        rows.append(row)
    print("\nratio on ÷ off (median of rounds):")
    for row in rows:
        if "crashed" in row["on"] or "crashed" in row["off"]:
            continue
        print(f"  {row['model']:<30} prompt {row['on']['prompt_tps'] / row['off']['prompt_tps']:.2f}  "
              f"generation {row['on']['gen_tps'] / row['off']['gen_tps']:.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llama.json").write_text(json.dumps({"plan": plan.reason, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
