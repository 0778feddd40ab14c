"""`search_memory` through MCP, measured: `python -m benchmarks.mcp_bench [--calls 50]`.

On the sample person (indexed into a temporary home), with the daemon running:
- `assistant search QUERY --json` wall time per call (a process per call, answered by the daemon);
- `search_memory` wall time per call through one `assistant mcp` session over stdio
  (the real MCP client; the server asks the daemon), the two interleaved call by call;
- their ratio (goal ≤ 1.5), and the MCP session's start (spawn, handshake, first call);
- the daemon's own answer over its socket, per call: the floor both stand on.
Prints the table and writes JSON to benchmarks/results/mcp.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.daemon_support import DaemonProcess

RESULTS = Path(__file__).parent / "results" / "mcp.json"
QUERIES = ["what did I promise Sam about the lease?", "site visit moved to Friday", "stormwater report",
           "mailbox verification", "kitchen renovation budget", "Portuguese lessons", "Alder Street planting plan"]
GOAL = 1.5


def _index_sample(root: Path) -> Path:
    env = {**os.environ, "ASSISTANT_HOME": str(root), "ASSISTANT_NO_DAEMON": "1"}
    sample = root.parent / "priya"
    shutil.copytree(Path(str(files("assistant") / "sample")), sample)
    for args in (["init", "--name", "Priya Nandakumar", "--email", "priya@fernhill.example", "--handle", "priya"],
                 ["index", str(sample)]):
        subprocess.run([sys.executable, "-m", "assistant", *args], env=env, check=True, capture_output=True)
    return root


def _socket_search(root: Path, query: str) -> float:
    from assistant.daemon.client import search
    from assistant.daemon.runtime import DaemonFiles
    from assistant.home import Home

    started = time.perf_counter()
    assert search(DaemonFiles(Home(root)).socket, query, 5, {})
    return time.perf_counter() - started


def _cli_search(root: Path, query: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant", "--home", str(root), "search", query, "-k", "5", "--json"],
                   check=True, capture_output=True)
    return time.perf_counter() - started


async def _measure(root: Path, calls: int) -> dict:
    params = StdioServerParameters(command=sys.executable, args=["-m", "assistant", "--home", str(root), "mcp"],
                                   env={key: value for key, value in os.environ.items() if key.startswith("PYTHON")})
    started = time.perf_counter()
    async with Client(params, read_timeout_seconds=600) as client:
        first = await client.call_tool("search_memory", {"query": QUERIES[0], "k": 5})
        assert not first.is_error, first.content[0].text
        start = time.perf_counter() - started
        mcp_times, cli_times, socket_times = [], [], []
        for n in range(calls):
            query = QUERIES[n % len(QUERIES)]
            began = time.perf_counter()
            result = await client.call_tool("search_memory", {"query": query, "k": 5})
            mcp_times.append(time.perf_counter() - began)
            assert not result.is_error and result.structured_content["results"], result.content[0].text
            cli_times.append(_cli_search(root, query))
            socket_times.append(_socket_search(root, query))
    return {"mcp_start_s": start, "mcp_per_call_s": mcp_times, "cli_per_call_s": cli_times,
            "socket_per_call_s": socket_times}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mcp-bench-") as tmp:
        root = _index_sample(Path(tmp) / "home")
        from assistant.home import Home

        daemon = DaemonProcess(Home(root)).start()
        try:
            daemon.wait_ready()
            measured = asyncio.run(_measure(root, args.calls))
        finally:
            daemon.stop()
    mcp_median = statistics.median(measured["mcp_per_call_s"])
    cli_median = statistics.median(measured["cli_per_call_s"])
    results = {
        "calls": args.calls,
        "mcp_search_memory_median_s": round(mcp_median, 4),
        "cli_search_median_s": round(cli_median, 4),
        "ratio_mcp_over_cli": round(mcp_median / cli_median, 3),
        "goal_ratio_at_most": GOAL,
        "passed": mcp_median / cli_median <= GOAL,
        "daemon_socket_median_s": round(statistics.median(measured["socket_per_call_s"]), 4),
        "mcp_session_start_s": round(measured["mcp_start_s"], 3),
    }
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
