"""Helpers for the daemon tests and benchmark: a real daemon subprocess, and the store compared with the disk."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import Identity, remember_source_path, write_config
from assistant.daemon.client import DaemonError, request
from assistant.ingest.ignore import ignored_name
from assistant.daemon.runtime import DaemonFiles
from assistant.home import Home
from assistant.store import connect

INDEXED_SUFFIXES = {".md", ".txt"}

# A reader process: `python -c READER DB_PATH SECONDS` searches in a loop, then prints "queries errors".
READER = """
import sys, time
from assistant.store import connect
from assistant.retrieval.binary_index import BinaryIndex
from assistant.retrieval.search import Filters, text_ranking
db = connect(sys.argv[1])
errors = queries = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        text_ranking(db, "remember to call about the lease", 20, Filters())
        db.execute("SELECT count(*) FROM documents d JOIN chunks c ON c.document_id = d.id").fetchone()
        BinaryIndex.from_db(db, "all-MiniLM-L6-v2")
        queries += 1
    except Exception as exc:
        errors += 1
        print(type(exc).__name__, exc, file=sys.stderr)
print(queries, errors)
"""


# A third-party plugin implementing `after_ingest`: it appends each report it receives to $RECORDER_OUT.
RECORDER = """
import json, os
from assistant.hookspecs import hookimpl

@hookimpl
def after_ingest(assistant, report):
    documents = assistant.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    with open(os.environ["RECORDER_OUT"], "a") as out:
        out.write(json.dumps({"report": report.as_dict(), "documents": documents}) + "\\n")
"""


def install_recorder_plugin(folder: Path) -> Path:
    """Install the `RECORDER` plugin as a distribution in `folder` (its entry point in the `assistant`
    group, as `pip install` would write it); put `folder` on PYTHONPATH to load it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "after_ingest_recorder.py").write_text(RECORDER)
    info = folder / "after_ingest_recorder-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: after-ingest-recorder\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[assistant]\nrecorder = after_ingest_recorder\n")
    return folder


def make_home(root: Path, sources: list[Path]) -> Home:
    home = Home(root).ensure()
    write_config(home, Identity(names=["Priya Nandakumar"], handles=["priya"]))
    for source in sources:
        source.mkdir(parents=True, exist_ok=True)
        remember_source_path(home, source.resolve())
    return home


