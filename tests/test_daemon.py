"""The daemon as a real subprocess watching a real folder: every way files change ends with the store matching them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import Config, update_config
from assistant.daemon.client import NO_DAEMON_ENV, DaemonError
from assistant.errors import UserError
from assistant.home import Home
from assistant.prompt.draft import end_at_sentence
from assistant.store import connect
from assistant_plugins.draft.terminal import SentenceStream
from tests.conftest import make_assistant, run_cli
from tests.daemon_support import (READER, DaemonProcess, assert_store_consistent, install_recorder_plugin,
                                  make_home, note_text, store_summary, wait_for_match)

QUIET = 0.5
AFTER_INGEST = 2.0  # the hook's debounce: longer than one small batch takes on a busy machine
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One daemon for the module, watching `src/`; each test works in its own subfolder. A third-party
    plugin implementing `after_ingest` is installed for it, recording each report in `after_ingest.jsonl`."""
    base = tmp_path_factory.mktemp("daemon")
    src = base / "src"
    (src / "seed").mkdir(parents=True)
    (src / "seed" / "hello.md").write_text(note_text(0))
    home = make_home(base / "home", [src])
    daemon = DaemonProcess(home, quiet=QUIET)
    plugin = install_recorder_plugin(base / "plugin")
    daemon.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(plugin), os.environ.get("PYTHONPATH")) if p)
    daemon.env["RECORDER_OUT"] = str(base / "after_ingest.jsonl")
    daemon.env["ASSISTANT_DAEMON_AFTER_INGEST"] = str(AFTER_INGEST)
    daemon.start()
    daemon.wait_ready()
    yield daemon, src
    daemon.stop()
    assert daemon.proc.returncode == 0


def settle(daemon: DaemonProcess, folder: Path) -> dict[str, str]:
    return wait_for_match(daemon.home, folder)


