"""A real OpenAI-compatible model server on loopback for the server-backend tests and benchmark.

`python -m tests.server_support ARGS…` is `python -m llama_cpp.server ARGS…` with the model loaded
as `assistant.llamacpp.load_plan()` says: llama_cpp.server has no setting for llama.cpp's extra
buffer types, whose AMX repack crashes in llama_decode, so on an AMX CPU the plain command would.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import tomlkit

from assistant.home import Home


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def llama_server(model: Path, context: int = 2048, startup_s: float = 180, extra: tuple[str, ...] = ()):
    """`llama_cpp.server` serving `model` on a free loopback port (`extra`: more of its arguments);
    yields its base URL (…/v1)."""
    from assistant.llamacpp import load_plan

    port = free_port()
    threads = str(load_plan().threads)
    log = tempfile.TemporaryFile("w+")  # not a pipe: llama.cpp's load log would fill it and block the server
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server_support", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(context), "--n_threads", threads, "--n_threads_batch", threads,
         "--seed", "0", *extra],
        stdout=subprocess.DEVNULL, stderr=log, cwd=Path(__file__).parents[1])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited {process.returncode}: {log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=5) as response:
                    if json.load(response).get("data"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer on {url} within {startup_s} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class _Misbehaving(BaseHTTPRequestHandler):
    """Each URL's first path part picks how it misbehaves: /junk/… a web page with status 200, /slow/…
    no answer for 5 s, /redirect/… a 307 to a public host, /fail/… HTTP 500, /locked/… HTTP 401."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/").split("/")[0]
        if mode == "slow":
            time.sleep(5)
        status, body = {"redirect": (307, b""), "fail": (500, b'{"error": "model crashed"}'),
                        "locked": (401, b'{"error": "invalid api key"}')}.get(
            mode, (200, b"<html><body>It works!</body></html>"))
        self.send_response(status)
        if mode == "redirect":
            self.send_header("Location", "http://203.0.113.9/v1/chat/completions")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def misbehaving_server():
    """An HTTP server on loopback that never answers like a model server; yields its root URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def use_server(home: Home, url: str, **settings) -> None:
    """Point `home`'s config at the server at `url` and draft with it."""
    from assistant.config import update_config

    def edit(document) -> None:
        table = tomlkit.table()
        table["url"] = url
        for key, value in settings.items():
            table[key] = value
        document["server"] = table
        document.setdefault("models", tomlkit.table())["generator"] = "server"

    update_config(home, edit)


if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    from assistant.llamacpp import load_plan, planned_load_params

    sys.argv[0] = "llama_cpp.server"
    with planned_load_params(load_plan()):
        main()
