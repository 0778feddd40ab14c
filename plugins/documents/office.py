"""Word (.docx, python-docx) and OpenDocument (.odt, its content.xml) text, opened through `limits.open_zip`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from assistant.sources import SkipFile

from .limits import MAX_TEXT_CHARS, open_zip

_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_DC = "{http://purl.org/dc/elements/1.1/}"


def docx_text(path: Path) -> tuple[str, str]:
    """(title from the core properties, paragraphs and table cells as text)."""
    with open_zip(path, ".docx"):
        pass
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, ET.ParseError) as exc:
        raise SkipFile(f"not a readable .docx ({type(exc).__name__}: {exc})") from exc
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    title = (document.core_properties.title or "").strip()
    return title, "\n".join(lines).strip()[:MAX_TEXT_CHARS]


def odt_text(path: Path) -> tuple[str, str]:
    """(title from meta.xml, headings and paragraphs of content.xml as text)."""
    with open_zip(path, ".odt") as archive:
        try:
            content = ET.fromstring(archive.read("content.xml"))
            meta = ET.fromstring(archive.read("meta.xml")) if "meta.xml" in archive.namelist() else None
        except KeyError as exc:
            raise SkipFile("not an OpenDocument file: content.xml is missing") from exc
        except ET.ParseError as exc:
            raise SkipFile(f"damaged OpenDocument file: content.xml is not XML ({exc})") from exc
    lines = ["".join(element.itertext()) for element in content.iter()
             if element.tag in (f"{_ODF_TEXT}p", f"{_ODF_TEXT}h")]
    title_element = meta.find(f".//{_ODF_DC}title") if meta is not None else None
    title = (title_element.text or "").strip() if title_element is not None else ""
    return title, "\n".join(lines).strip()[:MAX_TEXT_CHARS]
