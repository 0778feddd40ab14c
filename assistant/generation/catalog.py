"""Which GGUF models exist for this person: the embedded catalog plus the ones they added."""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from assistant.config import Config, update_config
from assistant.errors import UserError
from assistant.model_files import (concatenate, model_cache_dir, package_dir,
                                           part_files, sha256_file, write_verified)
from assistant.home import Home


SERVER = "server"  # the model name that drafts through `[server]`, an OpenAI-compatible server on the LAN


@dataclass
class ModelEntry:
    name: str
    file: str
    sha256: str
    role: str
    context: int
    origin: str  # "embedded", "added" or "server" (`[server]` in the config)
    package: str = ""
    assembler: str = ""  # or our module whose assemble(target) makes the file (nomic's split zip)
    parts: int = 0  # the GGUF is `part_file` of packages `package`.format(n=1..parts), concatenated
    part_file: str = ""
    version: str = ""
    size_mb: int = 0
    path: str = ""  # for added models
    license: str = ""
    install: str = ""

    @property
    def part_packages(self) -> list[str]:
        return [self.package.format(n=n) for n in range(1, self.parts + 1)]

    def installed(self) -> bool:
        if self.origin == "server":
            return True  # nothing on disk: whether it answers shows at the first request
        if self.origin == "added":
            return Path(self.path).is_file()
        if self.assembler:
            return importlib.import_module(self.assembler).installed()
        if self.parts:
            return all(importlib.util.find_spec(_module(dist)) for dist in self.part_packages)
        return importlib.util.find_spec(self.package) is not None

    def resolve(self) -> Path:
        """The GGUF on disk, assembled (and checked against its sha256) into the model cache the first time."""
        if self.origin == "added":
            path = Path(self.path)
            if not path.is_file():
                raise UserError(f"model {self.name!r} points at {path}, which is gone; "
                                f"re-add it with `assistant models add FILE.gguf`")
            return path
        if not (self.parts or self.assembler):
            if not self.installed():
                raise UserError(f"model {self.name!r} is not installed; run `{self.install}` (or `make install`)")
            return package_dir(self.package) / self.file
        target = model_cache_dir() / self.file
        if not target.exists():
            self.assemble_into(target)
        return target

    def assemble_into(self, target: Path) -> Path:
        if self.assembler:
            return importlib.import_module(self.assembler).assemble(target)
        paths = part_files(self.part_packages, _module, lambda n: self.part_file.format(n=n, i=n - 1),
                           self.version, self.install)
        return write_verified(target, self.sha256, concatenate(paths), f"model {self.name!r}",
                              f"reinstall its packages: `{self.install}`")

    def repair(self) -> bool:
        """After a failed load: re-assemble an embedded file whose sha256 does not match. True if it did."""
        if self.origin == "added" or not (self.parts or self.assembler):
            return False
        target = model_cache_dir() / self.file
        if target.exists() and sha256_file(target) == self.sha256:
            return False
        target.unlink(missing_ok=True)
        self.assemble_into(target)
        return True


def _module(distribution: str) -> str:
    return distribution.replace("-", "_")


def embedded_models() -> list[ModelEntry]:
    data = tomllib.loads((files("assistant_models") / "catalog.toml").read_text(encoding="utf-8"))
    return [
        ModelEntry(name=m["name"], file=m["file"], sha256=m["sha256"], role=m["role"], context=m["context"],
                   origin="embedded", package=m.get("package", ""), assembler=m.get("assembler", ""),
                   parts=m.get("parts", 0), part_file=m.get("part_file", ""), version=m.get("version", ""),
                   size_mb=m.get("size_mb", 0), license=m.get("license", ""), install=m.get("install", ""))
        for m in data["model"]
    ]


def all_models(config: Config) -> list[ModelEntry]:
    added = [
        ModelEntry(name=m["name"], file=Path(m["path"]).name, sha256=m.get("sha256", ""), role=m.get("role", "chat"),
                   context=int(m.get("context", 4096)), origin="added", path=m["path"])
        for m in config.local_models
    ]
    server = [ModelEntry(name=SERVER, file=config.server.url, sha256="", role="chat", context=config.server.context,
                         origin="server", path=config.server.url)] if config.server else []
    return embedded_models() + added + server


