"""Schema changes as named, append-only migrations: add new ones at the end, never edit old ones."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("persona-assistant")


@migrations()
def m001_initial(db: Database) -> None:
    db["sources"].create(
        {"id": int, "name": str, "kind": str, "added_at": str},
        pk="id",
    )
    db["sources"].create_index(["name"], unique=True)
    # A file on disk that one or more documents came from; size/mtime/hash let a
    # re-index (and the daemon's reconciliation) skip unchanged files cheaply.
    db["files"].create(
        {"path": str, "source_id": int, "size": int, "mtime": float, "hash": str, "indexed_at": str},
        pk="path",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db["documents"].create(
        {
            "id": int,
            "source_id": int,
            "uri": str,
            "container": str,  # the file it came from (files.path), for removal and re-index
            "kind": str,  # doc | mail | chat
            "title": str,
            "author": str,
            "recipients": str,  # JSON list
            "author_is_me": int,
            "created_at": str,  # when the person (or someone else) wrote it, ISO-8601
            "indexed_at": str,
            "content_hash": str,
            "meta": str,  # JSON object: thread ids, conversation, ...
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db["documents"].create_index(["uri"], unique=True)
    db["documents"].create_index(["container"])
    db["documents"].create_index(["author_is_me", "kind"])
    db["chunks"].create(
        {"id": int, "document_id": int, "position": int, "text": str, "hash": str},
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["chunks"].create_index(["document_id"])
    db["chunks"].create_index(["hash"])
    # Binary (1 bit/dim) code for the Hamming shortlist, int8 code for rescoring.
    db["vectors"].create(
        {"chunk_id": int, "model": str, "binary": bytes, "int8": bytes},
        pk="chunk_id",
        foreign_keys=[("chunk_id", "chunks", "id")],
    )
    # Calibrated int8 ranges per embedding model: float32 array of shape (2, dim).
    db["quantization"].create(
        {"model": str, "dim": int, "ranges": bytes, "calibration_size": int, "created_at": str},
        pk="model",
    )
    # One bad file never stops the rest: it is recorded here with its reason.
    db["quarantine"].create(
        {"uri": str, "source": str, "reason": str, "first_seen": str, "last_seen": str},
        pk="uri",
    )
    db["chunks"].enable_fts(["text"], create_triggers=True, tokenize="porter unicode61")


@migrations()
def m002_imap_state(db: Database) -> None:
    # Per IMAP account and folder: the UIDVALIDITY seen and the highest UID whose message is
    # stored. It advances only after a batch is committed, so an interrupted sync resumes.
    db["imap_state"].create(
        {"account": str, "folder": str, "uidvalidity": int, "last_uid": int, "synced_at": str},
        pk=("account", "folder"),
    )


@migrations()
def m003_chunk_context(db: Database) -> None:
    # Words that say what a chunk is about without being part of it (a chat message's
    # predecessor): full-text search reads them beside the text; they are never embedded,
    # shown as the chunk, or learned from as anyone's writing. Chunks stored before this
    # migration keep an empty context until their file changes.
    db["chunks"].add_column("context", str, not_null_default="")
    db["chunks"].disable_fts()
    db["chunks"].enable_fts(["text", "context"], create_triggers=True, tokenize="porter unicode61")


@migrations()
def m004_quarantine_file_state(db: Database) -> None:
    # The size and mtime a whole file failed with, so the daemon's reconciliation does not
    # read an unchanged bad file again on every pass.
    db["quarantine"].add_column("size", int)
    db["quarantine"].add_column("mtime", float)


@migrations()
def m005_embedding_models(db: Database) -> None:
    # A change of embedding model fills this table with the new model's codes while `vectors`
    # keeps serving the old ones; when every chunk has new codes they replace the old in one
    # transaction (`assistant.ingest.reembed`). A killed re-embed resumes where it stopped.
    db["vectors_next"].create(
        {"chunk_id": int, "model": str, "binary": bytes, "int8": bytes},
        pk="chunk_id",
        foreign_keys=[("chunk_id", "chunks", "id")],
    )


@migrations()
def m006_vector_changes(db: Database) -> None:
    # Every vector row written or removed, in order, so an index loaded in memory (the daemon's
    # `Searcher`) catches up exactly with what changed: SQLite hands the rowids of deleted
    # chunks out again, so chunk ids alone cannot tell a replaced code from an unchanged one.
    # Only the newest 100,000 changes are kept; a reader further behind than that reloads.
    db.execute("CREATE TABLE vector_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id INTEGER NOT NULL)")
    for event, rows in (("INSERT", ["new"]), ("DELETE", ["old"]), ("UPDATE", ["old", "new"])):
        logged = " ".join(f"INSERT INTO vector_changes (chunk_id) VALUES ({row}.chunk_id);" for row in rows)
        db.execute(f"CREATE TRIGGER vector_changes_{event.lower()} AFTER {event} ON vectors BEGIN {logged} END")
    db.execute("CREATE TRIGGER vector_changes_trim AFTER INSERT ON vector_changes WHEN new.seq % 10000 = 0 "
               "BEGIN DELETE FROM vector_changes WHERE seq <= new.seq - 100000; END")


@migrations()
def m007_identity_fingerprint(db: Database) -> None:
    # The `[me]` the stored `author_is_me` flags agree with (one row); when the config's `[me]`
    # differs, `assistant.attribution.sync_attribution` recomputes the flags from the store.
    db["identity"].create({"id": int, "fingerprint": str, "applied_at": str}, pk="id")


@migrations()
def m008_attachment_kind(db: Database) -> None:
    # A mail attachment is a document of its own, not an email the person wrote: it never
    # teaches style or serves as an exemplar. Attachments stored as mail become their own kind.
    db.execute("UPDATE documents SET kind = 'attachment' "
               "WHERE kind = 'mail' AND json_extract(meta, '$.attachment_of') IS NOT NULL")


@migrations()
def m009_style_profile(db: Database) -> None:
    # How the person writes, kept up to date document by document (`assistant.profile.refresh`).
    # One row per document of kind mail, chat or doc: the content hash and authorship it was read
    # with (a changed document is read again), the groups it counts towards (its context, and for
    # the person's own writing each correspondent), its additive counts and its word n-grams. The
    # groups' totals (`style_counts`, `style_grams`) are sums of these rows, so a new document adds
    # its counts and a removed one (`delete_documents`) takes them away: nothing is re-read.
    db.execute("CREATE TABLE style_features (document_id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL, "
               "mine INTEGER NOT NULL, context TEXT NOT NULL, correspondents TEXT NOT NULL, counts TEXT NOT NULL, "
               "grams TEXT NOT NULL)")
    # correspondent '' is the whole context (email, chat, document); '~others' everyone else's text in it.
    db.execute("CREATE TABLE style_counts (context TEXT NOT NULL, correspondent TEXT NOT NULL, key TEXT NOT NULL, "
               "value REAL NOT NULL, PRIMARY KEY (context, correspondent, key)) WITHOUT ROWID")
    # Word n-grams: the person's own (mine = 1) against everyone else's (mine = 0), per context.
    db.execute("CREATE TABLE style_grams (mine INTEGER NOT NULL, context TEXT NOT NULL, gram TEXT NOT NULL, "
               "docs INTEGER NOT NULL, uses INTEGER NOT NULL, PRIMARY KEY (mine, gram, context)) WITHOUT ROWID")
    # Groups whose counts changed since their profile was last rendered.
    db.execute("CREATE TABLE style_dirty (context TEXT NOT NULL, correspondent TEXT NOT NULL, "
               "PRIMARY KEY (context, correspondent)) WITHOUT ROWID")
    # The rendered profile of each group: figures (JSON) and the notes a prompt carries.
    db.execute("CREATE TABLE style_profile (context TEXT NOT NULL, correspondent TEXT NOT NULL, docs INTEGER NOT NULL, "
               "data TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (context, correspondent))")
    # Per context, a few of the person's own texts that show how they write, best first, and the
    # running mean of the context's document vectors they were chosen against.
    db.execute("CREATE TABLE style_exemplars (context TEXT NOT NULL, rank INTEGER NOT NULL, "
               "document_id INTEGER NOT NULL, score REAL NOT NULL, PRIMARY KEY (context, rank))")
    db.execute("CREATE TABLE style_centroids (context TEXT PRIMARY KEY, docs INTEGER NOT NULL, "
               "vector BLOB NOT NULL, added_since_selection INTEGER NOT NULL)")


@migrations()
def m010_generations(db: Database) -> None:
    # The audit: one row per generation (a draft, a rewrite, an answer) with what it used, so the
    # person can see why a text came out as it did (`assistant history`). The text it wrote is not
    # kept. Each chunk it used is a row of `generation_chunks` with the document's uri and title
    # as they were then (a re-indexed file gives its chunks new ids); `assistant forget` removes
    # every generation that cites a forgotten document.
    db["generations"].create(
        {
            "id": int,
            "skill": str,
            "model": str,
            "created_at": str,
            "seconds": float,
            "request": str,  # JSON object: the instruction and options as the person gave them
            "style_notes": str,  # JSON list
            "fact_ids": str,  # JSON list
            "guard_removed": str,  # JSON list: what a safety guard took out of the output
        },
        pk="id",
    )
    db["generation_chunks"].create(
        {"generation_id": int, "position": int, "chunk_id": int, "uri": str, "title": str},
        pk=("generation_id", "position"),
        foreign_keys=[("generation_id", "generations", "id")],
    )
    db["generation_chunks"].create_index(["chunk_id"])
    db["generation_chunks"].create_index(["uri"])


@migrations()
def m011_facts(db: Database) -> None:
    # Propositions about the person, drawn only from their own writing (`source` inferred) or
    # told by them (`profile add`: stated). `subject` names the changing state a fact is about
    # ("home", "employer", "diet:coffee"): a newer fact with the same subject supersedes the
    # older one, which keeps its row with status superseded and is linked by `supersedes`.
    # AUTOINCREMENT: a forgotten fact's id is never handed out again, so its history stays its own.
    db.execute(
        "CREATE TABLE facts (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, category TEXT, "
        "confidence FLOAT NOT NULL DEFAULT 0.5, status TEXT NOT NULL DEFAULT 'active', "
        "sensitive INTEGER NOT NULL DEFAULT 0, first_seen TEXT, last_seen TEXT, supersedes INTEGER, subject TEXT, "
        "source TEXT NOT NULL DEFAULT 'inferred', "
        "vector BLOB)"  # float16 embedding of `text` (near-duplicates merge, prompts rank by it)
    )
    db["facts"].create_index(["status"])
    db["facts"].create_index(["subject"])
    # Which chunks of the person's writing a fact rests on (many to many); removing a document
    # removes its rows here, and an inferred fact left with none goes with them.
    db["fact_evidence"].create({"fact_id": int, "chunk_id": int}, pk=("fact_id", "chunk_id"),
                               foreign_keys=[("fact_id", "facts", "id")])
    db["fact_evidence"].create_index(["chunk_id"])
    # Every change to a fact, by the extractor or the person: what it was, what it became, why.
    db["fact_history"].create(
        {"id": int, "fact_id": int, "action": str, "old_text": str, "new_text": str, "old_status": str,
         "new_status": str, "old_confidence": float, "new_confidence": float, "at": str, "reason": str},
        pk="id",
    )
    db["fact_history"].create_index(["fact_id"])
    # What the person rejected, by the evidence it came from: the same proposition from the
    # same chunk is never inferred again. Keyed by the chunk's text hash, not its id (ids are reused).
    db["rejected_evidence"].create({"chunk_hash": str, "proposition": str, "rejected_at": str},
                                   pk=("chunk_hash", "proposition"))
    # Chunks fact extraction has read (id and text hash: ids are reused), so a refresh reads only
    # what is new and resumes after a kill.
    db["fact_processed"].create({"chunk_id": int, "hash": str, "processed_at": str}, pk="chunk_id")
    # Each persona induced, newest last; `statements` holds every candidate statement with its
    # likelihood gain and whether verification kept it.
    db["persona_versions"].create(
        {"id": int, "text": str, "created_at": str, "statements": str, "model": str}, pk="id")


@migrations()
def m012_style_features_read_again(db: Database) -> None:
    # A sign-off or greeting glued to the text (mail whose line breaks were lost: "…did.Thanks,Kay")
    # is read since this version. Every document's style row is dropped with the totals it made;
    # the next refresh (`profile.refresh.refresh_style`) reads them all again and renders each group.
    for table in ("style_features", "style_counts", "style_grams"):
        db.execute(f"DELETE FROM {table}")
