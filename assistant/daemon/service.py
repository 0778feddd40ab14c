"""The daemon: watch the sources, index settled changes in batches, reconcile, answer over the socket.

Threads: the main thread is the one writer (watch events → stability tracker →
`Indexer` batches, and the periodic jobs); watchdog's observer only queues paths;
the socket server answers from its own reader connection; the `after_ingest` hook
runs in a debounced worker with its own connection, so it never blocks ingestion.
A stop `Event` (set by SIGTERM/SIGINT) ends the loop between batches.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path

from assistant.config import Config
from assistant.core import Assistant
from assistant.daemon.debounce import Debouncer
from assistant.daemon.jobs import Job, JobRunner
from assistant.daemon.models import SharedEmbedder
from assistant.daemon.runtime import DaemonFiles
from assistant.daemon.settings import DaemonSettings
from assistant.daemon.stability import StabilityTracker
from assistant.errors import UserError
from assistant.home import Home
from assistant.plugins import call_each

log = logging.getLogger("assistant.daemon")

MAX_WAIT = 30.0  # the idle loop wakes at least this often (to run due jobs), never busy-polls
MIN_IDLE_WAIT = 1.0


class Stopping(Exception):
    """Raised from the indexer's progress callback to abandon a long run when the daemon stops."""


class Daemon:
    def __init__(self, home: Home, settings: DaemonSettings | None = None) -> None:
        self.home = home
        self.files = DaemonFiles(home)
        self.settings = settings or DaemonSettings.from_env()
        self.stop = threading.Event()
        # (path, finished) from the watcher, or None to wake the loop
        self.events: queue.SimpleQueue[tuple[str, bool] | None] = queue.SimpleQueue()
        self.tracker = StabilityTracker(self.settings.quiet)
        self.started_at = time.time()
        self.state = "starting"
        self.last_error: str | None = None
        self.files_stored = 0
        self.documents = 0
        self.batches = 0
        self.last_reconciliation: dict | None = None
        self._last_full_hash = 0.0
        self._lock_handle = None
        self._unreported = None
        self._report_lock = threading.Lock()
        self.embedder: SharedEmbedder | None = None
        self.writer: Assistant | None = None
        self.answers = None  # WarmAnswers, while serving
        self.after_ingest: Debouncer | None = None
        self.watcher = None  # TreeWatcher, while serving

    # -- lifecycle -------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the one-daemon-per-home lock and write the pid file."""
        self.files.ensure()
        handle = open(self.files.lock, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(f"a daemon is already running for {self.home.root} (pid {self.files.read_pid()}); "
                            "see `assistant daemon status` or stop it with `assistant daemon stop`") from None
        self._lock_handle = handle
        self.files.pid.write_text(f"{os.getpid()}\n")

    def _assistant(self) -> Assistant:
        assistant = Assistant(self.home, Config.load(self.home))
        assistant.__dict__["embedder"] = self.embedder
        return assistant

    def shared_embedder(self) -> SharedEmbedder:
        """The model the store's codes were made with, built as `Assistant.embedder` builds it
        (from `[embedding] backend`), loaded on first use."""
        return SharedEmbedder(lambda: Assistant(self.home, Config.load(self.home)).embedder)

    def run(self, oneshot: bool = False) -> None:
        self.acquire()
        try:
            os.nice(int(self.settings.nice))  # indexing yields the CPU to whatever the person is doing
        except OSError:
            pass
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.request_stop())
        self.embedder = self.shared_embedder()
        self.writer = self._assistant()
        self.documents = self._count_documents()
        try:
            if oneshot:
                self.state = "reconciling"
                self.reconcile(rehash=True)
            else:
                self._serve()
        finally:
            self.state = "stopped"
            self._write_status()
            self.files.pid.unlink(missing_ok=True)
            log.info("stopped")

    def request_stop(self) -> None:
        self.stop.set()
        self.events.put(None)

    def _serve(self) -> None:
        from assistant.daemon.server import WarmAnswers, serve
        from assistant.daemon.watch import TreeWatcher
        from assistant.ingest.discover import Discovery

        self.answers = WarmAnswers(self._assistant())
        self.answers.refresh()
        hook_assistant = self._assistant()
        self.after_ingest = Debouncer(self.settings.after_ingest, lambda: self._run_after_ingest(hook_assistant),
                                      name="after-ingest").start()
        self.watcher = TreeWatcher(lambda path, finished: self.events.put((path, finished)), Discovery(self.writer.sources).indexable)
        self.watcher.sync(self._roots())
        self.watcher.start()
        server = serve(str(self.files.socket), self.answers, self.status)
        self.jobs = JobRunner(on_error=self._job_failed)
        for job, first_in in self._jobs():
            self.jobs.add(job, first_in)
        self.state = "idle"
        log.info("running (pid %d); quiet period %.1fs, reconciliation every %.0fs",
                 os.getpid(), self.settings.quiet, self.settings.reconcile)
        self._write_status()
        try:
            self._loop()
        finally:
            server.shutdown()
            server.server_close()
            self.files.socket.unlink(missing_ok=True)
            self.watcher.stop()
            self.after_ingest.stop()

    def _jobs(self) -> list[tuple[Job, float]]:
        """The periodic jobs and when each first runs: ours, then those plugins add through
        `register_jobs` (the mail plugin's IMAP polling), each with backoff on errors."""
        release_check = min(30.0, self.settings.idle_release)
        jobs = [
            # Reconciliation is the safety net for lost watch events: inotify's queue overflows
            # (IN_Q_OVERFLOW) under a burst, watches are missing on folders created before the
            # watch was added, and nothing watches while the daemon is down. It runs at start.
            (Job("reconcile", self.settings.reconcile, self._reconcile_job), 0.0),
            (Job("release-models", release_check, self._release_idle_models), release_check),
        ]

        def register(name: str, interval: float, run) -> None:
            jobs.append((Job(name, float(interval), lambda: self._plugin_job(name, run)), 1.0))

        for plugin, reason in call_each(self.writer.plugins.hook.register_jobs, register=register).items():
            log.error("plugin %s could not register its jobs: %s", plugin, reason)
        return jobs

    def _plugin_job(self, name: str, run) -> None:
        """A plugin's periodic job (IMAP polling), on this writer thread; new documents become searchable."""
        before = self._count_documents()
        run(self.writer)
        self.documents = self._count_documents()
        if self.documents != before:
            log.info("%s: %+d documents", name, self.documents - before)
            self.answers_refresh()
            self._write_status()

    # -- the loop -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stop.is_set():
            self._wait_for_events(self._wait_seconds())
            if self.stop.is_set():
                break
            ready = self.tracker.ready()
            if ready:
                self._process(ready)
            self.jobs.run_due(self.stop.is_set)

    def _wait_seconds(self) -> float:
        pending = self.tracker.seconds_to_next()
        job = self.jobs.seconds_to_next()
        if pending is not None:
            # Something is settling: wake when the earliest path's quiet period could be over.
            return min(pending, job if job is not None else MAX_WAIT) + 0.01
        return max(MIN_IDLE_WAIT, min(job if job is not None else MAX_WAIT, MAX_WAIT))

    def _wait_for_events(self, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if event is not None:
                self.tracker.note(*event)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return

    def _process(self, ready: list[str]) -> None:
        """Index settled paths in batches: a path inside a folder read whole (a Maildir) re-reads that
        folder, gone paths lose their documents, folders are walked (`Indexer.discover`, as `assistant index` does)."""
        from assistant.ingest.pipeline import Indexer

        roots = self.watcher.roots if self.watcher is not None else self._roots()
        settled = set(ready)
        try:
            indexer = Indexer(self.writer)
            gone = [p for p in ready if not os.path.lexists(p)
                    and not any(indexer.discovery.owner(Path(p), root) for root in roots)]
            units = indexer.discover([Path(p) for p in ready if p not in gone], roots=roots)
            # a file still settling inside a folder that has settled waits for its own turn
            units = sorted((u for u in units if str(u.path) in settled or str(u.path) not in self.tracker),
                           key=lambda unit: str(unit.path))
            for where, reason in indexer.report.problems:
                log.warning("%s: %s", where, reason)
            if gone:
                report = Indexer(self.writer).forget([Path(p) for p in gone])
                log.info("forgot %d path(s): %s", len(gone), report.summary())
                self._after_batch(report)
            size = int(self.settings.batch)
            for start in range(0, len(units), size):
                if self.stop.is_set():
                    return
                self._index(units[start : start + size])
        except Stopping:
            return
        except Exception as exc:  # a failed batch is logged and retried by the next reconciliation
            self._error(f"indexing failed: {type(exc).__name__}: {exc}")

    def _index(self, units: list) -> None:
        from assistant.ingest.pipeline import Indexer

        paths = [str(unit.path) for unit in units]
        self.state = f"indexing {len(paths)} file(s)"
        before = self._stored_hashes(paths)
        report = Indexer(self.writer, on_progress=self._check_stop).run([unit.path for unit in units], units=units)
        after = self._stored_hashes(paths)
        for path in paths:
            if after.get(path) is not None and after.get(path) != before.get(path):
                self.files_stored += 1
                log.info("stored %s", path)
        for where, reason in report.problems:
            log.warning("%s: %s", where, reason)
        self._after_batch(report)

    def _stored_hashes(self, paths: list[str]) -> dict[str, str]:
        keys = {str(Path(p).resolve()): p for p in paths}
        found: dict[str, str] = {}
        names = list(keys)
        for start in range(0, len(names), 500):
            part = names[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.writer.db.execute(f"SELECT path, hash FROM files WHERE path IN ({marks})", part):
                found[keys[row[0]]] = row[1]
        return found

    def _check_stop(self, _path: Path) -> None:
        if self.stop.is_set():
            raise Stopping()

    def _after_batch(self, report) -> None:
        self.batches += 1
        self.state = "idle"
        changed = report.added or report.updated or report.removed
        if changed:
            self.documents = self._count_documents()
            self.answers_refresh()
            with self._report_lock:
                self._unreported = _merge(self._unreported, report)
            if self.after_ingest is not None:
                self.after_ingest.trigger()
        self._write_status()

    def answers_refresh(self) -> None:
        """Rebuild the warm search index now, so the first query after a batch does not pay for it."""
        if self.answers is not None:
            self.answers.refresh()

    def _run_after_ingest(self, assistant: Assistant) -> None:
        with self._report_lock:
            report, self._unreported = self._unreported, None
        if report is not None:
            from assistant.profile.refresh import refresh_style

            style = refresh_style(assistant.db)
            log.info("style profile: %d documents read, %d removed, %d groups rendered in %.2fs",
                     style.added, style.removed, style.groups, style.seconds)
            assistant.plugins.hook.after_ingest(assistant=assistant, report=report)
            log.info("after_ingest hooks ran for: %s", report.summary())

    # -- reconciliation and other jobs -------------------------------------------------------

    def _roots(self) -> list[Path]:
        paths = [Path(p).expanduser() for p in Config.load(self.home).source_paths]
        for path in paths:
            if not path.exists():
                log.warning("source path %s does not exist; it is skipped until it does", path)
        return [p for p in paths if p.exists()]

    def _reconcile_job(self) -> None:
        rehash = time.monotonic() - self._last_full_hash >= self.settings.rehash or not self._last_full_hash
        self.watcher.sync(self._roots())  # `assistant index NEW_PATH` adds to the config while we run
        self.reconcile(rehash=rehash)

    def reconcile(self, rehash: bool = False) -> None:
        """Walk every source and compare size and mtime with the store (hash every file when `rehash`).

        This catches what watching misses: events lost when inotify's queue overflowed,
        and changes made while the daemon was not running. The full hash pass (at
        start, then every `rehash` seconds) also catches overwrites that kept both size
        and mtime (`cp -p`, `rsync --times`).
        """
        from assistant.ingest.pipeline import Indexer

        roots = self._roots()
        self.state = "reconciling (full hash)" if rehash else "reconciling"
        started = time.monotonic()
        indexer = Indexer(self.writer, on_progress=self._check_stop)
        indexer.rehash = rehash
        indexer.retry_failed = rehash  # an unchanged bad file is retried once a day, not every pass
        try:
            report = indexer.run(roots) if roots else indexer.report
        except Stopping:
            return
        if rehash:
            self._last_full_hash = time.monotonic()
        seconds = round(time.monotonic() - started, 3)
        self.last_reconciliation = {"at": time.time(), "seconds": seconds, "full_hash": rehash,
                                    "summary": report.summary()}
        log.info("reconciled %d source path(s)%s in %.2fs: %s", len(roots), " with full hash" if rehash else "",
                 seconds, report.summary())
        self._after_batch(report)

    def _release_idle_models(self) -> None:
        if self.embedder.release_if_idle(self.settings.idle_release):
            if self.answers is not None:
                self.answers.assistant.__dict__.pop("generator", None)
            log.info("released the embedding model after %.0fs idle", self.settings.idle_release)

    def _job_failed(self, job: Job, exc: Exception) -> None:
        self._error(job.last_error or str(exc))

    def _error(self, message: str) -> None:
        self.last_error = message
        log.error(message)
        self._write_status()

    # -- status -------------------------------------------------------------------------------

    def _count_documents(self) -> int:
        return self.writer.db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def status(self) -> dict:
        last = self.last_reconciliation
        return {
            "state": "running" if self.state != "stopped" else "stopped",
            "activity": self.state,
            "pid": os.getpid(),
            "home": str(self.home.root),
            "started_at": self.started_at,
            "queue": len(self.tracker) + self.events.qsize(),
            "last_error": self.last_error,
            "documents": self.documents,
            "files_stored": self.files_stored,
            "batches": self.batches,
            "last_reconciliation_at": last["at"] if last else None,
            "seconds_since_reconciliation": round(time.time() - last["at"], 1) if last else None,
            "last_reconciliation": last,
            "embedder_loaded": bool(self.embedder and self.embedder.loaded),
            "roots": [str(p) for p in self.watcher.roots] if self.watcher is not None else [],
        }

    def _write_status(self) -> None:
        try:
            self.files.write_status(self.status())
        except OSError as exc:
            log.warning("could not write %s: %s", self.files.status, exc)


def _merge(total, report):
    """Add one batch's counts to the report the next `after_ingest` call receives."""
    if total is None:
        return report
    for name in ("added", "updated", "unchanged", "removed", "failed", "chunks", "embedded", "seconds"):
        setattr(total, name, getattr(total, name) + getattr(report, name))
    total.problems.extend(report.problems)
    return total


def configure_logging(files: DaemonFiles, to_stderr: bool) -> None:
    from logging.handlers import RotatingFileHandler

    files.home.ensure()
    handlers: list[logging.Handler] = [RotatingFileHandler(files.log, maxBytes=5_000_000, backupCount=3)]
    if to_stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("assistant.daemon")
    logger.handlers[:] = handlers
    logger.setLevel(logging.INFO)
    logger.propagate = False
