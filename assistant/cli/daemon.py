"""`assistant daemon start|stop|status|run|install`: the background indexer, one per home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import click

from assistant.errors import UserError

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def _files(state):
    from assistant.daemon.runtime import DaemonFiles

    return DaemonFiles(state.home)


@click.group()
def daemon():
    """Keep the store current in the background and answer searches warm.

    \b
    assistant daemon start      # detached; logs to <home>/logs/daemon.log
    assistant daemon status     # state, queue, last error, documents, last reconciliation
    assistant daemon install    # run it at login (systemd user unit; launchd on macOS)
    """


@daemon.command()
@click.option("--oneshot", is_flag=True, help="Reconcile every source once (hashing every file) and exit.")
@click.pass_obj
def run(state, oneshot):
    """Run in the foreground: watch the sources in `[sources] paths` and index what changes."""
    from assistant.daemon.service import Daemon, configure_logging

    files = _files(state)
    configure_logging(files, to_stderr=sys.stderr.isatty())
    Daemon(state.home).run(oneshot=oneshot)


@daemon.command()
@click.pass_obj
def start(state):
    """Start the daemon detached, and wait until it answers on its socket."""
    files = _files(state).ensure()
    if files.is_running():
        click.echo(f"Already running (pid {files.read_pid()}); logs: {files.log}")
        return
    from assistant.daemon.client import status_answer
    from assistant.store import connect
    from assistant.store.keys import unlock

    env = {**os.environ, **unlock(state.home.root)}  # an encrypted store's passphrase, asked here
    connect(state.home.db_path).conn.close()  # a wrong key is said here, not in the log
    with open(files.log, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "assistant", "--home", str(state.home.root), "daemon", "run"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise UserError(f"the daemon exited at start with code {child.returncode}; see {files.log}")
        if status_answer(files, timeout=2.0) is not None:
            click.echo(f"Started (pid {child.pid}); logs: {files.log}")
            return
        time.sleep(0.2)
    raise UserError(f"the daemon (pid {child.pid}) did not answer within {START_TIMEOUT_S:.0f}s; see {files.log}")


@daemon.command()
@click.pass_obj
def stop(state):
    """Stop the daemon (SIGTERM: it finishes the file it is writing) and wait until it is gone."""
    files = _files(state)
    pid = files.read_pid()
    if not files.is_running() or pid is None:
        click.echo("Not running.")
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if not files.wait_until(lambda: not files.is_running(), STOP_TIMEOUT_S):
        raise UserError(f"the daemon (pid {pid}) did not stop within {STOP_TIMEOUT_S:.0f}s; "
                        f"see {files.log}, or `kill -9 {pid}`")
    click.echo(f"Stopped (pid {pid}).")


@daemon.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(state, as_json):
    """Running or stopped, pid, queue length, last error, documents, seconds since reconciliation."""
    from assistant.daemon.client import daemon_status

    files = _files(state)
    data = daemon_status(files)
    running = data["state"] == "running"
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if not running:
        click.echo("stopped" + (f" (last error: {data['last_error']})" if data.get("last_error") else ""))
        click.echo(f"log: {files.log}")
        return
    click.echo(f"running (pid {data['pid']}): {data.get('activity', '?')}")
    click.echo(f"queue: {data.get('queue', '?')} path(s) settling or waiting")
    click.echo(f"documents: {data.get('documents', '?')} in the store; "
               f"{data.get('files_stored', 0)} file(s) stored since start")
    since = data.get("seconds_since_reconciliation")
    click.echo("last reconciliation: " + (f"{since:.0f}s ago" if since is not None else "not yet"))
    click.echo(f"last error: {data.get('last_error') or 'none'}")
    click.echo(f"log: {files.log}")


@daemon.command()
@click.pass_obj
def install(state):
    """Run the daemon at login: writes a systemd user unit (on macOS, prints the launchd agent)."""
    from assistant.daemon import install as installer

    if sys.platform == "darwin":
        path = installer.launchd_plist_path()
        click.echo(f"Save this as {path}, then run `launchctl load {path}`:\n")
        click.echo(installer.launchd_plist(state.home))
        return
    path = installer.write_systemd_unit(state.home)
    click.echo(f"Wrote {path}")
    click.echo(f"Now run: systemctl --user daemon-reload && systemctl --user enable --now {installer.UNIT_NAME[:-8]}")
