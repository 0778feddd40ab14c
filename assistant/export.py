"""`assistant export`: what the assistant holds about the person, as one portable JSON document.

By default it carries what was learned (who they are, how they write, what was indexed
from where, with counts), not the indexed text itself; `with_text` adds every document
with its chunks.
"""

from __future__ import annotations

import json

from assistant import __version__
from assistant.store.documents import now

FORMAT = "persona-assistant-export/1"


def export_data(assistant, with_text: bool = False) -> dict:
    from assistant.profile.summary import summary_data

    db = assistant.db
    summary = summary_data(assistant)
    config = assistant.config
    data = {
        "format": FORMAT,
        "exported_at": now(),
        "assistant_version": __version__,
        "identity": summary["me"],
        "style": summary["style"],
        "documents": summary["documents"],
        "chunks": summary["chunks"],
        "sources": sources(db),
        "source_paths": config.source_paths,
        "forgotten": {"ignore": config.ignore, "ignore_sources": config.ignore_sources,
                      "ignore_before": config.ignore_before},
        "generations": db.execute("SELECT count(*) FROM generations").fetchone()[0],
    }
    if with_text:
        data["texts"] = texts(db)
    return data


def sources(db) -> list[dict]:
    """Each source with how many documents (yours and others'), chunks and files it stored."""
    return [dict(row) for row in db.query(
        """SELECT s.name, s.kind, s.added_at,
                  (SELECT count(*) FROM documents d WHERE d.source_id = s.id) AS documents,
                  (SELECT count(*) FROM documents d WHERE d.source_id = s.id AND d.author_is_me) AS mine,
                  (SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
                    WHERE d.source_id = s.id) AS chunks,
                  (SELECT count(*) FROM files f WHERE f.source_id = s.id) AS files
           FROM sources s ORDER BY s.name""")]


def texts(db) -> list[dict]:
    """Every document with its metadata and chunk texts, in store order."""
    documents = []
    for row in db.query("SELECT d.*, s.name AS source FROM documents d JOIN sources s ON s.id = d.source_id "
                        "ORDER BY d.id"):
        document = {key: row[key] for key in ("uri", "source", "kind", "title", "author", "created_at")}
        document["author_is_me"] = bool(row["author_is_me"])
        document["recipients"] = json.loads(row["recipients"] or "[]")
        document["meta"] = json.loads(row["meta"] or "{}")
        document["chunks"] = [r[0] for r in db.execute(
            "SELECT text FROM chunks WHERE document_id = ? ORDER BY position", [row["id"]])]
        documents.append(document)
    return documents
