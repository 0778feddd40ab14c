"""Nothing leaves the machine: index, search and draft run with every network call refused and
recorded, in process and as the real CLI in a namespace that has no network at all."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.generation.catalog import use_model
from assistant.ingest.pipeline import Indexer
from assistant.store.audit import get_generation
from tests.conftest import PRIYA, SAMPLE, cli_json, run_cli

SMALL_MODEL = "smollm2-135m-instruct"


def small_corpus(root: Path) -> Path:
    """Priya's notes and a dozen of her sent emails: enough to index, search and draft from."""
    data = root / "priya"
    shutil.copytree(SAMPLE / "notes", data / "notes")
    (data / "sent").mkdir()
    for mail in sorted((SAMPLE / "mail" / "sent").iterdir())[:12]:
        shutil.copy(mail, data / "sent" / mail.name)
    return data


class NetworkGuard:
    """Refuses, and records, every attempt to reach an address that is not a Unix socket."""

    def __init__(self, monkeypatch) -> None:
        self.attempts: list[str] = []
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

        def refuse(what: str):
            self.attempts.append(what)
            raise OSError(f"network use refused in an offline test: {what}")

        def connect(sock, address):
            if sock.family != socket.AF_UNIX:
                refuse(f"connect {address!r}")
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if sock.family != socket.AF_UNIX:
                refuse(f"connect_ex {address!r}")
            return real_connect_ex(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: refuse(f"getaddrinfo {host!r}"))
        monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(f"create_connection {address!r}"))


@pytest.mark.slow
def test_index_search_and_draft_never_touch_the_network(temp_home, tmp_path, monkeypatch):
    from assistant.config import write_config

    guard = NetworkGuard(monkeypatch)
    with pytest.raises(OSError):  # the guard works: a connection is refused and recorded
        socket.create_connection(("127.0.0.1", 9))
    assert guard.attempts == ["create_connection ('127.0.0.1', 9)"]
    guard.attempts.clear()

    write_config(temp_home, PRIYA)
    use_model(temp_home, Config.load(temp_home), SMALL_MODEL)
    assistant = Assistant(temp_home, Config.load(temp_home))  # its own embedder and generator, loaded here
    report = Indexer(assistant).run([small_corpus(tmp_path)])
    assert report.failed == 0 and report.added > 15
    hits = assistant.search("when is the neighbourhood open house?", k=3)
    assert any("open house" in hit.text for hit in hits)
    result = assistant.skill("draft").run(assistant, instruction="thank Sam for the site visit", to="Sam",
                                          max_tokens=24)
    assert result.model == SMALL_MODEL and result.draft and result.used
    assert guard.attempts == []
    # the audit recorded what the draft used
    generation = get_generation(assistant.db, 1)
    assert generation["chunk_ids"] == result.used and generation["request"]["instruction"] == "thank Sam for the site visit"


# Loaded by every Python started with this folder on PYTHONPATH: an audit hook (which sees every
# socket call, whichever library makes it) writes each one not to a Unix socket to $NET_LOG.
NET_MONITOR = """
import os, socket, sys

def _hook(event, args):
    if event in ("socket.connect", "socket.sendto") and args[0].family != socket.AF_UNIX:
        what = f"{event} {args[1]!r}"
    elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
        what = f"{event} {args[0]!r}"
    else:
        return
    with open(os.environ["NET_LOG"], "a") as log:
        log.write(f"{os.getpid()} {' '.join(sys.argv)}: {what}\\n")

if os.environ.get("NET_LOG"):
    sys.addaudithook(_hook)
"""


def unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rn", "true"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not unshare_works(), reason="`unshare -rn` (a user and network namespace) is not "
                                                "permitted here, so no network-less namespace can be made")
def test_the_cli_works_in_a_namespace_with_no_network(temp_home, tmp_path):
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    (monitor / "sitecustomize.py").write_text(textwrap.dedent(NET_MONITOR))
    log = tmp_path / "net.log"
    env = {**os.environ, "ASSISTANT_HOME": str(temp_home.root), "NET_LOG": str(log),
           "PYTHONPATH": os.pathsep.join([str(monitor), *filter(None, [os.environ.get("PYTHONPATH")])])}

    def offline(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["unshare", "-rn", *args], capture_output=True, text=True, env=env, timeout=600)

    # The namespace has no network, and the monitor sees a lookup a library makes.
    probe = offline(sys.executable, "-c", "import socket; socket.getaddrinfo('example.com', 443)")
    assert probe.returncode != 0 and "getaddrinfo 'example.com'" in log.read_text()
    log.unlink()

    data = small_corpus(tmp_path)
    cli = [sys.executable, "-m", "assistant"]
    for args in (["init", "--name", "Priya Nandakumar", "--email", "priya@fernhill.example"],
                 ["index", str(data)], ["models", "use", SMALL_MODEL]):
        done = offline(*cli, *args)
        assert done.returncode == 0, done.stderr
    found = offline(*cli, "search", "when is the neighbourhood open house?", "-k", "3", "--json")
    assert found.returncode == 0 and "open house" in found.stdout, found.stderr
    drafted = offline(*cli, "draft", "thank Sam for the site visit", "--to", "Sam", "--max-tokens", "24", "--json")
    assert drafted.returncode == 0, drafted.stderr
    assert json.loads(drafted.stdout)["model"] == SMALL_MODEL
    assert not log.exists(), log.read_text()


def test_hub_libraries_are_offline_and_silent_before_they_load():
    """The codes are made with sentence-transformers' helpers even when no MiniLM is loaded (a GGUF
    embedder): huggingface_hub must already read itself as offline, with telemetry off."""
    code = ("import numpy as np; from assistant.embedding.quantize import binary_codes; "
            "binary_codes(np.ones((1, 384), dtype=np.float32)); "
            "import huggingface_hub.constants as c; print(c.HF_HUB_OFFLINE, c.HF_HUB_DISABLE_TELEMETRY)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "DO_NOT_TRACK"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_doctor_names_everything_that_may_use_the_network(temp_home):
    assert run_cli("init", "--name", "Priya", home=temp_home).returncode == 0
    facts = cli_json("doctor", home=temp_home)
    assert facts["network"] == []
    assert facts["offline"]["HF_HUB_OFFLINE"] == "1" and facts["offline"]["HF_HUB_DISABLE_TELEMETRY"] == "1"
    text = run_cli("doctor", home=temp_home).stdout
    assert "nothing is configured to use the network" in text
    with temp_home.config_path.open("a") as config:
        config.write('\n[[imap]]\nname = "work"\nhost = "imap.example.com"\nuser = "p@example.com"\n')
    assert cli_json("doctor", home=temp_home)["network"] == [
        {"kind": "imap", "name": "work", "host": "imap.example.com", "port": 993}]
    assert "imap work → imap.example.com:993" in run_cli("doctor", home=temp_home).stdout