class DaemonProcess:
    """`python -m assistant --home HOME daemon run` as a real child process."""

    def __init__(self, home: Home, quiet: float = 0.5, **settings: float) -> None:
        self.home = home
        self.files = DaemonFiles(home)
        self.env = {**os.environ, "ASSISTANT_HOME": str(home.root), "ASSISTANT_DAEMON_QUIET": str(quiet),
                    "ASSISTANT_DAEMON_AFTER_INGEST": "0.5",
                    # Other test processes share these cores; at nice 10 the daemon would wait on them.
                    "ASSISTANT_DAEMON_NICE": "0"}
        self.env.update({f"ASSISTANT_DAEMON_{k.upper()}": str(v) for k, v in settings.items()})
        self.proc: subprocess.Popen | None = None

    def start(self, oneshot: bool = False) -> "DaemonProcess":
        args = [sys.executable, "-m", "assistant", "--home", str(self.home.root), "daemon", "run"]
        self.proc = subprocess.Popen(args + (["--oneshot"] if oneshot else []), env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, payload: dict, timeout: float = 60.0) -> dict | None:
        return request(self.files.socket, payload, timeout=timeout)

    def status(self) -> dict | None:
        try:
            answer = self.ask({"op": "status"}, timeout=5)
        except DaemonError:
            return None
        return answer["status"] if answer else None

    def wait_ready(self, timeout: float = 180.0) -> dict:
        """Wait until the daemon answers and its start-up reconciliation is done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"daemon exited: {self.proc.stderr.read().decode()[-2000:]}"
            status = self.status()
            if status and status.get("last_reconciliation_at"):
                return status
            time.sleep(0.2)
        raise AssertionError(f"daemon not ready in {timeout}s")

    def wait(self, timeout: float = 180.0) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def log_count(self, text: str) -> int:
        return self.files.log.read_text(encoding="utf-8").count(text) if self.files.log.exists() else 0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def disk_state(root: Path) -> dict[str, str]:
    """Every file under `root` the daemon should have indexed: path → sha256 of its bytes."""
    root = root.resolve()
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in INDEXED_SUFFIXES and not any(
                ignored_name(part) for part in path.relative_to(root).parts):
            found[str(path)] = sha256(path)
    return found


def store_state(home: Home, root: Path) -> dict[str, str]:
    """What the store holds under `root`: path → file hash, for files that have their document."""
    db = connect(home.db_path)
    prefix = str(root.resolve()) + "/"
    try:
        rows = db.execute(
            "SELECT f.path, f.hash FROM files f JOIN documents d ON d.container = f.path "
            "WHERE substr(f.path, 1, ?) = ?", [len(prefix), prefix]).fetchall()
        orphans = db.execute(
            "SELECT count(*) FROM documents WHERE substr(container, 1, ?) = ? AND container NOT IN "
            "(SELECT path FROM files)", [len(prefix), prefix]).fetchone()[0]
    finally:
        db.conn.close()
    assert orphans == 0
    return dict(rows)


def wait_for_match(home: Home, root: Path, timeout: float = 90.0) -> dict[str, str]:
    """Wait until the store under `root` holds exactly the files on disk with their current content."""
    deadline = time.monotonic() + timeout
    while True:
        want, have = disk_state(root), store_state(home, root)
        if want == have:
            return have
        if time.monotonic() > deadline:
            missing = sorted(set(want) - set(have))[:5]
            extra = sorted(set(have) - set(want))[:5]
            stale = sorted(p for p in set(want) & set(have) if want[p] != have[p])[:5]
            raise AssertionError(f"store does not match disk: missing {missing}, extra {extra}, stale {stale}")
        time.sleep(0.25)


def assert_store_consistent(home: Home) -> None:
    """Integrity ok; every document has chunks 0..n-1, each with one vector; nothing orphaned."""
    db = connect(home.db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bad = db.execute(
            "SELECT d.id, count(c.id), min(c.position), max(c.position) FROM documents d "
            "LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.id "
            "HAVING count(c.id) = 0 OR min(c.position) != 0 OR max(c.position) != count(c.id) - 1").fetchall()
        assert bad == [], f"documents with a broken chunk set: {bad[:5]}"
        assert db.execute("SELECT count(*) FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id "
                          "WHERE v.chunk_id IS NULL").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)"
                          ).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)"
                          ).fetchone()[0] == 0
    finally:
        db.conn.close()


def store_summary(home: Home) -> dict:
    """What a store holds, independent of row ids and timing: documents (content hash and chunk
    hashes in order), files with their hashes, and the uris listed as errors."""
    db = connect(home.db_path)
    try:
        documents: dict[str, tuple[str, list[str]]] = {}
        for uri, digest, chunk in db.execute(
                "SELECT d.uri, d.content_hash, c.hash FROM documents d LEFT JOIN chunks c ON c.document_id = d.id "
                "ORDER BY d.uri, c.position"):
            documents.setdefault(uri, (digest, []))[1].append(chunk)
        files = dict(db.execute("SELECT path, hash FROM files").fetchall())
        errors = sorted(r[0] for r in db.execute("SELECT uri FROM quarantine"))
    finally:
        db.conn.close()
    return {"documents": documents, "files": files, "errors": errors}


def note_text(n: int, version: int = 0) -> str:
    """A short, distinct note: one chunk each."""
    topics = ["tomatoes", "greyhound", "lease", "drainage", "cabinets", "cycling", "kiln", "orchard"]
    return (f"# Note {n}\n\nVersion {version}. Thinking about the {topics[n % len(topics)]} again, "
            f"item {n} on the list: remember to call about it before Friday.\n")


def crash_rounds(home: Home, src: Path, files: int, iterations: int,
                 rng: random.Random) -> tuple[int, list[str]]:
    """Rewrite half of `files` notes, run `daemon run --oneshot`, SIGKILL it at a random point once it
    has begun to commit, and check the store; `iterations` times. Returns how many kills hit a running
    daemon, and what `assert_store_consistent` found wrong after each round that failed it.

    The kill points are drawn from the span a whole round writes for on this machine (one timed first,
    without a kill), so they land mid-run on a fast CPU as on a slow one: a fixed 0.6 s missed most runs
    on a machine that wrote a round's 150 notes in 0.2 s."""
    connect(home.db_path).close()  # schema in place, so the first commit seen below is indexing
    watcher = sqlite3.connect(str(home.db_path), timeout=30)
    killed_mid_run, failures = 0, []
    try:
        DaemonProcess(home).start(oneshot=True).wait()  # everything indexed once, as before each round below
        daemon, began = _start_round(home, src, files, iterations + 1, rng, watcher)
        daemon.wait()
        span = max(time.monotonic() - began, 0.05)
        for iteration in range(1, iterations + 1):
            daemon, _ = _start_round(home, src, files, iteration, rng, watcher)
            time.sleep(rng.uniform(0, 0.8 * span))
            if daemon.proc.poll() is None:
                killed_mid_run += 1
            daemon.kill()
            try:
                assert_store_consistent(home)
            except AssertionError as exc:
                failures.append(f"round {iteration}: {exc}")
    finally:
        watcher.close()
    return killed_mid_run, failures


def _start_round(home: Home, src: Path, files: int, version: int, rng: random.Random,
                 watcher: sqlite3.Connection) -> tuple[DaemonProcess, float]:
    """Rewrite half the notes as `version`, start a oneshot daemon, and return it once its first commit
    shows (or it has exited), with the time that happened."""
    for n in rng.sample(range(files), files // 2):  # enough that most kills land mid-run
        (src / f"f{n:03}.md").write_text(note_text(n, version=version))
    daemon = DaemonProcess(home).start(oneshot=True)
    seen = _data_version(watcher)
    deadline = time.monotonic() + 180
    while _data_version(watcher) == seen and daemon.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return daemon, time.monotonic()


def _data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits: how the crash loop sees that indexing has begun."""
    return conn.execute("PRAGMA data_version").fetchone()[0]
