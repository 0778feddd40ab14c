"""Per-file caps for documents: a hostile or broken file is refused before it costs much.

A zip-based document (docx, odt) is checked from its central directory before any
member is inflated: the declared sizes must add up to less than the inflate cap and
no member may claim a ratio typical of a zip bomb. A PDF is read at most
`MAX_PDF_PAGES` pages and `MAX_TEXT_CHARS` characters, and no page's content streams
may inflate past `MAX_PAGE_CONTENT_BYTES`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from assistant.sources import SkipFile
from assistant.textfiles import check_size, mib

MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
MAX_INFLATED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # deflate reaches ~1000:1 only on degenerate input such as runs of one byte
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_PDF_PAGES = 2000
MAX_PAGE_CONTENT_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = 5_000_000


def check_document_size(path: Path) -> int:
    if path.stat().st_size == 0:
        raise SkipFile("empty file")
    return check_size(path, MAX_DOCUMENT_BYTES, "documents")


def open_zip(path: Path, what: str) -> zipfile.ZipFile:
    """The document's zip archive, after the size and zip-bomb checks; `SkipFile` when it fails them."""
    check_document_size(path)
    if not zipfile.is_zipfile(path):
        raise SkipFile(f"not a zip archive: a {what} file is a zip, and this one is damaged or is not a {what}")
    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SkipFile(f"damaged zip archive ({exc}); re-save the {what}") from exc
    inflated = sum(member.file_size for member in members)
    if inflated > MAX_INFLATED_BYTES:
        archive.close()
        raise SkipFile(f"zip bomb guard: members inflate to {mib(inflated)}, over the {mib(MAX_INFLATED_BYTES)} limit")
    for member in members:
        if member.file_size >= RATIO_CHECK_MIN_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            archive.close()
            raise SkipFile(f"zip bomb guard: {member.filename} inflates {member.file_size // max(member.compress_size, 1)}"
                           f"-fold (limit {MAX_RATIO}-fold)")
    return archive
