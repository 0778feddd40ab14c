"""`assistant history` (the audit of what each generation used) and `assistant export`."""

from __future__ import annotations

import json
import stat

from assistant.store import connect
from assistant.store.audit import record_generation
from tests.conftest import cli_json, run_cli

CHAT_LINE = "should've cycled"  # a message in the sample chat


def chunk_of(db, like: str) -> tuple[int, str]:
    return db.execute("SELECT c.id, d.uri FROM chunks c JOIN documents d ON d.id = c.document_id "
                      "WHERE c.text LIKE ?", [f"%{like}%"]).fetchone()


def test_history_lists_newest_first_and_shows_each_chunks_document(sample_home):
    db = connect(sample_home.db_path)
    chat, chat_uri = chunk_of(db, CHAT_LINE)
    note, note_uri = chunk_of(db, "stormwater")
    first = record_generation(db, skill="draft", model="m1", seconds=1.5, chunk_ids=[chat],
                              request={"instruction": "ask Sam about cycling", "to": "Sam"},
                              style_notes=["Signs off with 'Cheers'."])
    second = record_generation(db, skill="draft", model="m2", seconds=0.5, chunk_ids=[note, chat],
                               request={"instruction": "summarise the park"})
    listed = cli_json("history", home=sample_home)
    assert [row["id"] for row in listed] == [second, first]
    assert listed[0]["chunk_ids"] == [note, chat] and listed[1]["style_notes"] == ["Signs off with 'Cheers'."]
    assert [row["id"] for row in cli_json("history", "--limit", "1", home=sample_home)] == [second]

    shown = cli_json("history", str(second), home=sample_home)
    assert shown["request"] == {"instruction": "summarise the park"} and shown["model"] == "m2"
    assert [c["uri"] for c in shown["chunks"]] == [note_uri, chat_uri]
    assert CHAT_LINE in shown["chunks"][1]["text"] and shown["fact_ids"] == [] and shown["guard_removed"] == []
    text = run_cli("history", str(second), home=sample_home).stdout
    assert note_uri in text and "summarise the park" in text and "Style notes: none" in text
    assert f"{first}" in run_cli("history", home=sample_home).stdout

    missing = run_cli("history", "999", home=sample_home)
    assert missing.returncode == 1 and "no generation 999" in missing.stderr


def test_export_holds_the_profile_not_the_text_unless_asked(sample_home, tmp_path):
    data = json.loads(run_cli("export", home=sample_home).stdout)
    assert data["identity"]["emails"] == ["priya@fernhill.example"]
    assert data["style"]["emails"] == 40 and data["style"]["greetings"][0][0] == "Hiya"
    sources = {row["name"]: row for row in data["sources"]}
    assert sources["mail"]["mine"] == 40 and sources["chats"]["documents"] > 0 and sources["files"]["chunks"] > 0
    assert "texts" not in data and CHAT_LINE not in json.dumps(data)

    out = tmp_path / "everything.json"
    assert run_cli("export", "--with-text", "--out", str(out), home=sample_home).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    full = json.loads(out.read_text())
    chat = next(doc for doc in full["texts"] if any(CHAT_LINE in chunk for chunk in doc["chunks"]))
    assert chat["source"] == "chats" and chat["kind"] == "chat"
    assert len(full["texts"]) == sum(row["documents"] for row in full["sources"])


def test_forgetting_a_fact_or_a_chunk_removes_the_generations_that_cite_it(sample_home):
    from assistant.store.audit import forget_generations, list_generations
    from assistant.store.db import write_transaction

    db = connect(sample_home.db_path)
    chat, chat_uri = chunk_of(db, CHAT_LINE)
    note, _ = chunk_of(db, "stormwater")
    cites_fact = record_generation(db, skill="draft", model="m", seconds=1, request={}, fact_ids=[3, 4])
    cites_chat = record_generation(db, skill="draft", model="m", seconds=1, request={}, chunk_ids=[note, chat])
    kept = record_generation(db, skill="draft", model="m", seconds=1, request={}, chunk_ids=[note], fact_ids=[5])
    with write_transaction(db):
        assert forget_generations(db, fact_ids=[4]) == 1
        assert forget_generations(db, uris=[chat_uri]) == 1
    assert [g["id"] for g in list_generations(db)] == [kept]
    assert cites_fact not in (cites_chat, kept)
