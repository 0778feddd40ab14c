"""HTML, PDF, Word and OpenDocument files, indexed through the real pipeline and found by search."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import Identity
from assistant.ingest.pipeline import index_paths
from assistant.sources import SkipFile
from assistant_plugins.documents import DocumentsSource
from assistant_plugins.documents.html import html_text

DOCUMENTS = Path(__file__).parent / "fixtures" / "documents"


def test_documents_are_stored_as_the_persons_own_with_titles(assistant, tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(DOCUMENTS, folder)
    report = index_paths(assistant, [folder])
    assert report.failed == 0, report.problems
    rows = {Path(row["uri"]).name: row for row in assistant.db.query(
        "SELECT d.uri, d.title, d.author, d.author_is_me, d.kind, s.name AS source, "
        "group_concat(c.text, ' ') AS text FROM documents d JOIN sources s ON s.id = d.source_id "
        "JOIN chunks c ON c.document_id = d.id GROUP BY d.id")}
    assert {name: row["title"] for name, row in rows.items()} == {
        "planting-notes.html": "Alder Street planting notes",
        "swale-sections.pdf": "Swale sections",
        "kitchen-brief.docx": "Kitchen renovation brief",
        "reading-list.odt": "Reading list 2024",
    }
    assert all(row["author_is_me"] == 1 and row["kind"] == "doc" and row["source"] == "documents"
               and row["author"] == "Priya Nandakumar" for row in rows.values())
    assert "Camas bulbs go in along the swale edge" in rows["planting-notes.html"]["text"]
    assert "do-not-index-this-script" not in rows["planting-notes.html"]["text"]
    assert "font-family" not in rows["planting-notes.html"]["text"]
    assert "revision three" in rows["swale-sections.pdf"]["text"]
    assert "fifty millimetres" in rows["swale-sections.pdf"]["text"]  # page 2
    assert "oak veneer, matte" in rows["kitchen-brief.docx"]["text"]  # a table cell
    assert "The Overstory" in rows["reading-list.odt"]["text"]  # text inside a span

    hits = assistant.search("how much freeboard does the overflow need?", k=3, kind="doc")
    assert hits and hits[0].uri.endswith("swale-sections.pdf")


def test_a_pdf_protected_only_by_an_owner_password_is_read(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(DOCUMENTS / "swale-sections.pdf"))
    writer.encrypt(user_password="", owner_password="only-for-editing", algorithm="AES-128")
    path = tmp_path / "protected.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    (item,) = DocumentsSource().read(path, Identity())
    assert "revision three" in item.text and item.meta["pages"] == 2


def test_an_odt_without_content_is_refused_by_name(tmp_path):
    import zipfile

    path = tmp_path / "hollow.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(SkipFile, match="content.xml is missing"):
        list(DocumentsSource().read(path, Identity()))


def test_html_without_a_closing_head_keeps_its_body():
    title, text = html_text("<html><head><title>Notes</title><body><p>Still here.</p><script>x()</script>")
    assert (title, text) == ("Notes", "Still here.")


def test_image_only_pdf_is_refused_with_a_hint(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(SkipFile, match="OCR"):
        list(DocumentsSource().read(path, Identity()))
