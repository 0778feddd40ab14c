"""`assistant forget`: remove a source, a document, everything before a date, or everything,
with every row derived from it, and keep it from coming back.

What goes: the documents, their chunks, vectors (current and a re-embed's next), full-text
entries, the `files` and `quarantine` rows of the files concerned, and every generation in
the audit that used one of its chunks. It is deleted with `PRAGMA secure_delete = ON` (freed
bytes are overwritten with zeros), the full-text index is merged (`optimize`) so no old
segment keeps a forgotten word, and the WAL is checkpointed and truncated, so no copy of a
forgotten page stays in `profile.db-wal`. A running search index (this process, the daemon)
drops the vectors on its next refresh: the vector change log records the deletes.

Keeping it out: before anything is deleted the config records what was forgotten
(`[sources] ignore`, `ignore_sources`, `ignore_before`; `assistant.ingest.ignore.Exclusions`),
which `assistant index` and the daemon's reconciliation both honour; a forgotten source
path also leaves `[sources] paths`, so nothing watches it any more.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomlkit
from sqlite_utils import Database

from assistant.config import Config, parse_date, update_config
from assistant.errors import UserError
from assistant.home import Home
from assistant.profile.refresh import refresh_style
from assistant.store.audit import delete_generations, forget_generations
from assistant.store.db import write_transaction
from assistant.store.documents import delete_documents

BATCH = 500
TAIL_WORDS = 8  # enough of a message's end to know the context made from it


@dataclass
class Plan:
    """What one `forget` removes (SQL conditions on `documents d`, `files f` and `quarantine q`, with
    named `params`) and what the config records so it stays out."""

    what: str
    documents: str
    files: str
    quarantine: str
    params: dict = field(default_factory=dict)
    everything: bool = False
    source_ids: list[int] = field(default_factory=list)
    drop_paths: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    ignore_sources: list[str] = field(default_factory=list)
    ignore_before: str | None = None


@dataclass
class Forgotten:
    documents: int = 0
    chunks: int = 0
    vectors: int = 0
    files: int = 0
    quarantine: int = 0
    generations: int = 0
    contexts: int = 0  # chat messages whose context quoted a forgotten one, now without it
    prompt_states: int = 0  # saved KV states of prompt prefixes dropped
    facts: int = 0
    personas: int = 0  # persona versions that quoted a forgotten fact
    ignored: list[str] = field(default_factory=list)  # what the config now keeps out
    wal_truncated: bool = False
    vacuumed: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _under(column: str) -> str:
    """SQL: `column` is :key or lies under it (a folder's files, a file's `#` parts)."""
    return f"({column} = :key OR substr({column}, 1, length(:key) + 1) IN (:key || '/', :key || '#'))"


def _key(where: str) -> str:
    """A path made absolute as the store keeps them; a uri (`imap://…`) as given."""
    if "://" in where:
        return where.rstrip("/")
    return str(Path(where).expanduser().resolve())


def plan_source(db: Database, config: Config, name: str) -> Plan:
    """A configured source path (`[sources] paths`), or a source by name (`mail`, `whatsapp`, `imap`)."""
    key = _key(name)
    if key in config.source_paths or str(Path(name).expanduser()) in config.source_paths:
        return Plan(f"everything indexed from {key}", _under("d.container"), _under("f.path"), _under("q.uri"),
                    {"key": key}, drop_paths=[key, str(Path(name).expanduser())], ignore=[key])
    row = db.execute("SELECT id FROM sources WHERE name = ?", [name]).fetchone()
    if row is None:
        names = [r[0] for r in db.execute("SELECT name FROM sources ORDER BY name")]
        raise UserError(f"no source {name!r}: give a path from `[sources] paths` "
                        f"({', '.join(config.source_paths) or 'none'}) or a source name "
                        f"({', '.join(names) or 'none indexed'}); for any other file or folder use --document")
    return Plan(f"everything read by the {name} source", "d.source_id = :id", "f.source_id = :id",
                "q.source = :name", {"id": row[0], "name": name}, source_ids=[row[0]], ignore_sources=[name])


def plan_document(db: Database, where: str) -> Plan:
    """A file (or folder) by path, or one document by uri (a message in a mailbox: `FILE#…`)."""
    key = _key(where)
    plan = Plan(f"everything stored from {key}", f"({_under('d.uri')} OR {_under('d.container')})",
                _under("f.path"), _under("q.uri"), {"key": key}, ignore=[key])
    if not any(counts(db, plan)[name] for name in ("documents", "files", "quarantine")):
        raise UserError(f"nothing is stored from {key}; `assistant search --json` shows each result's uri")
    return plan


def plan_before(date: str) -> Plan:
    if parse_date(date) is None:
        raise UserError(f"--before {date!r} is not a date; give one like 2024-01-31")
    return Plan(f"everything written before {date}", "(d.created_at != '' AND d.created_at < :date)", "0", "0",
                {"date": date}, ignore_before=date)


def plan_everything(db: Database, config: Config) -> Plan:
    return Plan("everything in the store", "1", "1", "1", everything=True,
                source_ids=[r[0] for r in db.execute("SELECT id FROM sources")],
                drop_paths=list(config.source_paths), ignore=list(config.source_paths))


def counts(db: Database, plan: Plan) -> dict:
    """How many rows the plan removes, by kind (documents, chunks, files, quarantine, generations)."""
    docs = f"SELECT d.id FROM documents d WHERE {plan.documents}"
    p = plan.params
    if plan.everything:
        generations = db.execute("SELECT count(*) FROM generations").fetchone()[0]
    else:
        generations = db.execute(
            "SELECT count(DISTINCT generation_id) FROM generation_chunks WHERE chunk_id IN "
            f"(SELECT id FROM chunks WHERE document_id IN ({docs})) OR uri IN "
            f"(SELECT d.uri FROM documents d WHERE {plan.documents})", p).fetchone()[0]
    return {
        "documents": db.execute(f"SELECT count(*) FROM documents d WHERE {plan.documents}", p).fetchone()[0],
        "chunks": db.execute(f"SELECT count(*) FROM chunks WHERE document_id IN ({docs})", p).fetchone()[0],
        "files": db.execute(f"SELECT count(*) FROM files f WHERE {plan.files}", p).fetchone()[0],
        "quarantine": db.execute(f"SELECT count(*) FROM quarantine q WHERE {plan.quarantine}", p).fetchone()[0],
        "generations": generations,
    }


def keep_out(home: Home, plan: Plan) -> list[str]:
    """Record in the config what the plan forgets, so indexing never reads it back; what it added."""
    added: list[str] = []

    def edit(document) -> None:
        sources = document.setdefault("sources", tomlkit.table())
        paths = sources.setdefault("paths", tomlkit.array())
        for path in [p for p in paths if str(p) in plan.drop_paths]:
            paths.remove(path)
        for key, values in (("ignore", plan.ignore), ("ignore_sources", plan.ignore_sources)):
            current = sources.setdefault(key, tomlkit.array())
            for value in values:
                if value not in [str(v) for v in current]:
                    current.append(value)
                    added.append(value)
        if plan.ignore_before and plan.ignore_before > str(sources.get("ignore_before", "")):
            sources["ignore_before"] = plan.ignore_before
            added.append(f"before {plan.ignore_before}")

    update_config(home, edit)
    return added


def forget(db: Database, home: Home, plan: Plan, vacuum: bool = False) -> Forgotten:
    """Carry out `plan`: record it in the config, delete securely, merge the full-text index,
    truncate the WAL (and VACUUM when asked)."""
    result = Forgotten(ignored=keep_out(home, plan))  # first: a reconciliation meanwhile must not re-read it
    p = plan.params
    db.execute("PRAGMA secure_delete = ON")
    with write_transaction(db):
        ids = [r[0] for r in db.execute(f"SELECT d.id FROM documents d WHERE {plan.documents}", p)]
        chunk_ids, uris = _chunks_and_uris(db, ids)
        result.chunks = len(chunk_ids)
        result.vectors = _count_vectors(db, chunk_ids)
        result.generations = (delete_generations(db) if plan.everything
                              else forget_generations(db, chunk_ids, uris))
        tails = _chat_tails(db, ids)
        result.documents = delete_documents(db, ids)
        result.contexts = _clear_contexts(db, tails)
        result.files = db.execute(f"DELETE FROM files AS f WHERE {plan.files}", plan.params).rowcount
        result.quarantine = db.execute(f"DELETE FROM quarantine AS q WHERE {plan.quarantine}",
                                       plan.params).rowcount
        for source in plan.source_ids:
            if not db.execute("SELECT 1 FROM documents WHERE source_id = ? UNION ALL "
                              "SELECT 1 FROM files WHERE source_id = ? LIMIT 1", [source, source]).fetchone():
                db.execute("DELETE FROM sources WHERE id = ?", [source])
        # FTS5 deletes are markers in new segments; the old segments keep the words until merged.
        db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")
    # What was learned from those documents: the style profile renders again without them, and the
    # saved prompt-prefix states (persona and style notes) are dropped, to be rebuilt on next use.
    refresh_style(db)
    _drop_prompt_states(home, result)
    if vacuum:
        db.execute("VACUUM")
        result.vacuumed = True
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    result.wal_truncated = busy == 0
    return result


def forget_fact(db: Database, home: Home, fact_id: int) -> Forgotten:
    """Remove one fact (`facts.forget`: its evidence links and history), the persona versions and
    generations that quote or used it, and the saved prompt-prefix states; overwritten on disk."""
    from assistant.profile import facts

    result = Forgotten()
    db.execute("PRAGMA secure_delete = ON")
    with write_transaction(db):
        text = facts.get(db, fact_id).text.rstrip(".")
        facts.forget(db, fact_id)
        result.facts = 1
        result.generations = forget_generations(db, fact_ids=[fact_id])
        result.personas = db.execute("DELETE FROM persona_versions WHERE instr(text, ?) OR instr(statements, ?)",
                                     [text, text]).rowcount
    _drop_prompt_states(home, result)
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    result.wal_truncated = busy == 0
    return result


def _drop_prompt_states(home: Home, result: Forgotten) -> None:
    prefixes = home.cache_dir / "prefix"
    result.prompt_states = len(list(prefixes.glob("*"))) if prefixes.is_dir() else 0
    shutil.rmtree(prefixes, ignore_errors=True)


def _chunks_and_uris(db: Database, document_ids: list[int]) -> tuple[list[int], list[str]]:
    chunk_ids: list[int] = []
    uris: list[str] = []
    for start in range(0, len(document_ids), BATCH):
        part = document_ids[start : start + BATCH]
        marks = ",".join("?" * len(part))
        chunk_ids += [r[0] for r in db.execute(f"SELECT id FROM chunks WHERE document_id IN ({marks})", part)]
        uris += [r[0] for r in db.execute(f"SELECT uri FROM documents WHERE id IN ({marks})", part)]
    return chunk_ids, uris


def _chat_tails(db: Database, document_ids: list[int]) -> dict[str, set[str]]:
    """Per container, the last words of each chat message among these documents: what the next
    message's `context` (`assistant.ingest.context`) was made of."""
    tails: dict[str, set[str]] = {}
    for start in range(0, len(document_ids), BATCH):
        part = document_ids[start : start + BATCH]
        marks = ",".join("?" * len(part))
        for container, text in db.execute(
                f"SELECT d.container, c.text FROM documents d JOIN chunks c ON c.document_id = d.id "
                f"WHERE d.id IN ({marks}) AND d.kind = 'chat' AND c.position = "
                "(SELECT max(position) FROM chunks WHERE document_id = d.id)", part):
            tails.setdefault(container, set()).add(" ".join(text.split()[-TAIL_WORDS:]))
    return tails


def _clear_contexts(db: Database, tails: dict[str, set[str]]) -> int:
    """Empty the `context` of remaining chunks that quote a forgotten message (the one before them)."""
    cleared = 0
    for container, ends in tails.items():
        for chunk_id, context in db.execute(
                "SELECT c.id, c.context FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE d.container = ? AND c.context != ''", [container]).fetchall():
            if " ".join(context.split()).endswith(tuple(ends)):
                db.execute("UPDATE chunks SET context = '' WHERE id = ?", [chunk_id])
                cleared += 1
    return cleared


def _count_vectors(db: Database, chunk_ids: list[int]) -> int:
    total = 0
    for start in range(0, len(chunk_ids), BATCH):
        part = chunk_ids[start : start + BATCH]
        marks = ",".join("?" * len(part))
        for table in ("vectors", "vectors_next"):
            total += db.execute(f"SELECT count(*) FROM {table} WHERE chunk_id IN ({marks})", part).fetchone()[0]
    return total
