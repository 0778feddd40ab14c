"""How quickly `assistant tui` paints, and whether it answers keys while a draft is generated.

Everything runs in a real terminal (tmux), as a person would see it:

- first paint: from launching `assistant tui` until the area names and the Chat area are on
  screen, divided by the wall time of `assistant --help` (both launched the same way,
  interleaved, medians). Goal: ≤ 3. The complete screen (textual fills in the footer's keys a
  frame or two later) is printed beside it.
- key latency: while a draft is being generated (after one warm-up draft, so the models are
  loaded), type one character at a time after the request in its box and time each until it
  is on screen. Goal: p95 ≤ 100 ms.

    python -m benchmarks.tui_bench [--home DIR] [--runs 5] [--keys 30]

Without --home it indexes the bundled sample person into a temporary home first.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

SESSION = f"tui-bench-{os.getpid()}"  # the session now on screen (`launch` starts a new one each time)
LAUNCHES = itertools.count()
WIDTH, HEIGHT = 100, 30
DONE = "__bench_done__"


def tmux(*args: str) -> str:
    # A server of its own: another tmux user on the machine (a test, a person) cannot stop it.
    return subprocess.run(["tmux", "-L", f"tui-bench-{os.getpid()}", *args], capture_output=True, text=True,
                          check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(predicate, timeout: float, poll: float = 0.005) -> float:
    """Seconds until `predicate(screen)` holds (polling the pane), or raise after `timeout`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate(screen()):
            return time.perf_counter() - started
        time.sleep(poll)
    raise TimeoutError(f"not on screen within {timeout}s:\n{screen()}")


def launch(home: Path, *args: str) -> float:
    """Start `assistant ARGS` in a fresh tmux session; return the perf_counter time it started.

    The new session starts before the old one is killed: killing the last session stops the tmux
    server, and a session started while it stops is lost (an empty pane until the timeout)."""
    global SESSION
    env = [f"ASSISTANT_HOME={home}", f"PYTHONPATH={os.environ.get('PYTHONPATH', '')}", "ASSISTANT_NO_DAEMON=1"]
    command = shlex.join(["env", *env, sys.executable, "-m", "assistant", *args]) + f"; echo {DONE}; sleep 600"
    old, SESSION = SESSION, f"tui-bench-{os.getpid()}-{next(LAUNCHES)}"
    started = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), command)
    tmux("kill-session", "-t", f"={old}")  # "=": that name exactly, not a session it begins
    return started


def first_paint(home: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    """`--help` wall times; times to the first frame (the area names and the Chat area's text);
    and to the complete screen (textual fills the footer's key list a frame or two later)."""
    helps, paints, footers = [], [], []
    for _ in range(runs):
        started = launch(home, "--help")
        wait_for(lambda s: DONE in s, 60)
        helps.append(time.perf_counter() - started)
        started = launch(home, "tui")
        wait_for(lambda s: "Suggestions" in s and ("Ask about" in s or "Nothing is indexed" in s), 120)
        paints.append(time.perf_counter() - started)
        wait_for(lambda s: "palette" in s, 60)
        footers.append(time.perf_counter() - started)
    tmux("kill-session", "-t", SESSION)
    return helps, paints, footers


def draft_from_chat(instruction: str) -> None:
    """`/draft INSTRUCTION` in Chat: opens Draft with the request and starts it."""
    tmux("send-keys", "-t", SESSION, "F1")
    time.sleep(0.3)
    tmux("send-keys", "-t", SESSION, "-l", f"/draft {instruction}")
    tmux("send-keys", "-t", SESSION, "Enter")
    wait_for(lambda s: "Drafting…" in s, 30)


def key_latency(home: Path, keys: int) -> tuple[list[float], int]:
    """Latencies (s) of keys typed while a draft is generated, and how many were typed during it."""
    launch(home, "tui")
    wait_for(lambda s: "Suggestions" in s and "palette" in s, 120)
    draft_from_chat("thank Sam for the site visit")  # warm-up: loads the models
    wait_for(lambda s: "Style notes:" in s and "Drafting…" not in s, 600, poll=0.2)
    instruction = "ask Sam about planting"  # short: the typed keys must fit in the box
    draft_from_chat(instruction)  # the request stays in the focused box; keys are typed after it
    tmux("send-keys", "-t", SESSION, "End")  # focusing the box selected its text
    typed, latencies, during = "", [], 0
    for n in range(keys):
        typed += "abcdefghijklmnopqrstuvwxyz"[n % 26]
        drafting = "Drafting…" in screen()
        started = time.perf_counter()
        tmux("send-keys", "-t", SESSION, "-l", typed[-1])
        wait_for(lambda s: instruction + typed in s, 10, poll=0.002)
        latencies.append(time.perf_counter() - started)
        during += drafting
        if not drafting:
            break
    tmux("kill-session", "-t", SESSION)
    return latencies, during


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def sample_home(root: Path) -> Path:
    """The bundled sample person, indexed into a fresh home under `root`."""
    home, sample = root / "home", root / "priya"
    shutil.copytree(Path(str(files("assistant") / "sample")), sample)
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    run = [sys.executable, "-m", "assistant"]
    subprocess.run([*run, "init", "--name", "Priya Nandakumar", "--email", "priya@fernhill.example", "--handle",
                    "priya"], env=env, check=True, capture_output=True)
    subprocess.run([*run, "index", str(sample)], env=env, check=True, capture_output=True)
    return home


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="An indexed home (default: the sample person, indexed now).")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=30)
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed: apt-get install tmux")
    with tempfile.TemporaryDirectory() as root:
        home = args.home or sample_home(Path(root))
        try:
            helps, paints, footers = first_paint(home, args.runs)
            latencies, during = key_latency(home, args.keys)
        finally:
            tmux("kill-session", "-t", SESSION)
    ratio = statistics.median(paints) / statistics.median(helps)
    results = {
        "help_s": statistics.median(helps), "paint_s": statistics.median(paints), "ratio": ratio,
        "key_p50_ms": 1000 * statistics.median(latencies), "key_p95_ms": 1000 * p95(latencies),
        "key_max_ms": 1000 * max(latencies), "keys": len(latencies), "keys_during_draft": during,
    }
    rows = [
        ("`assistant --help` wall time (median)", f"{results['help_s']:.2f} s", "", ""),
        ("`assistant tui` first paint (median)", f"{results['paint_s']:.2f} s", "", ""),
        ("`assistant tui` footer complete (median)", f"{statistics.median(footers):.2f} s", "", ""),
        ("first paint ÷ --help", f"{ratio:.2f}", "≤ 3", "PASS" if ratio <= 3 else "FAIL"),
        (f"key to screen while drafting, p50 / max ({during} of {len(latencies)} keys during the draft)",
         f"{results['key_p50_ms']:.0f} / {results['key_max_ms']:.0f} ms", "", ""),
        ("key to screen while drafting, p95", f"{results['key_p95_ms']:.0f} ms", "≤ 100 ms",
         "PASS" if results["key_p95_ms"] <= 100 else "FAIL"),
    ]
    print("| metric | value | goal | result |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return results


if __name__ == "__main__":
    main()
