"""One folder of good and hostile files indexed in one run: the good are stored, the bad quarantined.

Run with `pytest -s` to see the file → outcome table.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from assistant.ingest.pipeline import Indexer, index_paths
from assistant.sources import Item
from tests.conftest import SAMPLE

FIXTURES = Path(__file__).parent / "fixtures"


def _inflating_pdf(path: Path, megabytes: int) -> None:
    """A valid one-page PDF whose content stream is a few hundred KB that inflate to `megabytes` MB of zeros."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    deflater = zlib.compressobj(9)
    block = b"0" * (1 << 20)
    data = b"".join(deflater.compress(block) for _ in range(megabytes)) + deflater.flush()
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    stream = DecodedStreamObject()
    stream._data = data
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as handle:
        writer.write(handle)


def _encrypted_pdf(source: Path, path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="s3cret-user", owner_password="s3cret-owner", algorithm="AES-256")
    with path.open("wb") as handle:
        writer.write(handle)


def _zip_bomb_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (64 * 1024 * 1024))


def _build(folder: Path) -> dict[str, str]:
    """Write the hostile folder; returns file name → the words its quarantine reason must contain ('' = stored)."""
    docs, chats = FIXTURES / "documents", FIXTURES / "chats"
    expected: dict[str, str] = {}
    for name in ("planting-notes.html", "swale-sections.pdf", "kitchen-brief.docx", "reading-list.odt"):
        shutil.copy(docs / name, folder / name)
        expected[name] = ""
    shutil.copy(chats / "generic.jsonl", folder / "ana.jsonl")
    shutil.copy(chats / "whatsapp-android.txt", folder / "whatsapp-android.txt")
    shutil.copy(SAMPLE / "notes" / "reading-list.md", folder / "notes.md")
    shutil.copy(SAMPLE / "mail" / "sent" / "01-sam-alder-kickoff.eml", folder / "kickoff.eml")
    (folder / "cafe.txt").write_bytes("Café crème with Tomás — naïve résumé".encode("cp1252"))
    expected.update({"ana.jsonl": "", "whatsapp-android.txt": "", "notes.md": "", "kickoff.eml": "", "cafe.txt": ""})

    good_pdf = (docs / "swale-sections.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    expected["truncated.pdf"] = "PDF"
    (folder / "empty.pdf").write_bytes(b"")
    expected["empty.pdf"] = "empty"
    _encrypted_pdf(docs / "swale-sections.pdf", folder / "encrypted.pdf")
    expected["encrypted.pdf"] = "encrypted PDF"
    _inflating_pdf(folder / "inflates.pdf", megabytes=300)
    expected["inflates.pdf"] = "inflate"
    (folder / "not-a-zip.docx").write_text("This was a .doc once, renamed by hand.")
    expected["not-a-zip.docx"] = "not a zip"
    _zip_bomb_docx(folder / "bomb.docx")
    expected["bomb.docx"] = "zip bomb"
    with (folder / "huge.txt").open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB long, no disk used
    expected["huge.txt"] = "too large"
    (folder / "program.txt").write_bytes(os.urandom(4096) + b"\0\0ELF")
    expected["program.txt"] = "binary"
    (folder / "undecodable.txt").write_bytes(b"caf\x81\x8d\x8f\x90 \xff\xfe\x81 na\x9d")
    expected["undecodable.txt"] = "UTF-8"
    loop = folder / "a" / "b"
    loop.mkdir(parents=True)
    (loop / "link").symlink_to("../..", target_is_directory=True)
    (loop / "inside.md").write_text("# Deep note\n\nThe loop above this note must not trap the walk.")
    expected["a/b/inside.md"] = ""
    return expected


def test_hostile_folder_indexes_good_files_and_quarantines_the_rest(assistant, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    expected = _build(folder)
    started = time.perf_counter()
    report = index_paths(assistant, [folder])
    seconds = time.perf_counter() - started

    stored = {row["container"] for row in assistant.db.query("SELECT DISTINCT container FROM documents")}
    reasons = {row["uri"]: row["reason"] for row in assistant.db["quarantine"].rows}
    outcome = {}
    for name, words in expected.items():
        path = str(folder / name)
        outcome[name] = "stored" if path in stored else f"quarantined: {reasons.get(path, '(no record)')}"
    print(f"\n{'file':<24} outcome  (run took {seconds:.1f}s)")
    for name, result in outcome.items():
        print(f"{name:<24} {result}")

    for name, words in expected.items():
        if not words:
            assert outcome[name] == "stored", (name, outcome[name])
        else:
            assert outcome[name].startswith("quarantined"), (name, outcome[name])
            assert words.lower() in outcome[name].lower(), (name, outcome[name])
    # the symlink loop was not followed: the deep note is stored once, under its real path only
    assert not [c for c in stored if "/link/" in c]
    assert seconds < 120
    assert report.failed == len([w for w in expected.values() if w])


class _HangingSource:
    """Stands in for a parser that hangs on a pathological file; the test is about the index's time cap."""

    name = "slow"
    kind = "doc"
    priority = 100

    def __init__(self) -> None:
        self.release = threading.Event()

    def claims(self, path: Path) -> bool:
        return path.suffix == ".slow"

    def read(self, path: Path, me):
        self.release.wait(600)
        yield Item(uri=str(path), text="never stored", kind="doc", author_is_me=True)


def test_a_file_over_the_time_cap_is_quarantined_and_the_run_goes_on(assistant, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "hang.slow").write_text("whatever")
    (folder / "fine.md").write_text("# Fine\n\nThis one is read in a moment.")
    hanging = _HangingSource()
    assistant.__dict__["sources"] = [hanging, *assistant.sources]
    indexer = Indexer(assistant)
    indexer.file_timeout = 1.0
    try:
        report = indexer.run([folder])  # returns at all only because of the cap
    finally:
        hanging.release.set()
    assert dict(report.problems)[str(folder / "hang.slow")] == "timed out after 1s"
    row = assistant.db["quarantine"].get(str(folder / "hang.slow"))
    assert row["reason"] == "timed out after 1s" and row["source"] == "slow"
    assert assistant.db.execute("SELECT count(*) FROM documents WHERE uri = ?",
                                [str(folder / "fine.md")]).fetchone()[0] == 1


@pytest.mark.parametrize("name", ["encrypted.pdf", "bomb.docx", "inflates.pdf"])
def test_guards_refuse_quickly(name, tmp_path):
    """Each guard decides from headers and capped inflation, not by reading the whole payload."""
    from assistant.config import Identity
    from assistant.sources import SkipFile
    from assistant_plugins.documents import DocumentsSource

    path = tmp_path / name
    if name == "encrypted.pdf":
        _encrypted_pdf(FIXTURES / "documents" / "swale-sections.pdf", path)
    elif name == "bomb.docx":
        _zip_bomb_docx(path)
    else:
        _inflating_pdf(path, megabytes=300)
    started = time.perf_counter()
    with pytest.raises(SkipFile):
        list(DocumentsSource().read(path, Identity()))
    assert time.perf_counter() - started < 5
