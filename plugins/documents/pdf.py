"""PDF text through pypdf, page by page, within the caps in `limits`.

An encrypted PDF is read only when it opens with the empty password (owner-only
protection); otherwise it is refused as "encrypted PDF". A truncated or corrupt
file is refused with pypdf's reason. Each page's content streams are inflated under
a byte cap before pypdf parses them, so a small file that inflates to hundreds of
MB is refused in well under a second. Streams under other filters, and form XObjects
a page draws, are left to pypdf's own output caps (75 MB a stream), the backstop.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from assistant.sources import SkipFile
from assistant.textfiles import mib

from .limits import MAX_PAGE_CONTENT_BYTES, MAX_PDF_PAGES, MAX_TEXT_CHARS, check_document_size


def _inflated_size(stream, cap: int) -> int:
    """Bytes a FlateDecode stream inflates to, counting no further than `cap` (+1 past it)."""
    raw = stream._data  # pypdf keeps the encoded bytes here; decoding them is what we must not do blindly
    inflater = zlib.decompressobj()
    total = 0
    while raw and total <= cap:
        total += len(inflater.decompress(raw, 1 << 20))
        raw = inflater.unconsumed_tail
    return total


def _check_page_contents(page, number: int) -> None:
    contents = page.get("/Contents")
    if contents is None:
        return
    contents = contents.get_object()
    streams = [part.get_object() for part in contents] if isinstance(contents, list) else [contents]
    total = 0
    for stream in streams:
        filters = stream.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)] if filters else []
        if names == ["/FlateDecode"]:
            total += _inflated_size(stream, MAX_PAGE_CONTENT_BYTES - total)
        else:
            total += len(getattr(stream, "_data", b"") or b"")
        if total > MAX_PAGE_CONTENT_BYTES:
            raise SkipFile(f"decompression guard: page {number} inflates past "
                           f"{mib(MAX_PAGE_CONTENT_BYTES)} of content")


def pdf_text(path: Path) -> tuple[str, str, int]:
    """(title from the metadata, text of the pages joined by form feeds, page count)."""
    check_document_size(path)
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF: it needs a password; save an unprotected copy to index it")
        pages = reader.pages
        count = len(pages)
        texts: list[str] = []
        used = 0
        for number, page in enumerate(pages, 1):
            if number > MAX_PDF_PAGES or used >= MAX_TEXT_CHARS:
                break
            _check_page_contents(page, number)
            text = (page.extract_text() or "")[: MAX_TEXT_CHARS - used]
            used += len(text)
            texts.append(text)
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except SkipFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, zlib.error,
            RecursionError) as exc:
        raise SkipFile(f"corrupt or truncated PDF ({type(exc).__name__}: {exc})") from exc
    return title, "\f".join(texts), count