def find_model(config: Config, name: str) -> ModelEntry:
    models = {m.name: m for m in all_models(config)}
    if name == SERVER and not config.server:
        raise UserError(f'[models] generator is "{SERVER}" but config.toml has no [server] section; add one '
                        '(url = "http://HOST:8080/v1", see the README) or choose a model with '
                        "`assistant models use NAME`")
    if name not in models:
        raise UserError(f"no model named {name!r}; known: {', '.join(models)} "
                        "(add your own with `assistant models add FILE.gguf`)")
    return models[name]


def load_generator(config: Config, name: str | None = None, seed: int = 0, cache_dir: Path | None = None):
    """Open the drafting model; an embedded file that fails to load is checked and re-assembled once.
    With `cache_dir`, the KV state of stable prompt prefixes is kept there for later processes."""
    from assistant.generation.llama import LlamaCppGenerator

    entry = find_model(config, name or config.generator)
    if entry.origin == "server":
        from assistant.generation.server import ServerGenerator

        return ServerGenerator(config.server)
    if entry.role == "embedding":
        raise UserError(f"{entry.name!r} is an embedding model and cannot draft; "
                        "choose a chat or completion model with `assistant models use NAME`")
    path = entry.resolve()

    def load():
        return LlamaCppGenerator(entry.name, path, context=entry.context,
                                 gpu_layers=config.gpu_layers, chat=entry.role == "chat", seed=seed,
                                 sha256=entry.sha256 or f"{path}:{path.stat().st_mtime_ns}", cache_dir=cache_dir)
    try:
        return load()
    except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
        if entry.repair():
            return load()
        raise UserError(f"llama.cpp cannot load model {entry.name!r} from {path} ({exc}); "
                        + ("re-add a good copy with `assistant models add`" if entry.origin == "added"
                           else f"reinstall it: `{entry.install}`")) from exc


def model_name_for(path: Path) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-")


def add_model(home: Home, config: Config, path: Path, name: str | None = None, role: str = "chat",
              context: int = 4096, prefixes: tuple[str, str] = ("", "")) -> ModelEntry:
    """Register a GGUF the person owns, after checking it is a GGUF that llama.cpp can open
    (and, for role `embedding`, that it pools tokens into one vector per text)."""
    path = path.expanduser().absolute()
    if not path.is_file():
        raise UserError(f"{path} does not exist; give the path of a .gguf file")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UserError(f"{path} is not a GGUF file (it does not start with 'GGUF'); "
                            "convert it with llama.cpp's convert_hf_to_gguf.py first")
    from assistant.embedding.gguf import check_embedding_model, gguf_metadata

    extra: dict = {}
    if role == "embedding":
        meta = check_embedding_model(path)
        extra = {"dims": int(meta[f"{meta['general.architecture']}.embedding_length"]),
                 "query_prefix": prefixes[0], "document_prefix": prefixes[1]}
    else:
        gguf_metadata(path)
    name = name or model_name_for(path)
    if name in {m.name for m in embedded_models()} | {SERVER}:
        raise UserError(f"{name!r} is taken (an embedded model, or the [server] backend); pass --name to choose another")
    entry = ModelEntry(name=name, file=path.name, sha256=sha256_file(path), role=role, context=context,
                       origin="added", path=str(path))

    def edit(document) -> None:
        import tomlkit

        models = document.setdefault("models", tomlkit.table())
        local = models.setdefault("local", tomlkit.aot())
        for i in reversed(range(len(local))):
            if local[i]["name"] == name:
                del local[i]
        local.append({"name": name, "path": str(path), "sha256": entry.sha256, "role": role, "context": context,
                      **extra})

    update_config(home, edit)
    return entry


def use_model(home: Home, config: Config, name: str) -> ModelEntry:
    """Draft with model `name`, or for an embedding model, embed with it (`[embedding] backend`)."""
    entry = find_model(config, name)

    def edit(document) -> None:
        import tomlkit

        if entry.role == "embedding":
            document.setdefault("embedding", tomlkit.table())["backend"] = name
        else:
            document.setdefault("models", tomlkit.table())["generator"] = name

    update_config(home, edit)
    return entry
