"""Keep the stored style profile up to date at a cost proportional to what changed.

A document is read into a `style_features` row once, with the content hash and authorship
it had; a refresh reads only documents with no row or whose row no longer matches (new,
changed, re-attributed), takes out rows whose document is gone, and renders again only
the groups those touched. Documents are read in batches, each committed on its own, so a
huge history does not hold the write lock for long and a killed refresh resumes.
It runs at the end of `assistant index`, after each daemon batch (`after_ingest`) and
before a draft (a no-op when nothing changed).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from assistant.profile.exemplars import update_exemplars
from assistant.profile.style import (CONTEXT_NOUNS, CONTEXTS, MIN_PHRASE_DOCS, background_features,
                                     distinctive_phrases, document_features, group_notes, register_note,
                                     render_group)
from assistant.store.db import write_transaction
from assistant.store.documents import now
from assistant.store.style_rows import OTHERS, add_features, remove_features

BATCH = 500
# The phrase ranking reads every n-gram of the context; it is kept while the context's text
# (the person's and everyone else's) has grown or shrunk by less than this share since it was
# ranked, and while each phrase listed is still in enough of the person's texts.
PHRASE_DRIFT = 0.05
# Bumped when rendering changes: profiles rendered by another version are rendered again.
RENDER_VERSION = 1
_KINDS = ",".join(f"'{kind}'" for kind in CONTEXTS)
# Documents whose stored row is missing or out of date, and rows whose document is gone.
_NEW = (f"SELECT d.id FROM documents d LEFT JOIN style_features f ON f.document_id = d.id "
        f"WHERE d.kind IN ({_KINDS}) AND (f.document_id IS NULL OR f.content_hash != d.content_hash "
        f"OR f.mine != d.author_is_me)")
_STALE = ("SELECT f.document_id FROM style_features f LEFT JOIN documents d ON d.id = f.document_id "
          "WHERE d.id IS NULL OR f.content_hash != d.content_hash OR f.mine != d.author_is_me")


@dataclass
class RefreshReport:
    added: int = 0  # documents read
    removed: int = 0  # rows taken out (their document changed or went)
    groups: int = 0  # profiles rendered again
    exemplars: list[str] = field(default_factory=list)  # contexts whose exemplars were chosen again
    seconds: float = 0.0


def refresh_style(db) -> RefreshReport:
    started = time.perf_counter()
    report = RefreshReport()
    stale = [row[0] for row in db.execute(_STALE)]
    new = [row[0] for row in db.execute(_NEW)]
    if stale:
        with write_transaction(db):
            report.removed = remove_features(db, stale)
    added: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(new), BATCH):
        rows = _read(db, new[start : start + BATCH])
        with write_transaction(db):
            ids = [row["document_id"] for row in rows]
            remove_features(db, ids)  # a changed document's old row, if another refresh left one
            add_features(db, rows)
        for row in rows:
            if row["mine"]:
                added[row["context"]].append(row["document_id"])
        report.added += len(rows)
    if db.execute("SELECT 1 FROM style_profile WHERE json_extract(data, '$.version') IS NOT ? LIMIT 1",
                  [RENDER_VERSION]).fetchone():
        with write_transaction(db):
            db.execute("INSERT OR IGNORE INTO style_dirty SELECT context, correspondent FROM style_profile")
    if db.execute("SELECT 1 FROM style_dirty LIMIT 1").fetchone():
        with write_transaction(db):
            dirty = [tuple(row) for row in db.execute("SELECT context, correspondent FROM style_dirty")]
            report.groups = _render(db, dirty)
            for context in sorted({context for context, _ in dirty}):
                if update_exemplars(db, context, added.get(context, [])):
                    report.exemplars.append(context)
    report.seconds = time.perf_counter() - started
    return report


def _read(db, ids: list[int]) -> list[dict]:
    """Feature rows of documents `ids`, their text rebuilt from chunks in position order."""
    marks = ",".join("?" * len(ids))
    rows = []
    for doc in db.query(
        "SELECT id, kind, author_is_me, recipients, content_hash, meta, group_concat(text, '\n\n') AS text FROM ("
        "  SELECT d.id, d.kind, d.author_is_me, d.recipients, d.content_hash, d.meta, c.text"
        f"  FROM documents d JOIN chunks c ON c.document_id = d.id WHERE d.id IN ({marks})"
        "  ORDER BY d.id, c.position) GROUP BY id", ids,
    ):
        meta = json.loads(doc["meta"] or "{}")
        if doc["author_is_me"]:
            counts, grams = document_features(doc["text"], reply=bool(meta.get("in_reply_to")),
                                              names=meta.get("recipient_names") or {})
        else:
            counts, grams = background_features(doc["text"])
        if doc["kind"] == "mail":
            correspondents = sorted({a.lower() for a in json.loads(doc["recipients"] or "[]")})
        elif doc["kind"] == "chat" and meta.get("conversation"):
            correspondents = [meta["conversation"]]
        else:
            correspondents = []
        rows.append({"document_id": doc["id"], "content_hash": doc["content_hash"], "mine": doc["author_is_me"],
                     "context": CONTEXTS[doc["kind"]], "correspondents": correspondents, "counts": counts,
                     "grams": grams})
    return rows


def _counts(db, context: str, correspondent: str) -> dict[str, float]:
    return {key: value for key, value in db.execute(
        "SELECT key, value FROM style_counts WHERE context = ? AND correspondent = ?", [context, correspondent])}


def _phrases(db, context: str, counts: dict[str, float], previous: dict | None) -> tuple[list[dict], float]:
    """The context's distinctive phrases and the amount of text they were ranked on."""
    background_total = db.execute("SELECT sum(value) FROM style_counts WHERE correspondent = ? AND "
                                  "key = '~gram_uses'", [OTHERS]).fetchone()[0] or 0
    own_total = counts.get("~gram_uses", 0)
    basis = own_total + background_total
    if previous and previous.get("version") == RENDER_VERSION and abs(basis - previous.get("phrases_basis", 0)) < PHRASE_DRIFT * basis and all(
        (db.execute("SELECT docs FROM style_grams WHERE mine = 1 AND gram = ? AND context = ?",
                    [p["phrase"], context]).fetchone() or [0])[0] >= MIN_PHRASE_DOCS
        for p in previous.get("phrases", [])
    ):
        return previous["phrases"], previous["phrases_basis"]
    own = [tuple(row) for row in db.execute(
        "SELECT gram, docs, uses FROM style_grams WHERE mine = 1 AND context = ? AND docs >= ?",
        [context, MIN_PHRASE_DOCS])]
    background: dict[str, int] = {}
    grams = [gram for gram, _, _ in own]
    for start in range(0, len(grams), 500):
        part = grams[start : start + 500]
        background.update(db.execute(
            f"SELECT gram, sum(uses) FROM style_grams WHERE mine = 0 AND gram IN ({','.join('?' * len(part))}) "
            "GROUP BY gram", part).fetchall())
    return distinctive_phrases(own, int(own_total), background, int(background_total)), basis


