"""The Sources area: what is indexed, what could not be read, the daemon, and re-indexing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, ProgressBar, Static

from assistant.tui import data
from assistant.tui.pane import StorePane


class SourcesPane(StorePane):
    DEFAULT_CSS = """
    SourcesPane DataTable { height: auto; max-height: 12; margin-bottom: 1; }
    SourcesPane .heading { text-style: bold; margin-top: 1; }
    #index-row { height: auto; }
    #index-row Button { margin-right: 1; min-width: 8; }
    #index-path { width: 1fr; }
    #index-progress { display: none; }
    #index-progress.running { display: block; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Daemon: …", id="sources-daemon", markup=False)
            yield DataTable(id="sources-counts", cursor_type="row", zebra_stripes=True)
            yield Static("Could not be read", id="sources-errors-heading", classes="heading")
            yield DataTable(id="sources-errors", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="index-row"):
                yield Input(placeholder="Folder or mailbox to add (empty: configured paths)", id="index-path")
                yield Button("Re-index", id="index-go", variant="primary")
            yield ProgressBar(id="index-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#sources-counts", DataTable).add_columns(
            "source", "kind", "documents", "yours", "others", "errors", "last sync")
        self.query_one("#sources-errors", DataTable).add_columns("file", "source", "reason")

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="sources")
    def load(self) -> None:
        from assistant.daemon.client import daemon_status
        from assistant.daemon.runtime import DaemonFiles

        try:
            with self.app.reader() as db:
                documents = data.document_count(db)
                counts, errors = data.source_counts(db), data.quarantine(db)
            daemon = daemon_status(DaemonFiles(self.app.assistant.home), timeout=2.0)
        except Exception as exc:  # noqa: BLE001
            self.app.fail("Could not read the store", exc)
            return
        self.app.call_from_thread(self._show, documents, counts, errors, daemon)

    def _show(self, documents: int, counts: list[dict], errors: list[dict], daemon: dict) -> None:
        self.query_one("#sources-daemon", Static).update(
            Text(f"{daemon_line(daemon)}\n{documents} documents in the store."))
        table = self.query_one("#sources-counts", DataTable)
        table.clear()
        failed = Counter(row["source"] for row in errors)
        for row in counts:
            table.add_row(row["source"], row["kind"], row["documents"], row["mine"], row["documents"] - row["mine"],
                          failed.get(row["source"], 0), (row["last_sync"] or "")[:16].replace("T", " "))
        self.query_one("#sources-errors-heading", Static).update(
            f"Could not be read: {len(errors)}" + ("" if errors else " (everything indexed was stored)"))
        errors_table = self.query_one("#sources-errors", DataTable)
        errors_table.clear()
        errors_table.display = bool(errors)
        for row in errors:
            errors_table.add_row(Path(row["uri"]).name, row["source"], Text(row["reason"]))

    @on(Button.Pressed, "#index-go")
    @on(Input.Submitted, "#index-path")
    def index_pressed(self) -> None:
        self.reindex(self.query_one("#index-path", Input).value.strip())

    @work(thread=True, exclusive=True, group="index")
    def reindex(self, extra: str) -> None:
        """Index the typed path (or the configured ones) with a progress bar, then read every area again."""
        from assistant.config import remember_source_path
        from assistant.ingest.pipeline import Indexer

        app = self.app
        bar = self.query_one("#index-progress", ProgressBar)
        paths = [Path(extra).expanduser()] if extra else [Path(p) for p in app.assistant.config.source_paths]
        if not paths:
            app.call_from_thread(app.notify, "No source paths are configured yet: type a folder or mailbox in "
                                 "the box and press Re-index.", title="Nothing to index", severity="error")
            return
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            app.call_from_thread(app.notify, f"{', '.join(missing)} does not exist; check the path.",
                                 title="Nothing to index there", severity="error")
            return
        try:
            with app.lock:
                indexer = Indexer(app.assistant)
                units = indexer.discover(paths)
                app.call_from_thread(bar.update, total=max(len(units), 1), progress=0)
                app.call_from_thread(bar.add_class, "running")
                indexer.on_progress = lambda path: app.call_from_thread(bar.advance, 1)
                report = indexer.run(paths, units)
            for path in paths:
                remember_source_path(app.assistant.home, path.resolve())
        except Exception as exc:  # noqa: BLE001
            app.fail("Indexing failed", exc)
            return
        app.call_from_thread(bar.update, total=max(len(units), 1), progress=max(len(units), 1))
        app.call_from_thread(app.notify, report.summary(), title="Indexed")
        app.call_from_thread(app.reload)


def daemon_line(status: dict) -> str:
    """The daemon's state in a line (`assistant.daemon.client.daemon_status`): while it runs, what it
    does, its queue and its last reconciliation; when stopped, how to start it and its last error."""
    error = f"last error: {status['last_error']}" if status.get("last_error") else "no errors"
    if status["state"] != "running":
        return f"Daemon: stopped (start it: assistant daemon start); {error}."
    since = status.get("seconds_since_reconciliation")
    return (f"Daemon: running (pid {status['pid']}), {status.get('activity', '?')}; queue: {status.get('queue', '?')} "
            f"path(s); last reconciliation {f'{since:.0f}s ago' if since is not None else 'not yet'}; {error}.")
