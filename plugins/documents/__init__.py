"""The `documents` source: HTML, PDF, Word (.docx) and OpenDocument (.odt) files in the person's folders.

Documents in the person's own folders are theirs. Every format is read under the
size, decompression, page and character caps in `limits`; the index adds a per-file
time cap on top.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.hookspecs import hookimpl
from assistant.sources import Item, SkipFile
from assistant.textfiles import read_text_file

from .html import html_text
from .limits import MAX_DOCUMENT_BYTES
from .office import docx_text, odt_text
from .pdf import pdf_text

SUFFIXES = {".html", ".htm", ".pdf", ".docx", ".odt"}


class DocumentsSource:
    name = "documents"
    kind = "doc"
    max_bytes = MAX_DOCUMENT_BYTES

    def claims(self, path: Path) -> bool:
        return path.suffix.lower() in SUFFIXES and path.is_file()

    def read(self, path: Path, me: Identity) -> Iterator[Item]:
        suffix = path.suffix.lower()
        meta: dict = {"format": suffix.lstrip(".")}
        if suffix in (".html", ".htm"):
            markup, meta["encoding"] = read_text_file(path, max_bytes=MAX_DOCUMENT_BYTES)
            title, text = html_text(markup)
        elif suffix == ".pdf":
            title, text, meta["pages"] = pdf_text(path)
        elif suffix == ".docx":
            title, text = docx_text(path)
        else:
            title, text = odt_text(path)
        if not text.strip():
            raise SkipFile(f"no text in this {suffix} file (a scan or an image-only document needs OCR first)")
        modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        yield Item(
            uri=str(path),
            text=text,
            kind="doc",
            author_is_me=True,  # documents in the person's own folders are theirs
            title=title or path.stem,
            author=me.display_name,
            created_at=modified.isoformat(timespec="seconds"),
            meta=meta,
        )


@hookimpl
def register_sources(register):
    register(DocumentsSource())