def _render(db, dirty: list[tuple[str, str]]) -> int:
    """Render the profiles of the `dirty` groups from their totals: correspondents first, then
    contexts, whose notes name the correspondents written to differently."""
    stamp = now()
    rendered = 0
    for context, correspondent in sorted(dirty, key=lambda group: (group[0], group[1] == "")):
        if correspondent == OTHERS:
            continue
        counts = _counts(db, context, correspondent)
        if not counts.get("docs"):
            db.execute("DELETE FROM style_profile WHERE context = ? AND correspondent = ?", [context, correspondent])
            continue
        data = {**render_group(counts, correspondent), "version": RENDER_VERSION}
        noun = CONTEXT_NOUNS[context]
        if correspondent:
            data["notes"] = group_notes(data, noun)
        else:
            previous = db.execute("SELECT data FROM style_profile WHERE context = ? AND correspondent = ''",
                                  [context]).fetchone()
            data["phrases"], data["phrases_basis"] = _phrases(db, context, counts,
                                                              json.loads(previous[0]) if previous else None)
            people = {row[0]: json.loads(row[1]) for row in db.execute(
                "SELECT correspondent, data FROM style_profile WHERE context = ? AND correspondent != '' "
                "ORDER BY docs DESC LIMIT 20", [context])}
            data["notes"] = group_notes(data, noun) + [n for n in [register_note(data, people)] if n]
        db.execute("INSERT OR REPLACE INTO style_profile (context, correspondent, docs, data, updated_at) "
                   "VALUES (?, ?, ?, ?, ?)", [context, correspondent, data["docs"], json.dumps(data), stamp])
        rendered += 1
    db.execute("DELETE FROM style_dirty")
    return rendered


def current_style(db):
    """The stored style profile, refreshed first (a no-op unless documents changed): what a skill
    that writes in the person's voice reads."""
    from assistant.profile.style import stored_style

    refresh_style(db)
    return stored_style(db)
