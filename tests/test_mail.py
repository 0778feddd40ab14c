"""The mail source over real .eml, mbox and Maildir files, indexed into a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.home import Home
from assistant.ingest.pipeline import IndexReport, index_paths
from assistant_plugins.mail import MailSource
from tests.conftest import make_assistant

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


@pytest.fixture
def mail(tmp_path) -> Path:
    """A private copy of the fixtures, so a test may change them."""
    target = tmp_path / "mail"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder) -> tuple[object, Path, IndexReport]:
    """Every fixture indexed once into one store (indexing is the slow part); tests only read it."""
    root = tmp_path_factory.mktemp("mail-store")
    mail = root / "mail"
    shutil.copytree(FIXTURES, mail)
    assistant = make_assistant(Home(root / "home"), embedder)
    return assistant, mail, index_paths(assistant, [mail])


def _docs(assistant) -> dict[str, dict]:
    rows = assistant.db.query("SELECT d.*, group_concat(c.text, '\n') AS body FROM documents d "
                              "JOIN chunks c ON c.document_id = d.id GROUP BY d.id")
    return {row["uri"]: {**row, "meta": json.loads(row["meta"]), "recipients": json.loads(row["recipients"])}
            for row in rows}


def test_everything_is_found_and_only_the_empty_message_fails(indexed):
    assistant, mail, report = indexed
    assert [where for where, _ in report.problems] == [f"{mail / 'hostile.mbox'}#7"]  # quoted text only
    assert report.added == len(_docs(assistant)) == 3 + 2 + 3 + 1 + 8 + 4  # eml + attachments, mboxes, Maildir


def test_eml_attribution_threading_dates_and_quotes(indexed):
    assistant, mail, _ = indexed
    docs = _docs(assistant)
    ask = docs[str(mail / "eml" / "01-sam-asks.eml")]
    reply = docs[str(mail / "eml" / "02-priya-replies.eml")]
    assert (ask["author_is_me"], reply["author_is_me"]) == (0, 1)  # From matched case-insensitively
    assert reply["recipients"] == ["sam@fernhill.example", "janet@city.example"]  # To and Cc
    assert reply["meta"]["recipient_names"] == {"sam@fernhill.example": "Sam Okoye", "janet@city.example": "Janet Liu"}
    assert reply["meta"]["from"] == "priya@fernhill.example"  # what attribution is recomputed from
    assert reply["created_at"] == "2026-03-02T10:02:00-08:00"
    assert reply["meta"]["in_reply_to"] == "<root-alder-1@fernhill.example>"
    assert reply["meta"]["thread"] == ask["meta"]["thread"] == "<root-alder-1@fernhill.example>"
    assert "hornbeams" in reply["body"]
    assert "council wants" not in reply["body"]  # Sam's quoted words are not Priya's
    assert "Fernhill Landscape Studio" not in reply["body"]  # nor is her signature block
    assert reply["meta"]["quoted_chars"] > 100 and "Fernhill Landscape Studio" in reply["meta"]["signature"]


def test_attachments_are_listed_and_text_ones_indexed(indexed):
    assistant, mail, _ = indexed
    docs = _docs(assistant)
    uri = str(mail / "eml" / "03-tomas-quote-attachments.eml")
    assert docs[uri]["meta"]["attachments"] == [
        {"name": "cabinet-notes.md", "type": "text/markdown", "size": 97},
        {"name": "sizes.csv", "type": "application/octet-stream", "size": 56},
        {"name": "quote.pdf", "type": "application/pdf", "size": 78},
    ]
    notes, sizes = docs[f"{uri}#attachment/1"], docs[f"{uri}#attachment/2"]
    assert f"{uri}#attachment/3" not in docs  # a PDF is listed, not read as text
    # an attachment is a document of its own kind, not an email anyone wrote
    assert notes["kind"] == sizes["kind"] == "attachment" and docs[uri]["kind"] == "mail"
    assert notes["author_is_me"] == 0 and notes["title"] == "cabinet-notes.md"
    assert notes["meta"]["attachment_of"] == uri and notes["meta"]["thread"] == "<quote-kitchen-3@reyesbuild.example>"
    assert "pantry,60,210" in sizes["body"]
    hits = assistant.search("walnut veneer keeps the cabinets under budget", k=3)
    assert hits[0].uri == f"{uri}#attachment/1"


def test_mbox_threads_and_a_suffixless_mbox(indexed):
    assistant, mail, _ = indexed
    source = MailSource()
    assert source.claims(mail / "Sent") and not source.claims(mail / "NOTES")
    docs = _docs(assistant)
    thread = [docs[f"{mail / 'thread.mbox'}#{n}"] for n in range(3)]
    assert [d["author_is_me"] for d in thread] == [0, 1, 0]
    assert {d["meta"]["thread"] for d in thread} == {"<visit-1@fernhill.example>"}
    assert thread[2]["meta"]["references"] == ["<visit-1@fernhill.example>", "<visit-2@fernhill.example>"]
    assert "soil auger" in thread[1]["body"] and "still on" not in thread[1]["body"]
    assert thread[1]["created_at"] == "2026-03-10T08:30:00+00:00"
    easter = docs[f"{mail / 'Sent'}#0"]
    assert easter["author_is_me"] == 1 and easter["recipients"] == ["meera.nandakumar@leedsmail.example"]


def test_maildir_with_subfolders_keeps_uris_across_flag_changes(assistant, mail):
    maildir = mail / "Maildir"
    assert MailSource().claims(maildir) and not MailSource().claims(maildir / "cur")
    first = index_paths(assistant, [maildir])
    assert first.failed == 0, first.problems
    docs = _docs(assistant)
    maildir_docs = {uri: d for uri, d in docs.items() if uri.startswith(f"{maildir}#")}
    assert sorted(uri.split("#")[1] for uri in maildir_docs) == [
        "INBOX/1773300000.M1P100.laptop", "INBOX/1773400000.M2P101.laptop",
        "Sent/1773310000.M3P102.laptop", "Sent/1773410000.M4P103.laptop"]
    assert {uri.split("#")[1].split("/")[0]: d["author_is_me"] for uri, d in maildir_docs.items()} == {
        "INBOX": 0, "Sent": 1}
    reply = maildir_docs[f"{maildir}#Sent/1773310000.M3P102.laptop"]
    assert reply["meta"]["folder"] == "Sent" and reply["meta"]["thread"] == "<review-1@city.example>"
    # The mail client reads the new message: it moves to cur/ with a flag suffix.
    (maildir / "new" / "1773400000.M2P101.laptop").rename(maildir / "cur" / "1773400000.M2P101.laptop:2,S")
    again = index_paths(assistant, [maildir])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)


def test_hostile_headers_never_stop_a_mailbox(indexed):
    assistant, mail, report = indexed
    hostile = [d for uri, d in _docs(assistant).items() if uri.startswith(f"{mail / 'hostile.mbox'}#")]
    by_id = {d["meta"]["message_id"]: d for d in hostile}
    assert len(by_id) == 8  # all but the message with nothing of its author's own
    assert "empty" in report.problems[0][1]
    quarantined = list(assistant.db["quarantine"].rows)
    assert [(row["uri"], row["source"]) for row in quarantined] == [(f"{mail / 'hostile.mbox'}#7", "mail")]
    assert "hedge order" in by_id["<rfc2231@fernhill.example>"]["body"]  # Content-Type: text/plain; name*
    assert by_id["<group@fernhill.example>"]["recipients"] == []  # To: (c):
    assert by_id["<group@fernhill.example>"]["author_is_me"] == 1
    assert by_id["<[abc]@x>"]["meta"]["in_reply_to"] == "<[abc]@x>"
    assert "café" in by_id["<charset@fernhill.example>"]["body"]  # charset=x-unknown
    assert by_id["<nodate@fernhill.example>"]["created_at"] == ""
    latin1 = by_id["<latin1@fernhill.example>"]  # 8-bit Latin-1 with no charset
    assert latin1["title"] == "Grüße aus München" and "Schöne Grüße" in latin1["body"]
    assert "hornbeams" in by_id["<good-2@fernhill.example>"]["body"]


def test_an_unreadable_message_is_quarantined_and_the_rest_stored(assistant, tmp_path, monkeypatch):
    import assistant_plugins.mail.parse as parse

    box = tmp_path / "big.mbox"
    small = b"From: sam@fernhill.example\nSubject: small\n\nThe trellis is up.\n"
    big = b"From: sam@fernhill.example\nSubject: big\n\n" + b"gravel " * 400 + b"\n"
    box.write_bytes(b"".join(b"From sam@fernhill.example Mon Mar 16 08:00:00 2026\n" + m + b"\n"
                             for m in (big, small)))
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 1000)
    report = index_paths(assistant, [box])
    assert report.failed == 1 and report.problems[0] == (f"{box}#0", "too large: 0 MB is over the 0 MB limit")
    assert [d["title"] for d in _docs(assistant).values()] == ["small"]
