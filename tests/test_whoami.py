"""`assistant whoami`: configured identities, attribution per source, and identities it saw but lacks."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from assistant.config import Identity, write_config
from assistant.identity import _in_sent_folder, init_command
from assistant.ingest.pipeline import index_paths
from tests.conftest import SAMPLE, cli_json, run_cli

CHATS = Path(__file__).parent / "fixtures" / "chats"


def test_whoami_suggests_the_sent_address_and_the_chat_handle_then_accepts_them(assistant, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "mail", corpus / "mail")
    shutil.copytree(SAMPLE / "chats", corpus / "chats")
    shutil.copy(CHATS / "generic.jsonl", corpus / "chats" / "ana.jsonl")
    report = index_paths(assistant, [corpus])  # attributed with Priya's identity
    assert report.failed == 0, report.problems
    home = assistant.home

    data = cli_json("whoami", home=home)
    assert {row["source"]: (row["mine"], row["others"]) for row in data["attribution"]} == {
        "mail": (40, 8), "chats": (22, 23)}
    assert data["suggestions"] == []  # everything seen is configured already

    write_config(home, Identity())  # a person who skipped setup
    data = cli_json("whoami", home=home)
    assert data["configured"] == {"names": [], "emails": [], "handles": []}
    assert [(s["field"], s["value"]) for s in data["suggestions"]] == [
        ("emails", "priya@fernhill.example"), ("names", "Priya Nandakumar"), ("handles", "priya")]
    assert data["suggestions"][0]["evidence"] == "From of 40 of 40 messages in Sent folders"
    assert data["suggestions"][2]["evidence"].startswith("speaks in 2 of 2 chat conversations")
    assert data["init_command"] == ("assistant init --force --name 'Priya Nandakumar' "
                                    "--email priya@fernhill.example --handle priya")

    shown = run_cli("whoami", home=home)
    assert shown.returncode == 0
    assert "priya@fernhill.example" in shown.stdout and "assistant whoami --accept" in shown.stdout

    accepted = run_cli("whoami", "--accept", home=home)
    assert accepted.returncode == 0 and "Added to your config" in accepted.stdout
    config = tomllib.loads(home.config_path.read_text())
    assert config["me"] == {"names": ["Priya Nandakumar"], "emails": ["priya@fernhill.example"], "handles": ["priya"]}
    assert "[models]" in home.config_path.read_text()  # the rest of the config is kept
    assert cli_json("whoami", home=home)["suggestions"] == []


def test_sent_folder_names():
    assert _in_sent_folder("/home/p/Mail/Sent.mbox")
    assert _in_sent_folder("/home/p/mail/sent/01.eml")
    assert _in_sent_folder("/home/p/Outlook/Sent Items/x.eml")
    assert not _in_sent_folder("/home/p/mail/present/01.eml")
    assert not _in_sent_folder("/home/p/mail/sentences.mbox")


def test_init_command_quotes_values():
    assert init_command(Identity(["Ana O'Neil"], [], [])) == "assistant init --force --name 'Ana O'\"'\"'Neil'"
