"""The background daemon, measured: `python -m benchmarks.daemon_bench [--files 10000 --edits 100]`.

- latency from a file's last write to "searchable" (its new text is in the full-text
  index), median and p95 over `--edits` edits inside a tree of `--files` notes;
- reconciliation time of the unchanged tree (size+mtime walk, and the full hash pass);
- the daemon's CPU while idle (from /proc/PID/stat) and its RSS idle, after a burst,
  and after the idle model release;
- `assistant search` wall time with the daemon running ÷ without it (goal ≤ 0.1);
- reader processes searching while the daemon writes: errors (goal 0);
- SIGKILL at random points during indexing (`--crash-iterations`): how many rounds left a
  store that fails the integrity and whole-document check, and whether one restart
  finishes the rest (exit code, store matching the disk).

Prints a table and writes JSON to benchmarks/results/daemon.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.daemon.settings import DaemonSettings
from tests.daemon_support import (READER, DaemonProcess, assert_store_consistent, crash_rounds, make_home, note_text,
                                  wait_for_match)

RESULTS = Path(__file__).parent / "results" / "daemon.json"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _searchable(db: sqlite3.Connection, token: str) -> bool:
    return db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [f'"{token}"']).fetchone()[0] > 0


def edit_latency(daemon: DaemonProcess, src: Path, files: int, edits: int, rng: random.Random) -> list[float]:
    db = sqlite3.connect(str(daemon.home.db_path), timeout=30)
    latencies = []
    for edit in range(edits):
        n = rng.randrange(files)
        token = f"zq{edit}x{rng.randrange(10**6)}"
        path = src / f"d{n // 100:03}" / f"f{n:05}.md"
        path.write_text(note_text(n, version=edit + 1) + f"\nMarker {token}.\n")
        written = time.monotonic()
        while not _searchable(db, token):
            time.sleep(0.01)
        latencies.append(time.monotonic() - written)
    db.close()
    return latencies


def reconciliation_seconds(home, src: Path) -> dict:
    """The daemon's reconciliation of the unchanged tree, run in-process (nothing to embed, so no model)."""
    from assistant.core import Assistant
    from assistant.ingest.pipeline import Indexer

    assistant = Assistant(home)
    out = {}
    for name, rehash in (("size_mtime", False), ("full_hash", True)):
        indexer = Indexer(assistant)
        indexer.rehash = rehash
        started = time.perf_counter()
        report = indexer.run([src])
        out[name] = round(time.perf_counter() - started, 3)
        assert report.added == report.updated == report.removed == 0, report.summary()
    return out


def search_seconds(home, query: str, runs: int, without_daemon: bool) -> float:
    env = {**os.environ, "ASSISTANT_HOME": str(home.root)}
    if without_daemon:
        env["ASSISTANT_NO_DAEMON"] = "1"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "assistant", "search", query, "--json"], env=env,
                                capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr
    return statistics.median(times)


