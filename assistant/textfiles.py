"""Reading text a person saved: tell text from binary, and decode it without losing it."""

from __future__ import annotations

from pathlib import Path

from assistant.sources import SkipFile

MAX_TEXT_BYTES = 20 * 1024 * 1024


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def check_size(path: Path, max_bytes: int, what: str) -> int:
    """The file's size, or `SkipFile` when it is over `max_bytes` (checked before a byte is read)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SkipFile(f"too large: {mib(size)} is over the {mib(max_bytes)} limit for {what}")
    return size


def read_text_file(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, str]:
    """(text, encoding) of a text file, or `SkipFile` with the reason it is not readable text."""
    check_size(path, max_bytes, "text files")
    data = path.read_bytes()
    if not data.strip():
        raise SkipFile("empty file")
    return decode_text(data)


def decode_text(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes) in a file named as text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
        if controls > len(text[:8192]) * 0.02:
            raise SkipFile("binary content (control characters) in a file named as text")
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise SkipFile("not UTF-8 or Windows-1252 text; convert it with `iconv -t UTF-8`")
