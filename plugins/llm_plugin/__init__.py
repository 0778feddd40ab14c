"""The person's persona, memory and draft skill inside simonw/llm (entry-point group `llm`).

    llm -f persona: "reply to this invitation"          # who they are and how they write
    llm -f persona:Sam "a note about Thursday"          # ... to Sam in particular
    llm -f memory:"the lease" "what did I promise?"     # the top passages from their own text
    llm -T search_memory "when is the site visit?"       # the same functions as tools

The same read-only functions as `assistant mcp` (assistant/host_tools.py), on the home
that `$ASSISTANT_HOME` names (else the default).
"""

from __future__ import annotations

import json
from functools import cache

import llm

from assistant.home import Home
from assistant.host_tools import HostTools

MEMORY_PASSAGES = 5


@cache
def host_tools() -> HostTools:
    return HostTools(Home.resolve())


def persona_loader(recipient: str) -> llm.Fragment:
    """The person's persona and style notes; persona:NAME gives their style towards NAME."""
    return llm.Fragment(host_tools().persona(recipient or None), source=f"persona:{recipient}")


def memory_loader(query: str) -> llm.Fragment:
    """The passages of the person's own documents, mail and chats nearest QUERY, quoted, with their sources."""
    found = host_tools().search_memory(query, k=MEMORY_PASSAGES)
    lines = [f"Passages from the person's own store for {query!r}. {found['note']}"]
    for passage in found["results"]:
        evidence = passage["evidence"]
        lines += ["", f"[chunk {evidence['chunk_id']}, {evidence['source']}, {evidence['date'][:10]}]",
                  passage["text"]]
    return llm.Fragment("\n".join(lines), source=f"memory:{query}")


def search_memory(query: str, k: int = 5, kind: str | None = None, mine: bool | None = None) -> str:
    """Search the person's own documents, mail and chats. kind: doc, mail or chat; mine: true for only what
    they wrote. Returns JSON passages, each quoted data with its evidence (chunk id, source, date)."""
    return json.dumps(host_tools().search_memory(query, k=k, kind=kind, mine=mine), ensure_ascii=False)


def profile_facts(topic: str | None = None) -> str:
    """What is known about the person (identity, how they write), optionally about a topic; JSON with evidence."""
    return json.dumps(host_tools().profile_facts(topic), ensure_ascii=False)


def style_notes(recipient: str | None = None) -> str:
    """How the person writes email, to a recipient where known; JSON with the sent emails it was learned from."""
    return json.dumps(host_tools().style_notes(recipient), ensure_ascii=False)


def draft_email(instruction: str, to: str | None = None) -> str:
    """Draft (never send) an email in the person's voice; JSON with the draft and the past emails it drew on."""
    return json.dumps(host_tools().draft_email(instruction, to), ensure_ascii=False)


@llm.hookimpl
def register_fragment_loaders(register):
    register("persona", persona_loader)
    register("memory", memory_loader)


@llm.hookimpl
def register_tools(register):
    for function in (search_memory, profile_facts, style_notes, draft_email):
        register(function)
