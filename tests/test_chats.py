"""Chat exports in their real formats, indexed through the real pipeline into a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assistant.config import Identity
from assistant.ingest.pipeline import index_paths
from assistant_plugins.chats.telegram import TelegramSource, message_text
from assistant_plugins.chats.whatsapp import WhatsAppSource

CHATS = Path(__file__).parent / "fixtures" / "chats"
PRIYA = Identity(names=["Priya Nandakumar"], handles=["priya"])


def _docs(assistant) -> list[dict]:
    return [dict(row) for row in assistant.db.query(
        "SELECT d.*, s.name AS source FROM documents d JOIN sources s ON s.id = d.source_id ORDER BY d.uri")]


def test_every_export_format_is_indexed_with_authorship(assistant, tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(CHATS, folder)
    (folder / "ordinary.txt").write_text("A plain note that happens to mention 12/03/24 in its text.")
    report = index_paths(assistant, [folder])
    assert report.failed == 0, report.problems
    docs = _docs(assistant)
    by_source: dict[str, list[dict]] = {}
    for doc in docs:
        by_source.setdefault(doc["source"], []).append(doc)
    counts = {name: (sum(d["author_is_me"] for d in rows), len(rows)) for name, rows in by_source.items()}
    assert counts == {
        "whatsapp": (3, 6),  # (Priya's, all) across both phone formats; system lines and media stubs skipped
        "telegram": (1, 2),  # the service message and the photo with no caption are skipped
        "slack": (2, 4),  # the channel_join is skipped
        "chatgpt": (2, 3),  # the system node is skipped
        "sessions": (2, 3),
        "chats": (1, 2),
        "files": (1, 1),  # an ordinary .txt stays with the files source
    }
    assert all(d["kind"] == "chat" for d in docs if d["source"] != "files")
    for doc in docs:
        if doc["kind"] == "chat":
            assert json.loads(doc["meta"])["conversation"] == doc["title"]
    titles = {d["source"]: d["title"] for d in docs}
    assert titles["telegram"] == "Meera" and titles["chatgpt"] == "Portuguese past tense"
    whatsapp = {d["created_at"]: d for d in by_source["whatsapp"]}
    multi_line = whatsapp["2024-02-03T09:17:45"]
    assert multi_line["title"] == "Sam Lee" and multi_line["author"] == "Priya Nandakumar"
    text = assistant.db.execute("SELECT text FROM chunks WHERE document_id = ?", [multi_line["id"]]).fetchone()[0]
    assert "She said Friday at the latest." in text and "Fingers crossed" in text
    slack_texts = {row[0] for row in assistant.db.execute(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
        "JOIN sources s ON s.id = d.source_id WHERE s.name = 'slack'")}
    assert "Thanks @Leo! Bringing pastries." in slack_texts  # <@U02LEO> mapped through users.json
    assert {d["title"] for d in by_source["slack"]} == {"#general", "#alder-park"}
    # the Slack export folder is one unit, recorded as one file
    assert assistant.db["files"].get(str(folder / "slack-export"))["path"] == str(folder / "slack-export")

    again = index_paths(assistant, [folder])
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert [d["uri"] for d in _docs(assistant)] == [d["uri"] for d in docs]  # uris are stable


def test_appending_to_an_export_keeps_the_earlier_messages(assistant, tmp_path):
    chat = tmp_path / "whatsapp-android.txt"
    shutil.copy(CHATS / "whatsapp-android.txt", chat)
    index_paths(assistant, [chat])
    with chat.open("a") as handle:
        handle.write("13/03/24, 08:01 - Priya Nandakumar: On my way!\n")
    report = index_paths(assistant, [chat])
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 0, 3, 0)


def test_whatsapp_twelve_hour_month_first_export(tmp_path):
    chat = tmp_path / "WhatsApp Chat - Ride crew.txt"
    chat.write_text(
        "[3/14/24, 9:05:12\u202fPM] Ollie: Sunday still on?\n"
        "[3/14/24, 9:07:40\u202fPM] priya: Yes \u2014 8am\n"
        "[3/14/24, 9:08:00\u202fPM] priya: \u200eimage omitted\n",
        encoding="utf-8",
    )
    source = WhatsAppSource()
    assert source.claims(chat)
    items = list(source.read(chat, PRIYA))
    assert [(i.author, i.author_is_me, i.created_at, i.title) for i in items] == [
        ("Ollie", False, "2024-03-14T21:05:12", "Ride crew"),
        ("priya", True, "2024-03-14T21:07:40", "Ride crew"),
    ]


def test_whatsapp_does_not_claim_ordinary_text(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Shopping: eggs, flour\n12/03/24, 21:04 - not the first line")
    assert not WhatsAppSource().claims(note)


def test_telegram_full_account_export_and_entity_text(tmp_path):
    export = {
        "about": "Here is the data you requested.",
        "personal_information": {"first_name": "Priya"},
        "chats": {"about": "", "list": [
            {"name": "Sam", "type": "personal_chat", "id": 7, "messages": [
                {"id": 1, "type": "message", "date": "2024-06-01T09:00:00", "from": "Sam", "from_id": "user7",
                 "text": "See you at the site"},
                {"id": 2, "type": "message", "date": "2024-06-01T09:01:00", "from": "Priya Nandakumar",
                 "from_id": "user1", "text": [{"type": "mention", "text": "@sam"}, " yes, 10am"]},
            ]},
        ]},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export))
    source = TelegramSource()
    assert source.claims(path)
    items = list(source.read(path, PRIYA))
    assert [(i.text, i.author_is_me, i.title) for i in items] == [
        ("See you at the site", False, "Sam"), ("@sam yes, 10am", True, "Sam")]
    assert message_text([{"type": "bold", "text": "a"}, "b", 3]) == "ab"


def test_json_that_is_no_chat_export_is_not_claimed(assistant, tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"theme": "dark", "messages": ["hi"]}))
    assert all(not source.claims(settings) for source in assistant.sources if source.kind == "chat")


def test_a_broken_slack_day_file_is_quarantined_and_the_rest_stored(assistant, tmp_path):
    export = tmp_path / "slack-export"
    shutil.copytree(CHATS / "slack-export", export)
    (export / "general" / "2024-03-06.json").write_text("[{not json")
    report = index_paths(assistant, [export])
    assert report.added == 4
    assert "not valid JSON" in dict(report.problems)[str(export / "general" / "2024-03-06.json")]


def test_a_reply_is_found_by_the_words_of_the_message_it_answers(assistant, tmp_path):
    from assistant.retrieval.search import Filters, text_ranking

    chat = tmp_path / "ferry.jsonl"
    lines = [
        ("Sam", "Did you book the ferry to Skye for Saturday? Card 4111 1111 1111 1111 if you need it", "2024-05-01T09:00:00"),
        ("priya", "Yes, all sorted, the nine o'clock sailing.", "2024-05-01T09:05:00"),
        ("Sam", "Morning! New week.", "2024-05-03T08:00:00"),  # two days later: a new exchange
    ]
    chat.write_text("\n".join(json.dumps({"conversation": "Sam", "speaker": s, "text": t, "timestamp": ts})
                              for s, t, ts in lines))
    assistant.config.me = PRIYA
    report = index_paths(assistant, [chat])
    assert report.failed == 0, report.problems
    rows = {r["author"] + r["created_at"][8:10]: r for r in assistant.db.query(
        "SELECT d.author, d.created_at, c.id, c.text, c.context FROM chunks c JOIN documents d ON d.id = c.document_id")}
    reply = rows["priya01"]
    assert reply["text"] == "Yes, all sorted, the nine o'clock sailing."  # the message itself, unchanged
    assert reply["context"].startswith("Sam: Did you book the ferry to Skye")
    assert "4111" not in reply["context"]  # context is redacted like everything stored
    assert rows["Sam01"]["context"] == "" and rows["Sam03"]["context"] == ""
    found = [cid for cid, _ in text_ranking(assistant.db, "ferry Skye", 10, Filters())]
    assert reply["id"] in found and rows["Sam03"]["id"] not in found
