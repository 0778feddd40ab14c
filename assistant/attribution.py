"""Whose writing a document is: one rule, applied when a source reads it and again when `[me]` changes.

A source decides attribution from the identity it is given, but what it decides from is
kept with the document (mail: the From address in `meta.from`, or the author; chat: the
speaker and `meta.aliases`; the assistant's own sessions and ChatGPT: `meta.role`).
So when `[me]` changes (`whoami --accept`, `init --force`, an edit), `sync_attribution`
recomputes `author_is_me` from the store alone: nothing is re-read or re-embedded.
"""

from __future__ import annotations

import hashlib
import json
import re
from email.utils import parseaddr

from assistant.config import Identity

# Kinds whose attribution depends on `[me]`; a doc from the person's own folders is always theirs.
ATTRIBUTED_KINDS = ("mail", "attachment", "chat")
_BRACKETED = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")


def display_name(author: str) -> str:
    """The name part of an author stored as `Name <address>`; "" when there is none."""
    author = author or ""
    return author[: author.rfind("<")].strip().strip('"') if "<" in author else ""


def address_of(author: str) -> str:
    """The address in an author written as `Name <address>` (a name may hold commas) or bare."""
    author = (author or "").strip()
    bracketed = _BRACKETED.search(author)
    if bracketed:
        return bracketed.group(1)
    return author if "@" in author and " " not in author else parseaddr(author)[1]


def is_mine(me: Identity, kind: str, author: str, meta: dict) -> bool:
    """True when a `kind` document by `author` (with its `meta`) is the person's own writing."""
    if meta.get("role"):
        return meta["role"] == "user"
    if kind in ("mail", "attachment"):
        return me.owns_address(meta.get("from") or address_of(author))
    if kind == "chat":
        return any(me.owns_handle(str(speaker)) for speaker in [author, *meta.get("aliases", [])])
    return True


def fingerprint(me: Identity) -> str:
    """What attribution depends on in `me`, order and case ignored."""
    parts = {"emails": sorted({e.strip().lower() for e in me.emails}),
             "handles": sorted({h.strip().lower() for h in me.handles + me.names})}
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def sync_attribution(db, me: Identity) -> int:
    """Make every stored `author_is_me` agree with `me`, when `me` differs from the identity they
    were computed with. Returns how many documents changed hands."""
    from assistant.store.db import write_transaction
    from assistant.store.documents import now

    wanted = fingerprint(me)
    row = db.execute("SELECT fingerprint FROM identity WHERE id = 1").fetchone()
    if row is not None and row[0] == wanted:
        return 0
    marks = ",".join("?" * len(ATTRIBUTED_KINDS))
    flips: list[tuple[int, int]] = []
    for doc in db.query(f"SELECT id, kind, author, author_is_me, meta FROM documents WHERE kind IN ({marks})",
                        ATTRIBUTED_KINDS):
        meta = json.loads(doc["meta"] or "{}")
        mine = int(is_mine(me, doc["kind"], doc["author"], meta))
        # A chat message stored before `meta.aliases` was kept may have been the person's under a
        # name not kept (a Slack real name, a Telegram id): it can be given to them, not taken away.
        legacy_chat = doc["kind"] == "chat" and "role" not in meta and "aliases" not in meta
        if mine != doc["author_is_me"] and not (legacy_chat and doc["author_is_me"]):
            flips.append((mine, doc["id"]))
    with write_transaction(db):
        db.conn.executemany("UPDATE documents SET author_is_me = ? WHERE id = ?", flips)
        db["identity"].upsert({"id": 1, "fingerprint": wanted, "applied_at": now()}, pk="id")
    return len(flips)
