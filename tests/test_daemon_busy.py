"""A daemon that is slow, stuck or busy drafting never stalls or crashes `assistant search`."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from assistant.daemon.client import DaemonError, request, search as daemon_search

WITHIN_S = 1.0  # a slow or dead daemon is given up on within this long
from assistant.daemon.runtime import DaemonFiles
from tests.conftest import run_cli


class SilentServer:
    """A real Unix socket server that accepts connections and reads requests but never answers."""

    def __init__(self, path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o600)  # private, as the daemon's own socket is (it runs under umask 077)
        self.sock.listen(8)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never written to

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_daemon(sample_home):
    files = DaemonFiles(sample_home).ensure()
    server = SilentServer(files.socket)
    yield sample_home, files
    server.close()


def test_a_daemon_that_never_answers_is_given_up_on_within_a_second(silent_daemon):
    _, files = silent_daemon
    started = time.monotonic()
    with pytest.raises(DaemonError, match="did not answer within 1 s"):
        daemon_search(files.socket, "alder street budget", 5, {})
    assert time.monotonic() - started < WITHIN_S + 0.5


def test_search_falls_back_to_the_direct_path_with_a_one_line_note(silent_daemon):
    home, _ = silent_daemon
    started = time.monotonic()
    result = run_cli("search", "alder street budget", "-k", "3", "--json", home=home)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.strip()]
    assert notes == ["Warning: the daemon could not search (it did not answer within 1 s); searching here instead"]
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and all(hit["uri"] for hit in hits)
    assert took < 30  # the old client waited 60 s for the silent daemon before crashing


def test_a_daemon_that_hangs_up_without_answering_is_an_error_not_silence(tmp_path):
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.recv(100)
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        with pytest.raises(DaemonError, match="closed the connection"):
            request(path, {"op": "status"}, timeout=5)


def test_no_socket_file_means_no_daemon(tmp_path):
    assert request(tmp_path / "none.sock", {"op": "status"}) is None


@pytest.mark.slow
def test_searches_are_answered_while_a_draft_is_generating(sample_home, embedder, tmp_path):
    """A real daemon socket over a real Assistant: a long draft holds the generator, searches go on."""
    from assistant.config import Config
    from assistant.core import Assistant
    from assistant.daemon.models import SharedEmbedder
    from assistant.daemon.server import WarmAnswers, serve

    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = SharedEmbedder(lambda: embedder)  # as the daemon shares its model
    answers = WarmAnswers(assistant)
    answers.refresh()
    path = tmp_path / "d.sock"
    server = serve(str(path), answers, lambda: {})
    drafted: dict = {}

    def long_draft() -> None:
        drafted.update(request(path, {"op": "skill", "name": "draft", "options": {
            "instruction": "write Sam a long update on the Alder Street park: budget, permits, planting and the "
                           "opening day", "to": "Sam", "max_tokens": 400}}, timeout=600))

    try:
        drafting = threading.Thread(target=long_draft)
        drafting.start()
        deadline = time.monotonic() + 300
        while "generator" not in assistant.__dict__ and time.monotonic() < deadline:
            time.sleep(0.05)  # the draft has picked its exemplars and is loading the model, then generating
        assert "generator" in assistant.__dict__
        times = []
        for query in ("alder street budget", "cabinet quote", "Meera's August visit"):
            started = time.monotonic()
            hits = daemon_search(path, query, 3, {})
            times.append(time.monotonic() - started)
            assert hits and len(hits) == 3
        assert drafting.is_alive(), "the draft finished before the searches could overlap it"
        assert max(times) < WITHIN_S
        drafting.join(600)
        assert drafted["result"]["draft"].strip()
    finally:
        server.shutdown()
        server.server_close()
