"""The daemon's pure parts: the ignore filter, the stability tracker, periodic jobs, the debouncer, install."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.daemon.client import request
from assistant.daemon.debounce import Debouncer
from assistant.ingest.ignore import ignored_name
from assistant.daemon.jobs import Job, JobRunner
from assistant.daemon.runtime import DaemonFiles
from assistant.daemon.settings import DaemonSettings
from assistant.daemon.stability import StabilityTracker
from assistant.errors import UserError
from tests.conftest import run_cli


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("name", [
    ".notes.md.swp", "notes.md.swx", "notes.md~", "4913", ".#notes.md", "#notes.md#", "film.mkv.part",
    "setup.exe.crdownload", "draft.tmp", ".DS_Store", ".hidden.md",
])
def test_editor_and_download_leftovers_are_ignored(name):
    assert ignored_name(name)


@pytest.mark.parametrize("name", ["notes.md", "letter.txt", "4913.md", "partial-results.md", "report.temperature.txt"])
def test_real_files_are_not_ignored(name):
    assert not ignored_name(name)


def test_hidden_folders_below_the_root_are_ignored_but_not_above_it_nor_inside_a_maildir(tmp_path, assistant):
    from assistant.ingest.discover import Discovery

    root = tmp_path / ".config" / "notes"
    maildir = root / "Mail"
    for part in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (maildir / part).mkdir(parents=True)
    discovery = Discovery(assistant.sources)
    assert discovery.indexable(root / "todo.md", root)
    assert not discovery.indexable(root / ".git" / "HEAD", root)
    assert not discovery.indexable(root / "drafts" / ".plan.md.swp", root)
    # a Maildir is read whole: its Maildir++ folders (hidden names) hold mail, and a file inside
    # one belongs to the Maildir, not to a source of its own
    assert discovery.indexable(maildir / ".Sent" / "new" / "1773500001.M9P2.laptop", root)
    assert discovery.owner(maildir / ".Sent" / "new" / "1773500001.M9P2.laptop", root).path == maildir
    assert discovery.owner(root / "todo.md", root) is None
    assert discovery.owner(root / "Mail" / "cur" / "x", root / "Mail" / "cur") is None  # never above the root


def test_a_path_is_ready_only_after_its_signature_stays_put_for_the_quiet_period():
    clock, sizes = Clock(), {"a": (1, 10)}
    tracker = StabilityTracker(2.0, clock=clock, stat=lambda p: sizes.get(p))
    tracker.note("a")
    assert tracker.ready() == [] and tracker.seconds_to_next() == 2.0
    clock.now += 1.5
    sizes["a"] = (1, 20)  # still being written
    assert tracker.ready() == []
    clock.now += 1.9  # 1.9 s since the last change: not yet
    assert tracker.ready() == []
    clock.now += 0.2
    assert tracker.ready() == ["a"] and len(tracker) == 0 and tracker.seconds_to_next() is None


def test_an_event_restarts_the_quiet_period_and_a_vanished_path_becomes_ready():
    clock, sizes = Clock(), {"a": (1, 10)}
    tracker = StabilityTracker(1.0, clock=clock, stat=lambda p: sizes.get(p))
    tracker.note("a")
    clock.now += 0.9
    tracker.note("a")  # touched again with the same size and mtime
    clock.now += 0.5
    assert tracker.ready() == []
    del sizes["a"]
    clock.now += 0.1
    assert tracker.ready() == []  # the delete is a change; it must settle too
    clock.now += 1.0
    assert tracker.ready() == ["a"]


def test_a_finished_write_is_ready_at_once_unless_it_changes_again():
    clock, sizes = Clock(), {"a": (1, 10), "b": (1, 5)}
    tracker = StabilityTracker(2.0, clock=clock, stat=lambda p: sizes.get(p))
    tracker.note("a")  # created: more writes may follow
    tracker.note("a", finished=True)  # closed after writing
    tracker.note("b", finished=True)
    sizes["b"] = (1, 6)  # reopened and written after the close: wait again
    assert tracker.ready() == ["a"] and tracker.seconds_to_next() == 2.0
    clock.now += 2.0
    assert tracker.ready() == ["b"]


def test_a_failing_job_backs_off_exponentially_and_recovers():
    clock, calls = Clock(), []

    def flaky():
        calls.append(clock.now)
        if len(calls) <= 3:
            raise ConnectionError("imap.example: connection refused")

    errors = []
    runner = JobRunner(clock=clock, on_error=lambda job, exc: errors.append(str(exc)))
    job = Job("imap", 10.0, flaky)
    runner.add(job, first_in=0)
    delays = []
    for _ in range(5):
        clock.now = job.next_at
        before = clock.now
        runner.run_due()
        delays.append(job.next_at - before)
    assert delays == [20.0, 40.0, 80.0, 10.0, 10.0]
    assert errors == ["imap.example: connection refused"] * 3
    assert job.failures == 0 and job.last_error is None


def test_backoff_is_capped():
    job = Job("x", 60.0, lambda: None, max_backoff=300.0, failures=10)
    assert job.delay() == 300.0


def test_debouncer_runs_once_after_a_burst_in_its_own_thread():
    ran: list[str] = []
    debouncer = Debouncer(0.3, lambda: ran.append(threading.current_thread().name), name="after-ingest").start()
    try:
        for _ in range(5):
            debouncer.trigger()
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert ran == ["after-ingest"]
        debouncer.trigger()
        time.sleep(0.8)
        assert len(ran) == 2
    finally:
        debouncer.stop()


def test_debouncer_survives_a_failing_action():
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("profile build failed")

    debouncer = Debouncer(0.05, boom).start()
    try:
        debouncer.trigger()
        time.sleep(0.4)
        debouncer.trigger()
        time.sleep(0.4)
        assert len(calls) == 2 and debouncer.last_error == "RuntimeError: profile build failed"
    finally:
        debouncer.stop()


def test_settings_from_env_and_a_clear_error(monkeypatch):
    monkeypatch.setenv("ASSISTANT_DAEMON_QUIET", "0.25")
    assert DaemonSettings.from_env().quiet == 0.25
    monkeypatch.setenv("ASSISTANT_DAEMON_RECONCILE", "soon")
    with pytest.raises(UserError, match="ASSISTANT_DAEMON_RECONCILE='soon' is not a number"):
        DaemonSettings.from_env()


def test_no_daemon_means_no_answer(temp_home):
    files = DaemonFiles(temp_home).ensure()
    assert not files.is_running()
    assert request(files.socket, {"op": "status"}) is None
    files.socket.write_text("")  # a stale socket file left by a killed daemon
    assert request(files.socket, {"op": "status"}) is None


def test_a_too_long_home_is_refused_with_the_fix(tmp_path):
    from assistant.home import Home

    with pytest.raises(UserError, match="use a shorter --home"):
        DaemonFiles(Home(tmp_path / ("x" * 120))).ensure()


def test_status_and_stop_when_not_running(temp_home):
    result = run_cli("daemon", "status", home=temp_home)
    assert result.returncode == 0 and result.stdout.startswith("stopped")
    assert run_cli("daemon", "stop", home=temp_home).stdout.strip() == "Not running."


def test_install_writes_a_systemd_user_unit(temp_home, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_SYSTEMD_DIR", str(tmp_path / "units"))
    result = run_cli("daemon", "install", home=temp_home)
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "units" / "persona-assistant.service").read_text()
    assert f"-m assistant --home {temp_home.root} daemon run" in unit and "WantedBy=default.target" in unit
    assert "systemctl --user enable --now persona-assistant" in result.stdout


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_the_daemon_builds_the_embedder_the_config_names_as_the_cli_does(tmp_path, backend):
    from assistant.core import Assistant
    from assistant.daemon.service import Daemon
    from tests.daemon_support import make_home

    home = make_home(tmp_path / "home", [tmp_path / "src"])
    home.config_path.write_text(home.config_path.read_text().replace('backend = "torch"', f'backend = "{backend}"'))
    cli = Assistant(home).embedder
    daemon = Daemon(home).shared_embedder()
    assert type(daemon._inner) is type(cli) and daemon.name == cli.name


def test_a_daemon_with_an_unknown_embedding_backend_refuses_to_start(tmp_path):
    from tests.daemon_support import make_home

    home = make_home(tmp_path / "home", [tmp_path / "src"])
    home.config_path.write_text(home.config_path.read_text().replace('backend = "torch"', 'backend = "tpu"'))
    result = run_cli("daemon", "run", "--oneshot", home=home)
    assert result.returncode == 1 and '[embedding] backend must be one of' in result.stderr and '"tpu"' in result.stderr