def readers_while_writing(daemon: DaemonProcess, src: Path, seconds: float) -> dict:
    folder = src / "concurrent"
    folder.mkdir()
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(daemon.home.db_path), str(seconds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        (folder / f"c{n:04}.md").write_text(note_text(50_000 + n))
        n += 1
        time.sleep(0.05)
    queries = errors = 0
    for reader in readers:
        out, err = reader.communicate(timeout=600)
        q, e = map(int, out.split())
        queries, errors = queries + q, errors + e
    return {"seconds": seconds, "files_written": n, "reader_queries": queries, "reader_errors": errors}


def restart_completes(home, src: Path) -> dict:
    """After the kills: does one `daemon run --oneshot` exit 0 and leave the store matching the disk, whole?"""
    code = DaemonProcess(home).start(oneshot=True).wait()
    try:
        wait_for_match(home, src, timeout=1)
        assert_store_consistent(home)
        problem = ""
    except AssertionError as exc:
        problem = str(exc)
    return {"restart_exit_code": code, "completed_after_restart": code == 0 and not problem,
            "restart_problem": problem}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="notes in the watched tree")
    parser.add_argument("--edits", type=int, default=20, help="edits timed from last write to searchable")
    parser.add_argument("--quiet", type=float, default=DaemonSettings().quiet,
                        help="the daemon's quiet period, seconds (default: the daemon's own)")
    parser.add_argument("--burst", type=int, default=300, help="files written at once for the RSS figure")
    parser.add_argument("--idle-window", type=float, default=10.0, help="seconds over which idle CPU is measured")
    parser.add_argument("--readers-seconds", type=float, default=30.0, help="seconds of 4 readers while writing")
    parser.add_argument("--crash-iterations", type=int, default=10, help="SIGKILL rounds (300 notes)")
    parser.add_argument("--nice", type=int, default=10, help="the daemon's nice increment (0 on a busy machine)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    base = Path(tempfile.mkdtemp(prefix="daemon-bench-"))
    results: dict = {"files": args.files, "edits": args.edits, "quiet_s": args.quiet, "nice": args.nice}
    try:
        src = base / "src"
        for n in range(args.files):
            folder = src / f"d{n // 100:03}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{n:05}.md").write_text(note_text(n))
        home = make_home(base / "home", [src])
        daemon = DaemonProcess(home, quiet=args.quiet, nice=args.nice, idle_release=20).start()
        started = time.monotonic()
        daemon.wait_ready(timeout=3600)
        results["initial_index_s"] = round(time.monotonic() - started, 2)
        results["rss_after_initial_index_mb"] = round(_rss_mb(daemon.pid), 1)

        latencies = edit_latency(daemon, src, args.files, args.edits, rng)
        results["edit_to_searchable_median_s"] = round(statistics.median(latencies), 3)
        results["edit_to_searchable_p95_s"] = round(_p95(latencies), 3)

        time.sleep(2)
        cpu_before = _cpu_seconds(daemon.pid)
        time.sleep(args.idle_window)
        results["idle_cpu_percent"] = round(100 * (_cpu_seconds(daemon.pid) - cpu_before) / args.idle_window, 2)

        burst = src / "burst"
        burst.mkdir()
        for n in range(args.burst):
            (burst / f"b{n:04}.md").write_text(note_text(90_000 + n))
        wait_for_match(home, burst, timeout=3600)
        results["rss_after_burst_mb"] = round(_rss_mb(daemon.pid), 1)
        results["idle_release_seen"] = daemon.files.wait_until(
            lambda: (daemon.status() or {"embedder_loaded": True})["embedder_loaded"] is False, 120, step=1)
        results["rss_after_idle_release_mb"] = round(_rss_mb(daemon.pid), 1)

        results["reconcile_unchanged_s"] = reconciliation_seconds(home, src)

        query = "remember to call about the lease"
        warm = search_seconds(home, query, 5, without_daemon=False)
        cold = search_seconds(home, query, 3, without_daemon=True)
        results["search_with_daemon_s"] = round(warm, 3)
        results["search_without_daemon_s"] = round(cold, 3)
        results["search_ratio"] = round(warm / cold, 3)

        results["readers"] = readers_while_writing(daemon, src, args.readers_seconds)
        daemon.stop()

        if args.crash_iterations:
            crash_src = base / "crash"
            crash_src.mkdir()
            for n in range(300):
                (crash_src / f"f{n:03}.md").write_text(note_text(n))
            crash_home = make_home(base / "crash-home", [crash_src])
            hits, failures = crash_rounds(crash_home, crash_src, 300, args.crash_iterations, rng)
            results["crash"] = {"iterations": args.crash_iterations, "killed_mid_run": hits,
                                "integrity_failures": len(failures), "failures": failures,
                                **restart_completes(crash_home, crash_src)}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    _print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return results


def _print_table(results: dict) -> None:
    rows = [
        ("tree", f"{results['files']} notes, quiet period {results['quiet_s']} s, nice {results['nice']}"),
        ("initial index (start-up reconciliation)", f"{results['initial_index_s']} s"),
        ("last write → searchable, median / p95",
         f"{results['edit_to_searchable_median_s']} s / {results['edit_to_searchable_p95_s']} s "
         f"over {results['edits']} edits"),
        ("reconcile unchanged tree: size+mtime / full hash",
         f"{results['reconcile_unchanged_s']['size_mtime']} s / {results['reconcile_unchanged_s']['full_hash']} s"),
        ("idle CPU", f"{results['idle_cpu_percent']} %"),
        ("RSS: after index / after burst / after idle release",
         f"{results['rss_after_initial_index_mb']} / {results['rss_after_burst_mb']} / "
         f"{results['rss_after_idle_release_mb']} MB"),
        ("`assistant search`: with daemon / without",
         f"{results['search_with_daemon_s']} s / {results['search_without_daemon_s']} s "
         f"= {results['search_ratio']} (goal ≤ 0.1)"),
        ("4 readers while writing", f"{results['readers']['reader_queries']} queries, "
                                    f"{results['readers']['reader_errors']} errors"),
    ]
    if "crash" in results:
        crash = results["crash"]
        restart = ("store matches the disk" if crash["completed_after_restart"]
                   else f"INCOMPLETE: {crash['restart_problem']}")
        rows.append(("SIGKILL rounds", f"{crash['iterations']} ({crash['killed_mid_run']} mid-run), "
                                       f"{crash['integrity_failures']} failed the store check; restart exit "
                                       f"{crash['restart_exit_code']}, {restart}"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
