"""Generation speed by backend: JSON-constrained ÷ free generation on the embedded model, and the
server backend (`python -m llama_cpp.server` on loopback, same GGUF) ÷ the embedded model.

Every figure is generated tokens per second on the same request, with the prompt already cached
(one warm-up each), greedy; rounds alternate the configurations so a noisy neighbour hits all
alike, and the medians are compared.

    python -m benchmarks.backend_bench [--model qwen2.5-coder-1.5b-instruct] [--rounds 3] [--max-tokens 96]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from assistant.config import DEFAULT_GENERATOR, Config, ServerSettings
from assistant.generation.catalog import find_model, load_generator
from assistant.generation.server import ServerGenerator
from tests.server_support import llama_server

RESULTS = Path(__file__).parent / "results"
GOAL_JSON = 0.7
MESSAGES = [{"role": "user", "content": "List six plants for a shady garden bed in Portland and say in a few "
                                        "words why each one suits it."}]
SCHEMA = {"type": "object", "properties": {"plants": {"type": "array", "maxItems": 6, "items": {
    "type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
                                     "why": {"type": "string", "maxLength": 80}},
    "required": ["name", "why"]}}}, "required": ["plants"]}


def tokens_per_s(generator, counter, structured: bool, max_tokens: int) -> float:
    started = time.perf_counter()
    if structured:
        text = generator.json(MESSAGES, SCHEMA, max_tokens=max_tokens)
    else:
        text = generator.chat(MESSAGES, max_tokens=max_tokens, temperature=0.0)
    seconds = time.perf_counter() - started
    return counter.count_tokens(text) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_GENERATOR)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args(argv)
    embedded = load_generator(Config(), args.model)
    runs: dict[str, list[float]] = {"embedded free": [], "embedded JSON": [], "server free": [], "server JSON": []}
    with llama_server(find_model(Config(), args.model).resolve(), context=4096) as url:
        server = ServerGenerator(ServerSettings(url=url))
        setups = {"embedded free": (embedded, False), "embedded JSON": (embedded, True),
                  "server free": (server, False), "server JSON": (server, True)}
        for generator, structured in setups.values():  # warm-up: load, and cache the prompt
            tokens_per_s(generator, embedded, structured, 8)
        for _ in range(args.rounds):
            for name, (generator, structured) in setups.items():
                runs[name].append(tokens_per_s(generator, embedded, structured, args.max_tokens))
    median = {name: statistics.median(values) for name, values in runs.items()}
    rows = [
        ("embedded: tokens/s with JSON grammar ÷ without", median["embedded JSON"] / median["embedded free"],
         f"≥ {GOAL_JSON}"),
        ("server: tokens/s with JSON grammar ÷ without", median["server JSON"] / median["server free"], ""),
        ("tokens/s server backend (loopback) ÷ embedded, free", median["server free"] / median["embedded free"], ""),
        ("tokens/s server backend (loopback) ÷ embedded, JSON", median["server JSON"] / median["embedded JSON"], ""),
    ]
    print(f"model {args.model}, {args.rounds} rounds, up to {args.max_tokens} tokens; median tokens/s: "
          + ", ".join(f"{name} {value:.1f}" for name, value in median.items()) + "\n")
    print("| metric | value | goal | result |\n|---|---|---|---|")
    for metric, value, goal in rows:
        result = ("PASS" if value >= GOAL_JSON else "FAIL") if goal else ""
        print(f"| {metric} | {value:.3f} | {goal} | {result} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "backends.json").write_text(json.dumps(
        {"model": args.model, "rounds": args.rounds, "max_tokens": args.max_tokens, "tokens_per_s": runs,
         "ratios": {metric: value for metric, value, _ in rows}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
