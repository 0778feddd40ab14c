"""`assistant whoami`: configured identities, attribution per source, and identities it saw but lacks."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from assistant.config import Config, Identity, write_config
from assistant.core import Assistant
from assistant.identity import _in_sent_folder, init_command
from assistant.ingest.pipeline import index_paths
from tests.conftest import SAMPLE, cli_json, run_cli


def _index_as(home, embedder, identity: Identity, corpus: Path):
    """Index `corpus` as a person whose config says `identity`."""
    write_config(home, identity)
    assistant = Assistant(home, Config.load(home))
    assistant.__dict__["embedder"] = embedder
    report = index_paths(assistant, [corpus])
    assert report.failed == 0, report.problems
    return report


def _copy_sample(tmp_path, *parts: str) -> Path:
    corpus = tmp_path / "corpus"
    for part in parts:
        shutil.copytree(SAMPLE / part, corpus / part)
    return corpus


def _attribution(home) -> dict:
    return {row["source"]: (row["mine"], row["others"]) for row in cli_json("whoami", home=home)["attribution"]}


def test_whoami_on_the_bundled_sample_suggests_priya_and_never_sam(temp_home, embedder, tmp_path):
    """Sam speaks 22 times to Priya's 21 in the sample's one chat, and mails Priya: never Sam."""
    _index_as(temp_home, embedder, Identity(), _copy_sample(tmp_path, "mail", "chats", "notes"))
    data = cli_json("whoami", home=temp_home)
    assert [(s["field"], s["value"]) for s in data["suggestions"]] == [
        ("emails", "priya@fernhill.example"), ("names", "Priya Nandakumar"), ("handles", "priya")]
    assert data["suggestions"][0]["evidence"] == "From of 40 of 40 messages in Sent folders"
    assert data["suggestions"][2]["evidence"] == "speaks in 1 of 1 chat conversations, 21 messages; named like you"
    assert data["init_command"] == ("assistant init --force --name 'Priya Nandakumar' "
                                    "--email priya@fernhill.example --handle priya")
    shown = run_cli("whoami", home=temp_home)
    assert shown.returncode == 0
    assert "priya@fernhill.example" in shown.stdout and "assistant whoami --accept" in shown.stdout
    assert "sam" not in shown.stdout.lower()


def test_a_near_tie_in_one_conversation_suggests_nobody(temp_home, embedder, tmp_path):
    _index_as(temp_home, embedder, Identity(), _copy_sample(tmp_path, "chats"))
    assert cli_json("whoami", home=temp_home)["suggestions"] == []


def test_someone_who_mails_the_person_is_never_suggested_even_when_in_most_chats(temp_home, embedder, tmp_path):
    corpus = _copy_sample(tmp_path, "mail")
    lines = [{"conversation": f"sam-and-{friend}", "speaker": speaker, "text": f"{speaker} says hello {n}",
              "timestamp": f"2026-05-0{n}T09:00:00"}
             for n, friend in enumerate(["ana", "leo", "ollie", "hannah"], 1) for speaker in ("sam", friend)]
    (corpus / "chats.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    _index_as(temp_home, embedder, Identity(emails=["priya@fernhill.example"]), corpus)
    data = cli_json("whoami", home=temp_home)
    assert [s["value"] for s in data["suggestions"]] == ["Priya Nandakumar"]  # Sam writes to priya@: not her


def test_accepting_an_identity_reattributes_what_is_stored_without_reindexing(temp_home, embedder, tmp_path):
    corpus = _copy_sample(tmp_path, "mail", "chats")
    _index_as(temp_home, embedder, Identity(), corpus)  # a person who skipped setup
    assert _attribution(temp_home) == {"mail": (0, 48), "chats": (0, 43)}

    accepted = run_cli("whoami", "--accept", home=temp_home)
    assert accepted.returncode == 0 and "Added to your config" in accepted.stdout
    config = tomllib.loads(temp_home.config_path.read_text())
    assert config["me"] == {"names": ["Priya Nandakumar"], "emails": ["priya@fernhill.example"], "handles": ["priya"]}
    assert "[models]" in temp_home.config_path.read_text()  # the rest of the config is kept

    assert _attribution(temp_home) == {"mail": (40, 8), "chats": (21, 22)}
    assert cli_json("whoami", home=temp_home)["suggestions"] == []
    profile = cli_json("profile", "show", home=temp_home)
    assert profile["style"]["emails"] == 40 and profile["style"]["greetings"]
    indexed = cli_json("index", str(corpus), home=temp_home)
    assert (indexed["added"], indexed["updated"], indexed["embedded"]) == (0, 0, 0)
    assert _attribution(temp_home) == {"mail": (40, 8), "chats": (21, 22)}

    # and back: dropping the address takes the mail away again
    assert run_cli("init", "--force", "--name", "Priya Nandakumar", home=temp_home).returncode == 0
    assert _attribution(temp_home) == {"mail": (0, 48), "chats": (0, 43)}  # no email, no "priya" handle


def test_init_force_replaces_me_and_keeps_sources_imap_and_models(temp_home):
    write_config(temp_home, Identity(names=["Sam"]))
    config = temp_home.config_path
    config.write_text(config.read_text().replace("paths = []", 'paths = ["/home/p/Documents"]')
                      .replace('gpu_layers = -1', 'gpu_layers = 0\nlocal = [{name = "mine", path = "/m/mine.gguf"}]')
                      + '\n[[imap]]\nname = "work"\nhost = "imap.example.org"\nuser = "priya"\n')
    before = tomllib.loads(config.read_text())
    result = run_cli("init", "--force", "--name", "Priya Nandakumar", "--email", "priya@fernhill.example",
                     home=temp_home)
    assert result.returncode == 0, result.stderr
    after = tomllib.loads(config.read_text())
    assert after["me"] == {"names": ["Priya Nandakumar"], "emails": ["priya@fernhill.example"],
                           "handles": ["Priya Nandakumar"]}
    assert {k: v for k, v in after.items() if k != "me"} == {k: v for k, v in before.items() if k != "me"}
    assert after["imap"] == [{"name": "work", "host": "imap.example.org", "user": "priya"}]


def test_init_force_rewrites_a_broken_config(temp_home):
    temp_home.ensure().config_path.write_text("[me\nnames = ")
    assert run_cli("init", "--force", "--name", "Priya", home=temp_home).returncode == 0
    assert tomllib.loads(temp_home.config_path.read_text())["me"]["names"] == ["Priya"]


def test_sent_folder_names():
    assert _in_sent_folder("/home/p/Mail/Sent.mbox")
    assert _in_sent_folder("/home/p/mail/sent/01.eml")
    assert _in_sent_folder("/home/p/Outlook/Sent Items/x.eml")
    assert not _in_sent_folder("/home/p/mail/present/01.eml")
    assert not _in_sent_folder("/home/p/mail/sentences.mbox")


def test_init_command_quotes_values():
    assert init_command(Identity(["Ana O'Neil"], [], [])) == "assistant init --force --name 'Ana O'\"'\"'Neil'"


def test_a_store_from_before_the_fingerprint_is_brought_in_line_once(tmp_path):
    """Stored attachments become their own kind; attribution is recomputed from what each row keeps."""
    from assistant.attribution import sync_attribution
    from assistant.store import connect
    from assistant.store.migrations import migrations
    from tests.conftest import PRIYA

    path = tmp_path / "old.db"
    old = connect(path, migrate=False)
    migrations.apply(old, stop_before="m007_identity_fingerprint")
    old["sources"].insert({"id": 1, "name": "mail", "kind": "mail", "added_at": ""})
    rows = [  # (uri, kind, author, author_is_me as stored, meta)
        ("m1", "mail", "Nandakumar, Priya <priya@fernhill.example>", 0, {}),  # sent before her address was set
        ("m1#attachment/1", "mail", "Nandakumar, Priya <priya@fernhill.example>", 0, {"attachment_of": "m1"}),
        ("m2", "mail", "Sam Okoye <sam@fernhill.example>", 0, {}),
        ("c1", "chat", "priya", 0, {"conversation": "x"}),
        ("c2", "chat", "Priya N", 1, {"conversation": "x", "slack_user": "U1"}),  # hers by a name not kept
        ("c3", "chat", "sam", 0, {"conversation": "x"}),
    ]
    for uri, kind, author, mine, meta in rows:
        old["documents"].insert({"source_id": 1, "uri": uri, "kind": kind, "author": author, "author_is_me": mine,
                                 "recipients": "[]", "meta": json.dumps(meta)})
    old.conn.close()

    db = connect(path)
    assert sync_attribution(db, PRIYA) == 3
    got = {r["uri"]: (r["kind"], r["author_is_me"]) for r in db.query("SELECT uri, kind, author_is_me FROM documents")}
    assert got == {"m1": ("mail", 1), "m1#attachment/1": ("attachment", 1), "m2": ("mail", 0),
                   "c1": ("chat", 1), "c2": ("chat", 1), "c3": ("chat", 0)}
    assert sync_attribution(db, PRIYA) == 0  # the fingerprint is stored: nothing to do next time
