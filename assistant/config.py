"""The person's config: who they are, which model drafts, how retrieval weighs its lists.

Read with `tomllib`; changed with `tomlkit` so the comments `assistant init` wrote survive.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

from assistant.errors import UserError
from assistant.home import Home

DEFAULT_GENERATOR = "gemma3-270m"


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


@dataclass
class Config:
    me: Identity = field(default_factory=Identity)
    generator: str = DEFAULT_GENERATOR
    gpu_layers: int = -1
    local_models: list[dict] = field(default_factory=list)
    embedding_backend: str = "torch"
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

    @classmethod
    def load(cls, home: Home) -> "Config":
        """The config in `home`, or defaults when `assistant init` has not run yet."""
        if not home.config_path.exists():
            return cls()
        try:
            data = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{home.config_path} is not valid TOML ({exc}); fix it or re-run `assistant init --force`") from exc
        me = data.get("me", {})
        models = data.get("models", {})
        retrieval = data.get("retrieval", {})
        return cls(
            me=Identity(
                names=list(me.get("names", [])),
                emails=list(me.get("emails", [])),
                handles=list(me.get("handles", [])),
            ),
            generator=models.get("generator", DEFAULT_GENERATOR),
            gpu_layers=int(models.get("gpu_layers", -1)),
            local_models=list(models.get("local", [])),
            embedding_backend=str(data.get("embedding", {}).get("backend", "torch")),
            rrf_k=int(retrieval.get("rrf_k", 10)),
            vector_weight=float(retrieval.get("vector_weight", 1.5)),
            text_weight=float(retrieval.get("text_weight", 1.5)),
            text_full_coverage=float(retrieval.get("text_full_coverage", 0.75)),
            recency_boost=float(retrieval.get("recency_boost", 0.0)),
            recency_half_life_days=float(retrieval.get("recency_half_life_days", 180.0)),
            own_writing_boost=float(retrieval.get("own_writing_boost", 0.0)),
            self_query_boost=float(retrieval.get("self_query_boost", 1.0)),
            preference_query_weight=float(retrieval.get("preference_query_weight", 1.5)),
            source_paths=list(data.get("sources", {}).get("paths", [])),
        )


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
# from the installed model into cache/). Switching re-embeds nothing.
backend = "torch"

[retrieval]
# Reciprocal rank fusion of the vector list and the full-text (BM25) list:
# score = vector_weight / (rrf_k + vector_rank) + w / (rrf_k + text_rank), where the text
# list's weight w = text_weight · min(1, coverage / text_full_coverage) and coverage is the
# share of the question's words found in its best full-text match (a chat message is matched
# with the message before it). A question that shares few words with anything stored
# leans on meaning; one that names things leans on words too. (Tuned on the LoCoMo and
# PrefEval development data: `make bench`.)
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

[sources]
# Folders and files you index; `assistant index PATH` adds to this list.
paths = []
"""


def write_config(home: Home, identity: Identity) -> Path:
    home.ensure()
    home.config_path.write_text(render_config(identity), encoding="utf-8")
    return home.config_path


def update_config(home: Home, edit) -> None:
    """Apply `edit(document)` to the config, keeping its comments."""
    if not home.config_path.exists():
        write_config(home, Identity())
    document = tomlkit.parse(home.config_path.read_text(encoding="utf-8"))
    edit(document)
    home.config_path.write_text(tomlkit.dumps(document), encoding="utf-8")


def remember_source_path(home: Home, path: Path) -> None:
    """Record an indexed path so the daemon (and `assistant index` with no args) can find it again."""

    def edit(document) -> None:
        sources = document.setdefault("sources", tomlkit.table())
        paths = sources.setdefault("paths", tomlkit.array())
        if str(path) not in [str(p) for p in paths]:
            paths.append(str(path))

    update_config(home, edit)