def test_status_socket_and_files_are_private(live):
    daemon, src = live
    status = daemon.status()
    assert status["state"] == "running" and status["pid"] == daemon.pid
    assert status["documents"] >= 1 and status["seconds_since_reconciliation"] is not None
    assert stat.S_IMODE(os.stat(daemon.files.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(daemon.files.run_dir).st_mode) == 0o700
    cli = run_cli("daemon", "status", "--json", home=daemon.home)
    data = json.loads(cli.stdout)
    assert data["state"] == "running" and data["pid"] == daemon.pid and data["queue"] >= 0
    assert data["last_error"] is None
    text = run_cli("daemon", "status", home=daemon.home).stdout
    assert f"running (pid {daemon.pid})" in text and "last reconciliation:" in text
    # a second daemon for the same home refuses to start, naming the running one
    second = subprocess.run([sys.executable, "-m", "assistant", "--home", str(daemon.home.root), "daemon", "run"],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 1 and f"already running for {daemon.home.root} (pid {daemon.pid})" in second.stderr


def test_atomic_save_is_indexed_once(live):
    daemon, src = live
    folder = src / "atomic"
    folder.mkdir()
    target = folder / "plan.md"
    target.write_text(note_text(1))
    settle(daemon, folder)
    before = daemon.log_count(f"stored {target}")
    # an editor's save: write a temp file beside it, then rename it over the original
    tmp = folder / ".plan.md.swp"
    tmp.write_text(note_text(1, version=2))
    os.replace(tmp, target)
    vim_backup = folder / "plan.md~"
    vim_backup.write_text("old")
    (folder / "4913").write_text("")
    state = settle(daemon, folder)
    assert set(state) == {str(target.resolve())}
    time.sleep(QUIET * 4)  # nothing else arrives later for the same change
    assert daemon.log_count(f"stored {target}") == before + 1


def test_move_in_and_move_out(live, tmp_path):
    daemon, src = live
    folder = src / "moves"
    folder.mkdir()
    outside = tmp_path / "letter.txt"
    outside.write_text(note_text(2))
    os.rename(outside, folder / "letter.txt")
    assert str((folder / "letter.txt").resolve()) in settle(daemon, folder)
    os.rename(folder / "letter.txt", tmp_path / "letter.txt")
    assert settle(daemon, folder) == {}


def test_directory_moves_in_within_and_out(live, tmp_path):
    daemon, src = live
    folder = src / "dirmoves"
    folder.mkdir()
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    for n in range(5):
        (project / ("sub" if n % 2 else "") / f"n{n}.md").write_text(note_text(10 + n))
    os.rename(project, folder / "project")
    assert len(settle(daemon, folder)) == 5
    os.rename(folder / "project", folder / "renamed")
    state = settle(daemon, folder)
    assert len(state) == 5 and all("/renamed/" in path for path in state)
    os.rename(folder / "renamed", tmp_path / "gone")
    assert settle(daemon, folder) == {}


def test_deletes_of_files_and_folders(live):
    daemon, src = live
    folder = src / "deletes"
    (folder / "inner").mkdir(parents=True)
    for n in range(4):
        (folder / ("inner" if n % 2 else "") / f"d{n}.txt").write_text(note_text(20 + n))
    assert len(settle(daemon, folder)) == 4
    (folder / "d0.txt").unlink()
    shutil.rmtree(folder / "inner")
    assert len(settle(daemon, folder)) == 1


def test_mkdir_p_then_immediate_writes(live):
    daemon, src = live
    folder = src / "mkdirp"
    deep = folder / "a" / "b" / "c"
    deep.mkdir(parents=True)
    for n in range(3):
        (deep / f"m{n}.md").write_text(note_text(30 + n))
    (folder / "a" / "top.md").write_text(note_text(33))
    assert len(settle(daemon, folder)) == 4


def test_burst_of_300_files(live):
    daemon, src = live
    folder = src / "burst"
    folder.mkdir()
    for n in range(300):
        (folder / f"b{n:03}.md").write_text(note_text(100 + n))
    assert len(wait_for_match(daemon.home, folder, timeout=240)) == 300
    time.sleep(QUIET * 2)
    log = daemon.files.log.read_text()
    assert all(log.count(f"stored {folder / f'b{n:03}.md'}\n") == 1 for n in range(300))


def test_slow_copy_waits_until_the_file_is_complete(live):
    daemon, src = live
    folder = src / "slow"
    folder.mkdir()
    target = folder / "big.txt"
    paragraph = "The drainage swale along the north fence must be dug before autumn rain. " * 12 + "\n\n"
    with open(target, "w") as handle:
        for _ in range(20):  # ~2 s of writing, each pause well under the quiet period
            handle.write(paragraph)
            handle.flush()
            time.sleep(0.1)
    settle(daemon, folder)
    time.sleep(QUIET * 4)
    assert daemon.log_count(f"stored {target}") == 1


def test_warm_search_matches_cold_cli(live):
    daemon, src = live
    folder = src / "search"
    folder.mkdir()
    (folder / "pets.md").write_text("Biscuit the greyhound hates thunderstorms and hides under the desk.")
    (folder / "garden.md").write_text("The tomatoes need staking before June; the kiln needs a new shelf.")
    settle(daemon, folder)
    warm = run_cli("search", "what is my dog afraid of?", "-k", "5", "--json", home=daemon.home)
    assert warm.returncode == 0, warm.stderr
    socket_hits = daemon.ask({"op": "search", "query": "what is my dog afraid of?", "k": 5})["hits"]
    env_cold = {**os.environ, "ASSISTANT_NO_DAEMON": "1", "ASSISTANT_HOME": str(daemon.home.root)}
    cold = subprocess.run([sys.executable, "-m", "assistant", "search", "what is my dog afraid of?", "-k", "5",
                           "--json"], capture_output=True, text=True, env=env_cold, timeout=300)
    assert cold.returncode == 0, cold.stderr
    warm_ids = [hit["chunk_id"] for hit in json.loads(warm.stdout)]
    assert warm_ids == [hit["chunk_id"] for hit in json.loads(cold.stdout)] == [h["chunk_id"] for h in socket_hits]
    assert json.loads(warm.stdout)[0]["uri"].endswith("pets.md")
    listing = run_cli("search", "what is my dog afraid of?", "-k", "1", home=daemon.home)
    assert listing.returncode == 0 and "pets.md" in listing.stdout and "greyhound" in listing.stdout


def test_bad_requests_get_a_reason_and_the_connection_survives(live):
    daemon, _ = live
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(daemon.files.socket))
        conn.sendall(b'{"op": "dance"}\nnot json\n{"op": "search", "query": "kiln", "filters": {"colour": 1}}\n'
                     b'{"op": "status"}\n')
        reader = conn.makefile("rb")
        answers = [json.loads(reader.readline()) for _ in range(4)]
    assert answers[0] == {"ok": False, "error": "ValueError: unknown op 'dance'; use search, status or skill"}
    assert not answers[1]["ok"] and "JSON" in answers[1]["error"]
    assert not answers[2]["ok"] and "unknown search filter" in answers[2]["error"]
    assert answers[3]["ok"] and answers[3]["status"]["pid"] == daemon.pid


@pytest.mark.slow
def test_skills_over_the_socket_stream_and_answer(live):
    """Any skill runs on the daemon's warm models: a draft streams its guarded lines first and
    then returns the same text; an ask answers; a bad request gets a reason. `assistant ask` and
    `assistant draft` use the daemon's model even when their own config names one they cannot load."""
    from assistant.daemon.client import run_skill

    daemon, src = live
    folder = src / "skills"
    folder.mkdir()
    (folder / "kiln.md").write_text("My kiln in the garage fires stoneware at 1240 degrees; it takes nine hours.")
    settle(daemon, folder)
    with pytest.raises(DaemonError, match='needs "name"'):
        daemon.ask({"op": "skill", "options": {}})
    with pytest.raises(DaemonError, match='no "save" or "on_text"'):
        daemon.ask({"op": "skill", "name": "draft", "options": {"instruction": "x", "save": "/tmp/x"}})
    with pytest.raises(UserError, match="no skill named 'juggle'"):
        daemon.ask({"op": "skill", "name": "juggle", "options": {}})
    pieces: list[str] = []
    shown: list[str] = []
    terminal = SentenceStream(shown.append)  # what `assistant draft` prints from the pieces

    def on_text(piece: str) -> None:
        pieces.append(piece)
        terminal(piece)

    draft = run_skill(daemon.files.socket, "draft", {"instruction": "thank Sam for the lease draft", "to": "Sam",
                                                     "max_tokens": 16}, on_text=on_text, timeout=300)
    assert draft["draft"].strip() and draft["model"] and draft["seconds"] > 0
    # what streamed is the draft; one cut off by its token budget then ends at its last whole sentence,
    # and the terminal shows exactly that (held to the person's habits as it streamed)
    assert len(pieces) >= 1 and "".join(pieces).strip().startswith(draft["draft"]), (pieces, draft)
    terminal.finish(draft["draft"])
    assert "".join(shown).strip() == draft["draft"]
    answer = run_skill(daemon.files.socket, "ask", {"question": "what temperature does my kiln fire at?",
                                                    "max_tokens": 24}, timeout=300)
    assert answer["found"] and answer["answer"].strip(), answer
    assert any(c["uri"].endswith("kiln.md") for c in answer["citations"]), answer
    # The CLI reads a config whose generator cannot be loaded; the daemon keeps the model it loaded at
    # start. So a CLI that answers anyway answered through the daemon.
    generator = Config.load(daemon.home).generator
    set_generator(daemon.home, "not-on-this-machine")
    try:
        alone = subprocess.run([sys.executable, "-m", "assistant", "--home", str(daemon.home.root), "draft",
                                "thank Sam", "--to", "Sam"], capture_output=True, text=True, timeout=120,
                               env={**os.environ, NO_DAEMON_ENV: "1"})
        assert alone.returncode == 1 and "no model named 'not-on-this-machine'" in alone.stderr, alone.stderr
        before = daemon.log_count("skill ask answered")
        cli = run_cli("ask", "what temperature does my kiln fire at?", "--json", home=daemon.home)
        assert cli.returncode == 0, "`assistant ask` did not use the warm daemon: " + cli.stderr
        assert daemon.log_count("skill ask answered") == before + 1
        assert any(c["uri"].endswith("kiln.md") for c in json.loads(cli.stdout)["citations"])
        before = daemon.log_count("skill draft answered")
        drafted = run_cli("draft", "thank Sam for the lease draft", "--to", "Sam", "--max-tokens", "24",
                          home=daemon.home)
        assert drafted.returncode == 0 and drafted.stdout.strip(), "`assistant draft` did not use the warm daemon: " \
            + drafted.stderr
        assert daemon.log_count("skill draft answered") == before + 1
        # streamed from the daemon, the screen holds whole sentences: the cut-off words are not shown
        printed = drafted.stdout.strip()
        assert end_at_sentence(printed) == printed and "Note: the draft changed" not in drafted.stderr, printed
    finally:
        set_generator(daemon.home, generator)
    wrong = run_cli("draft", "--reply-to", "<nobody@nowhere.example>", home=daemon.home)
    assert wrong.returncode == 1 and wrong.stderr.count("Error:") == 1 and "Warning" not in wrong.stderr, wrong.stderr


def set_generator(home: Home, name: str) -> None:
    """Point `[models] generator` at `name`, known or not (`models use` would refuse an unknown one)."""
    update_config(home, lambda document: document["models"].__setitem__("generator", name))


def _recorded(daemon: DaemonProcess) -> list[dict]:
    out = Path(daemon.env["RECORDER_OUT"])
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_after_ingest_runs_debounced_in_the_background(live):
    daemon, src = live
    folder = src / "hook"
    folder.mkdir()
    seen, deadline = -1, time.monotonic() + 60
    while len(_recorded(daemon)) != seen and time.monotonic() < deadline:  # calls due for earlier batches made
        seen = len(_recorded(daemon))
        time.sleep(AFTER_INGEST * 2 + 1)
    before = daemon.log_count("after_ingest hooks ran for:")
    for n in range(3):  # each is indexed when closed; batches done within the debounce make one call
        (folder / f"h{n}.md").write_text(note_text(50 + n))
    settle(daemon, folder)
    deadline = time.monotonic() + 30
    while len(_recorded(daemon)) == seen and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(AFTER_INGEST * 2)  # a burst is one call, not one per file or batch
    calls = _recorded(daemon)[seen:]
    assert len(calls) == 1 and daemon.log_count("after_ingest hooks ran for:") == before + 1
    report = calls[0]["report"]
    assert (report["added"], report["updated"], report["removed"], report["failed"]) == (3, 0, 0, 0)
    assert report["chunks"] == 3 and calls[0]["documents"] == daemon.status()["documents"]
    # the style profile was refreshed before the plugins' hooks ran: the three new notes have their rows
    db = connect(daemon.home.db_path)
    assert db.execute("SELECT count(*) FROM style_features f JOIN documents d ON d.id = f.document_id "
                      "WHERE substr(d.container, 1, ?) = ?", [len(str(folder)), str(folder)]).fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM style_dirty").fetchone()[0] == 0


def _search_uris(daemon: DaemonProcess, query: str) -> list[str]:
    return [hit["uri"] for hit in daemon.ask({"op": "search", "query": query, "k": 5})["hits"]]


def test_new_mail_and_slack_days_are_searchable_without_reconciliation(live):
    """A Maildir or Slack export is read whole: a file dropped inside one re-reads it, by the watcher."""
    daemon, src = live
    folder = src / "mailslack"
    maildir, slack = folder / "Maildir", folder / "slack-export"
    shutil.copytree(FIXTURES / "mail" / "Maildir", maildir)
    shutil.copytree(FIXTURES / "chats" / "slack-export", slack)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            store_summary(daemon.home)["files"].keys() >= {str(maildir.resolve()), str(slack.resolve())}):
        time.sleep(0.25)
    reconciled = daemon.status()["last_reconciliation_at"]
    message = ("From: Leo Marsh <leo@fernhill.example>\nTo: priya@fernhill.example\nSubject: Heron count\n"
               "Date: Tue, 3 Mar 2026 08:00:00 +0000\nMessage-ID: <heron@fernhill.example>\n\n"
               "Seventeen grey herons nested by the quarry pond this spring.\n")
    (maildir / "tmp" / "1773500000.M9P1.laptop").write_text(message)  # delivered as an MDA does: tmp, then new
    os.rename(maildir / "tmp" / "1773500000.M9P1.laptop", maildir / "new" / "1773500000.M9P1.laptop")
    sent = message.replace("Heron count", "Marmot den").replace("herons nested by the quarry pond",
                                                                 "marmots dug a den under the shed")
    (maildir / ".Sent" / "new" / "1773500001.M9P2.laptop").write_text(sent)  # a Maildir++ folder: hidden
    (slack / "general" / "2024-03-06.json").write_text(json.dumps([
        {"type": "message", "user": "U02LEO", "text": "The kayak rack at the boathouse is finally fixed.",
         "ts": "1709712000.000100"}]))
    wanted = {"how many herons nested by the quarry?": f"{maildir.resolve()}#INBOX/1773500000.M9P1.laptop",
              "where did the marmots dig a den?": f"{maildir.resolve()}#Sent/1773500001.M9P2.laptop",
              "is the kayak rack fixed?": f"{slack.resolve() / 'general' / '2024-03-06.json'}#ts=1709712000.000100"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(uri in _search_uris(daemon, q) for q, uri in wanted.items()):
        time.sleep(0.5)
    assert {q: uri in _search_uris(daemon, q) for q, uri in wanted.items()} == dict.fromkeys(wanted, True)
    assert daemon.status()["last_reconciliation_at"] == reconciled  # found by watching, not by the 10-minute walk
    assert not [line for line in daemon.files.log.read_text().splitlines() if "no source reads" in line]


def test_concurrent_indexers_and_the_daemon_converge(live, tmp_path, embedder):
    """`assistant index` three times at once on a folder the daemon is indexing, then twice more after
    edits: every process exits 0 and the store is the one a single indexer makes, while readers search."""
    daemon, src = live
    staged = tmp_path / "staged"
    staged.mkdir()
    for n in range(30):
        (staged / f"c{n:02}.md").write_text(note_text(400 + n))
    for n in range(2):
        (staged / f"long{n}.md").write_text("\n\n".join(f"# Part {p}\n\n{note_text(500 + 40 * n + p)}"
                                                        for p in range(30)))
    folder = src / "concurrent"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(daemon.home.db_path), "20"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]

    def index_at_once(count: int) -> None:
        runs = [subprocess.Popen([sys.executable, "-m", "assistant", "index", str(folder)],
                                 env={**os.environ, "ASSISTANT_HOME": str(daemon.home.root)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
        results = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
        assert [code for code, _ in results] == [0] * count, [err[-2000:] for _, err in results]

    os.rename(staged, folder)  # the daemon sees the folder arrive as the indexers start
    index_at_once(3)
    wait_for_match(daemon.home, folder, timeout=180)
    for n in range(0, 30, 3):
        (folder / f"c{n:02}.md").write_text(note_text(400 + n, version=2))
    for n in range(1, 30, 6):
        (folder / f"c{n:02}.md").unlink()
    (folder / "long0.md").write_text("\n\n".join(f"# Part {p}\n\n{note_text(700 + p)}" for p in range(25)))
    index_at_once(2)
    wait_for_match(daemon.home, folder, timeout=180)
    for out, err in (reader.communicate(timeout=120) for reader in readers):
        queries, errors = map(int, out.split())
        assert errors == 0 and queries > 0, err

    alone = make_assistant(Home(tmp_path / "alone"), embedder)
    from assistant.ingest.pipeline import index_paths

    index_paths(alone, [folder])
    prefix = str(folder.resolve()) + "/"

    def under(summary: dict) -> dict:
        return {part: {k: v for k, v in summary[part].items() if k.startswith(prefix)} for part in ("documents", "files")}

    together = under(store_summary(daemon.home))
    assert len(together["documents"]) == 27 and together == under(store_summary(alone.home))
    assert_store_consistent(daemon.home)


def test_start_status_stop_from_the_cli(tmp_path):
    home = make_home(tmp_path / "home", [tmp_path / "empty"])
    started = run_cli("daemon", "start", home=home)
    assert started.returncode == 0 and started.stdout.startswith("Started (pid "), started.stderr
    pid = int(started.stdout.split("pid ")[1].split(")")[0])
    try:
        assert run_cli("daemon", "start", home=home).stdout.startswith(f"Already running (pid {pid})")
        assert json.loads(run_cli("daemon", "status", "--json", home=home).stdout)["pid"] == pid
    finally:
        stopped = run_cli("daemon", "stop", home=home)
    assert stopped.stdout.strip() == f"Stopped (pid {pid})."
    status = json.loads(run_cli("daemon", "status", "--json", home=home).stdout)
    assert status["state"] == "stopped" and status["pid"] is None
    assert not (home.root / "run" / "daemon.sock").exists()
    assert "running (pid" in (home.root / "logs" / "daemon.log").read_text()


def test_a_closed_or_moved_file_skips_the_quiet_period_and_an_open_one_waits(tmp_path):
    """With a quiet period far longer than the test, only the kernel's close-write and moved-to events
    can get a file indexed: one written and closed is stored, one moved into place is stored, and
    one whose writer still holds it open is not, until it is closed."""
    src = tmp_path / "src"
    src.mkdir()
    daemon = DaemonProcess(make_home(tmp_path / "home", [src]), quiet=600)
    daemon.start()
    try:
        daemon.wait_ready()
        held = open(src / "held.md", "w")
        held.write(note_text(1))
        held.flush()
        (src / "closed.md").write_text(note_text(2))
        (tmp_path / "moved.md").write_text(note_text(3))
        os.rename(tmp_path / "moved.md", src / "moved.md")
        deadline = time.monotonic() + 400  # the first batch loads the embedding model
        while not (daemon.log_count(f"stored {src / 'closed.md'}") and daemon.log_count(f"stored {src / 'moved.md'}")):
            assert time.monotonic() < deadline, "a closed file waited for the quiet period"
            time.sleep(0.1)
        time.sleep(1.0)
        assert daemon.log_count(f"stored {src / 'held.md'}") == 0  # still open: it may grow
        held.close()
        wait_for_match(daemon.home, src, timeout=120)
    finally:
        daemon.stop()
