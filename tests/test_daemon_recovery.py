"""The daemon after the worst: killed mid-write, and files changed while it was not running."""

from __future__ import annotations

import os
import random

from assistant.core import Assistant
from assistant.ingest.pipeline import index_paths
from tests.conftest import use_onnx
from tests.daemon_support import (DaemonProcess, assert_store_consistent, crash_rounds, make_home, note_text,
                                  wait_for_match)

CRASH_ITERATIONS = int(os.environ.get("ASSISTANT_CRASH_ITERATIONS", "50"))


def test_changes_while_down_are_caught_by_one_reconciliation(tmp_path, embedder):
    src = tmp_path / "src"
    (src / "letters").mkdir(parents=True)
    for n in range(6):
        (src / "letters" / f"l{n}.md").write_text(note_text(n))
    home = make_home(tmp_path / "home", [src])
    assistant = Assistant(home)
    assistant.__dict__["embedder"] = embedder  # the session's model: indexed before the daemon ever ran
    assert index_paths(assistant, [src]).added == 6
    wait_for_match(home, src, timeout=1)

    os.rename(src / "letters" / "l0.md", src / "l0-moved.md")  # a move
    (src / "letters" / "l1.md").unlink()  # a delete
    os.rename(src / "letters", src / "archive")  # a folder move
    same_size = src / "archive" / "l2.md"
    st = same_size.stat()
    changed = same_size.read_text().replace("Version 0", "Version 9")
    assert len(changed) == st.st_size
    same_size.write_text(changed)  # `cp -p` / `rsync --times`: same size, mtime put back
    os.utime(same_size, ns=(st.st_atime_ns, st.st_mtime_ns))

    assert DaemonProcess(home).start(oneshot=True).wait() == 0
    state = wait_for_match(home, src, timeout=1)
    assert len(state) == 5 and str((src / "l0-moved.md").resolve()) in state
    assert_store_consistent(home)


def test_sigkill_at_random_points_never_leaves_a_partial_document(tmp_path, onnx_cache):
    src = tmp_path / "src"
    src.mkdir()
    home = make_home(tmp_path / "home", [src])
    use_onnx(home, onnx_cache)  # 51 daemon starts: each would spend ~10 s importing torch before it wrote a byte
    for n in range(300):
        (src / f"f{n:03}.md").write_text(note_text(n))
    killed_mid_run, failures = crash_rounds(home, src, 300, CRASH_ITERATIONS, random.Random(1234))
    assert failures == []
    assert killed_mid_run >= CRASH_ITERATIONS // 2, "most kills should land while the daemon is still writing"
    # a restart (with the stale socket and pid file of a killed daemon about) completes the rest
    daemon = DaemonProcess(home).start()
    daemon.wait_ready()
    assert len(wait_for_match(home, src, timeout=180)) == 300
    assert_store_consistent(home)
    daemon.stop()
