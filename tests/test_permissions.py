"""The home is private: its folders 0700 and every file in it 0600, created that way and repaired at start."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from assistant.config import Config, write_config
from assistant.core import Assistant
from tests.conftest import PRIYA, run_cli


@pytest.fixture
def loose_umask():
    """The usual umask 022, under which a file is created 0644 (readable by every local user)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in paths if not p.is_symlink()}


def _loose(root: Path) -> dict[str, str]:
    return {name: f"{mode:o}" for name, mode in _modes(root).items()
            if mode != (0o700 if (root / name).is_dir() else 0o600)}


def test_a_new_home_and_store_are_private_whatever_the_umask(temp_home, loose_umask):
    write_config(temp_home, PRIYA)
    assistant = Assistant(temp_home, Config.load(temp_home))
    assistant.db["sources"].insert({"id": 1, "name": "t", "kind": "doc", "added_at": ""})  # the WAL holds it
    names = set(_modes(temp_home.root))
    assert {"config.toml", "profile.db", "profile.db-wal", "profile.db-shm", "cache", "logs"} <= names
    assert _loose(temp_home.root) == {}


def test_the_cli_creates_everything_private(temp_home, tmp_path, loose_umask):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nThe hornbeam hedge needs cutting in August.\n")
    assert run_cli("init", "--name", "Priya", home=temp_home).returncode == 0
    indexed = run_cli("index", str(notes), home=temp_home)
    assert indexed.returncode == 0, indexed.stderr
    oneshot = run_cli("daemon", "run", "--oneshot", home=temp_home)  # its lock, pid, status and log files
    assert oneshot.returncode == 0, oneshot.stderr
    names = set(_modes(temp_home.root))
    assert {"config.toml", "profile.db", "logs/daemon.log", "run/daemon.lock", "run/status.json"} <= names
    assert _loose(temp_home.root) == {}


def test_loose_modes_are_repaired_at_start_with_a_warning(temp_home):
    write_config(temp_home, PRIYA)
    Assistant(temp_home).db.conn.close()
    for folder in ("cache/onnx", "logs", "sessions", "run"):
        (temp_home.root / folder).mkdir(parents=True, exist_ok=True)
    for name in ("cache/onnx/model.onnx", "logs/daemon.log", "sessions/2026-03-01.jsonl", "run/daemon.lock"):
        (temp_home.root / name).write_text("x")
    for path in [temp_home.root, *temp_home.root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    outside = temp_home.root.parent / "outside.txt"  # a link's target is not the home's to change
    outside.write_text("not mine")
    outside.chmod(0o644)
    (temp_home.root / "cache" / "link").symlink_to(outside)

    result = run_cli("sources", "errors", home=temp_home)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1, result.stderr
    assert warning[0].endswith("and 4 more")  # 6 files, 6 folders: not the link
    for fixed in ("profile.db 644→600", "config.toml 644→600", "logs/daemon.log 644→600", "run/daemon.lock 644→600"):
        assert fixed in warning[0]
    assert _loose(temp_home.root) == {}
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    again = run_cli("sources", "errors", home=temp_home)
    assert again.returncode == 0 and "Warning" not in again.stderr



def test_a_file_that_cannot_be_changed_is_named_and_the_command_goes_on(temp_home):
    write_config(temp_home, PRIYA)
    stuck = temp_home.logs_dir / "old.log"
    stuck.write_text("x")
    stuck.chmod(0o644)
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode:
        pytest.skip("chattr +i (an immutable file, which not even root may chmod) is not available here")
    try:
        result = run_cli("sources", "errors", home=temp_home)
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    assert result.returncode == 0, result.stderr
    assert "logs/old.log 644 NOT changed (Operation not permitted: run `chmod go-rwx` on it)" in result.stderr
