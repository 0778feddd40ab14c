"""`index_paths`: walk paths, let the claiming source read each, and store what changed.

Per file: a size+mtime match skips it outright; otherwise its hash decides. Changed
files are parsed; each item is redacted, chunked and compared by content hash with
what is stored, and only new chunk texts are embedded (a chunk text seen before
reuses its stored codes). Files are embedded in batches for throughput and written
one transaction per file, so a document counts as stored only once it is committed
with all of its chunks.

Any number of indexers (`assistant index`, the daemon) may run on one store at once:
each file's write compares with what is stored inside its own write transaction, so
the last writer of a file wins and none fails on another's rows. A file that can no
longer be read (gone unreadable, emptied, binary) loses its stored documents, and the
reason is listed by `assistant sources errors`: old text never stays searchable.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR
from typing import Callable, Iterable

from assistant.config import Config
from assistant.embedding.quantize import binary_codes, ensure_ranges, int8_codes, load_ranges
from assistant.errors import UserError
from assistant.ingest.chunking import chunk_text
from assistant.ingest.context import ChatContext
from assistant.ingest.deadline import read_with_deadline
from assistant.ingest.discover import Discovery, Unit
from assistant.ingest.ignore import Exclusions
from assistant.ingest.redact import redact, redact_item
from assistant.sources import Failure, Item, SkipFile
from assistant.store.db import driver_errors, write_transaction
from assistant.store.documents import delete_documents, insert_document, now, quarantine, source_id
from assistant.textfiles import mib

BATCH_CHUNKS = 256
FILE_TIMEOUT_S = 300.0  # per-file cap on reading; a file over it is quarantined
CALIBRATION_MIN = 256


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    still_failing: int = 0  # quarantined files left unread because they have not changed since
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path or uri, reason)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {self.failed} failed"
            + (f" ({self.still_failing} more unchanged since they failed)" if self.still_failing else "")
            + f"; {self.chunks} chunks ({self.embedded} embedded) in {self.seconds:.1f}s"
        )

    def as_dict(self) -> dict:
        data = self.__dict__.copy()
        data["problems"] = [{"path": p, "reason": r} for p, r in self.problems]
        return data


@dataclass
class _Pending:
    """What one file (or fetch) read, to be compared with the store when it is written."""

    source: object
    container: str  # files.path, or where items from elsewhere came from (an IMAP folder)
    file: tuple[str, tuple[int, float]] | None  # (hash, (size, mtime)); None when not from a file
    new_docs: list[tuple[Item, str, list[str]]]  # (item, content hash, chunk texts) not stored as read
    seen: set[str]  # every uri read with text; with drop_unseen, stored documents of others go
    failed: set[str]  # uris that failed this time: their quarantine entries stay
    drop_unseen: bool


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for entry in sorted(path.rglob("*")):
            if entry.is_file() and not entry.is_symlink():
                st = entry.stat()
                digest.update(f"{entry.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stat(path: Path) -> tuple[int, float]:
    st = path.stat()
    return st.st_size, st.st_mtime


def _stat_or_none(path: Path) -> tuple[int, float] | None:
    try:
        return _stat(path)
    except OSError:
        return None


def content_hash(item: Item) -> str:
    fields = [item.kind, item.title, item.author, json.dumps(item.recipients), item.created_at,
              str(item.author_is_me), item.text] + ([item.context] if item.context else [])
    return hashlib.sha256("\0".join(fields).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Indexer:
    def __init__(self, assistant, on_progress: Callable[[Path], None] | None = None) -> None:
        self.assistant = assistant
        self.db = assistant.db
        self.me = assistant.config.me
        self.on_progress = on_progress or (lambda path: None)
        self.report = IndexReport()
        self.file_timeout = FILE_TIMEOUT_S
        # True: hash every file even when its size and mtime match (the daemon's periodic full pass
        # catches `cp -p` / `rsync --times` overwrites that keep both).
        self.rehash = False
        # False: a quarantined file whose size and mtime are those it failed with is not read
        # again (the daemon's frequent reconciliation: a corrupt 90 MB PDF is not re-parsed
        # every pass). A run you start yourself, and every rehash pass, retries it.
        self.retry_failed = True
        self.discovery = Discovery(assistant.sources)
        # Read from the file, not `assistant.config`: the daemon's long-lived `Assistant` must see a
        # `forget` made while it runs; `_excluded_since_read` reads it again if it changes meanwhile.
        self._config_stamp = _stamp(assistant.home.config_path)
        self.exclusions = Exclusions.of(Config.load(assistant.home))
        self._pending: list[_Pending] = []
        self._pending_chunks = 0
        self._known: dict[str, dict] = {}  # `files` rows of the units being run, read up front

    # -- discovery ---------------------------------------------------------------------------

    def discover(self, paths: Iterable[Path], roots: list[Path] | None = None) -> list[Unit]:
        """The units to read for `paths`: a path inside a folder a source reads whole (a Maildir)
        is that folder, looked for up to the root in `roots` that holds it (when given)."""
        units: dict[Path, Unit] = {}
        for path in paths:
            path = Path(path).expanduser().resolve()
            if self.exclusions.covers(str(path)):
                self._problem(str(path), "skipped: forgotten (`assistant forget`); it is under `ignore` in "
                                         "[sources] of config.toml")
                continue
            root = _root_of(path, roots) if roots is not None else None
            owner = self.discovery.owner(path, root) if root is not None or roots is None else None
            if owner is not None:
                units.setdefault(owner.path, owner)
                continue
            if not path.exists():
                self._problem(str(path), "no such file or directory")
                continue
            if path.is_file():
                source = self.discovery.claim(path)
                if source is None:
                    self._problem(str(path), f"skipped: no source reads {path.suffix or 'this kind of'} files "
                                             "(see `assistant plugins list`)")
                else:
                    units.setdefault(path, Unit(path, source))
                continue
            for unit in self.discovery.walk(path):
                units.setdefault(unit.path, unit)
        return [unit for unit in units.values() if not self.exclusions.excludes_unit(unit.path, unit.source)]

    # -- indexing ---------------------------------------------------------------------------

    def run(self, paths: Iterable[Path], units: list[Unit] | None = None) -> IndexReport:
        started = time.perf_counter()
        paths = list(paths)
        units = units if units is not None else self.discover(paths)
        self._forget_vanished(paths, {str(unit.path) for unit in units})
        self._known = self._known_files([str(unit.path) for unit in units])
        for unit in units:
            try:
                self._index_unit(unit)
            except Exception as exc:  # one bad file never stops the rest; a SkipFile's message is its reason
                if isinstance(exc, FileNotFoundError) and not unit.path.exists():
                    self._drop_files([str(unit.path)])  # deleted since it was found: gone, not failed
                else:
                    reason = str(exc) if isinstance(exc, SkipFile) else f"{type(exc).__name__}: {exc}"
                    # A file that cannot be read any more loses what it held; a store error leaves it be.
                    self._fail(str(unit.path), getattr(unit.source, "name", "?"), reason,
                               _stat_or_none(unit.path), unreadable=not isinstance(exc, driver_errors("Error")))
            self.on_progress(unit.path)
            if self._pending_chunks >= BATCH_CHUNKS:
                self._flush()
        self._flush()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _forget_vanished(self, roots: list[Path], present: set[str]) -> None:
        """Files indexed under a folder being re-indexed that are no longer there lose their documents."""
        for root in roots:
            root = Path(root).expanduser()
            if not root.is_dir():
                continue
            prefix = str(root.resolve()).rstrip("/") + "/"
            gone = [row["path"] for row in self.db.query(
                "SELECT path FROM files WHERE substr(path, 1, ?) = ?", [len(prefix), prefix])
                if row["path"] not in present and not Path(row["path"]).exists()]
            self._drop_files(gone)

    def forget(self, paths: Iterable[Path]) -> IndexReport:
        """Remove the documents of files that no longer exist at `paths` (a file, or anything under a folder)."""
        for path in paths:
            key = str(Path(path).expanduser().resolve())
            prefix = key.rstrip("/") + "/"
            self._drop_files([row["path"] for row in self.db.query(
                "SELECT path FROM files WHERE path = ? OR substr(path, 1, ?) = ?", [key, len(prefix), prefix])
                if not Path(row["path"]).exists()])
        return self.report

    def _drop_files(self, paths: list[str]) -> None:
        for path in paths:
            with write_transaction(self.db):
                self._drop_container(path)

    def _drop_container(self, path: str) -> None:
        """Inside a write transaction: remove the documents of `path` and its `files` row."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM documents WHERE container = ?", [path])]
        self.report.removed += delete_documents(self.db, ids)
        self.db.execute("DELETE FROM files WHERE path = ?", [path])

    def _known_files(self, keys: list[str]) -> dict[str, dict]:
        """The stored `files` rows of `keys`, each with its document count, in a few queries instead of
        two per file: reconciling an unchanged tree is then mostly one stat per file."""
        known: dict[str, dict] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.query(
                f"SELECT f.path, f.size, f.mtime, f.hash, (SELECT count(*) FROM documents d WHERE d.container = f.path) "
                f"AS documents FROM files f WHERE f.path IN ({marks})", part):
                known[row["path"]] = row
        return known

    def _index_unit(self, unit: Unit) -> None:
        key = str(unit.path)
        st = unit.path.stat()
        stat = (st.st_size, st.st_mtime)
        known = self._known.get(key)
        if known and (known["size"], known["mtime"]) == stat and not S_ISDIR(st.st_mode) and not self.rehash:
            self.report.unchanged += known["documents"]
            return
        if not (self.retry_failed or self.rehash) and self._failed_unchanged(key, stat):
            self.report.still_failing += 1
            return
        limit = getattr(unit.source, "max_bytes", None)
        if limit is not None and not S_ISDIR(st.st_mode) and stat[0] > limit:
            raise SkipFile(f"too large: {mib(stat[0])} is over the {mib(limit)} limit for {unit.source.name} files")
        digest = file_hash(unit.path)
        if known and known["hash"] == digest:
            with write_transaction(self.db):  # no error when another indexer just removed the row
                self.db.execute("UPDATE files SET size = ?, mtime = ? WHERE path = ?", [stat[0], stat[1], key])
            self.report.unchanged += self._count_docs(key)
            return
        entries = read_with_deadline(lambda: unit.source.read(unit.path, self.me), self.file_timeout, key)
        self._queue(unit.source, key, entries, (digest, stat), drop_unseen=True)

    def store_items(self, source, container: str, entries: Iterable[Item | Failure]) -> IndexReport:
        """Store items that come from no file (an IMAP folder) under `container`, committed on return.

        New and changed items are written; stored items missing from `entries` stay, since such
        a fetch is incremental. `source` has the `name` and `kind` a `Source` has.
        """
        self._queue(source, container, entries, None, drop_unseen=False)
        self._flush()
        return self.report

    def _queue(self, source, key: str, entries: Iterable[Item | Failure],
               file: tuple[str, tuple[int, float]] | None, drop_unseen: bool) -> None:
        """Read `entries` and keep those not stored as read for the next `_flush`.

        The look at the store here only spares embedding what is stored already; `_write`
        compares again under the write lock, since another indexer may write in between.
        """
        stored = self._stored_hashes(key)
        pending = _Pending(source, key, file, [], set(), set(), drop_unseen)
        context = ChatContext()
        for entry in entries:
            if self.exclusions.excludes_item(source, entry.uri, getattr(entry, "created_at", None)):
                continue  # forgotten (`assistant forget`): with drop_unseen a stored copy goes too
            if isinstance(entry, Failure):
                self._fail(entry.uri, source.name, entry.reason)
                pending.failed.add(entry.uri)
                continue
            redact_item(entry)
            context.fill(entry)
            chunks = chunk_text(entry.text)
            if not chunks:  # emptied: the stored version is no longer its text either
                self._fail(entry.uri, source.name, "empty: no text to index")
                pending.failed.add(entry.uri)
                continue
            pending.seen.add(entry.uri)
            digest_item = content_hash(entry)
            if stored.get(entry.uri) == digest_item:
                self.report.unchanged += 1
                continue
            pending.new_docs.append((entry, digest_item, chunks))
        self._pending.append(pending)
        self._pending_chunks += sum(len(chunks) for _, _, chunks in pending.new_docs)

    def _stored_hashes(self, container: str) -> dict[str, str]:
        return {row[0]: row[1] for row in self.db.execute(
            "SELECT uri, content_hash FROM documents WHERE container = ?", [container])}

    def _failed_unchanged(self, key: str, stat: tuple[int, float]) -> bool:
        row = self.db.execute("SELECT size, mtime FROM quarantine WHERE uri = ?", [key]).fetchone()
        return row is not None and (row[0], row[1]) == stat

    def _count_docs(self, container: str) -> int:
        return self.db.execute("SELECT count(*) FROM documents WHERE container = ?", [container]).fetchone()[0]

    def _flush(self) -> None:
        """Embed what the pending files need, then write each in its own transaction.

        A file whose write fails is quarantined like one that could not be read; the
        others are still written.
        """
        pending, self._pending, self._pending_chunks = self._pending, [], 0
        if not pending:
            return
        texts = sorted({text for p in pending for _, _, chunks in p.new_docs for text in chunks})
        self.assistant.follow_store()  # never file codes of one model among another's
        try:
            codes = self._codes_for(texts)
        except UserError:  # no model, or none the config names: the whole run stops with the fix
            raise
        except Exception as exc:
            for p in pending:
                self._fail(p.container, p.source.name, f"embedding failed: {type(exc).__name__}: {exc}")
            return
        for p in pending:
            try:
                self._write(p, codes)
            except Exception as exc:
                self._fail(p.container, p.source.name, f"{type(exc).__name__}: {exc}")

    def _codes_for(self, texts: list[str]) -> dict[str, tuple[bytes, bytes]]:
        """Binary and int8 codes for each text: reused when the text is stored already, else embedded."""
        embedder = self.assistant.embedder
        codes: dict[str, tuple[bytes, bytes]] = {}
        for start in range(0, len(texts), 500):
            part = [text_hash(t) for t in texts[start : start + 500]]
            marks = ",".join("?" * len(part))
            for row in self.db.query(
                f"SELECT c.hash, v.binary, v.int8 FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
                f"WHERE c.hash IN ({marks}) AND v.model = ?",
                part + [embedder.name],
            ):
                codes[row["hash"]] = (row["binary"], row["int8"])
        missing = [t for t in texts if text_hash(t) not in codes]
        if missing:
            for text, pair in zip(missing, embed_codes(self.db, embedder, missing)):
                codes[text_hash(text)] = pair
            self.report.embedded += len(missing)
        return codes

    def _write(self, pending: _Pending, codes: dict[str, tuple[bytes, bytes]]) -> None:
        key = pending.container
        model = self.assistant.embedder.name
        source = pending.source
        added = updated = unchanged = removed = chunk_count = 0
        with write_transaction(self.db):
            if self._excluded_since_read(pending):
                return
            source_row = source_id(self.db, source.name, getattr(source, "kind", source.name))
            drop: set[int] = set()
            if pending.drop_unseen:
                drop.update(doc_id for uri, doc_id in self.db.execute(
                    "SELECT uri, id FROM documents WHERE container = ?", [key]) if uri not in pending.seen)
                removed = len(drop)
            writes = []
            for item, digest, chunks in pending.new_docs:
                # Looked up by uri, not container: a uri is stored once, wherever it was read.
                row = self.db.execute("SELECT id, content_hash, container FROM documents WHERE uri = ?",
                                      [item.uri]).fetchone()
                if row is not None and row[1] == digest and row[2] == key:
                    unchanged += 1  # another indexer stored this very text meanwhile
                    continue
                if row is not None:
                    drop.add(row[0])
                    updated += 1
                else:
                    added += 1
                writes.append((item, digest, chunks))
            delete_documents(self.db, sorted(drop))
            for item, digest, chunks in writes:
                doc_id = insert_document(self.db, source_row, key, item, digest)
                for position, text in enumerate(chunks):
                    h = text_hash(text)
                    chunk_id = self.db["chunks"].insert(
                        {"document_id": doc_id, "position": position, "text": text, "hash": h,
                         "context": item.context}
                    ).last_pk
                    binary, int8 = codes[h]
                    self.db["vectors"].insert({"chunk_id": chunk_id, "model": model, "binary": binary, "int8": int8})
                chunk_count += len(chunks)
            if pending.file is not None:
                digest, (size, mtime) = pending.file
                self.db["files"].upsert(
                    {"path": key, "source_id": source_row, "size": size, "mtime": mtime, "hash": digest,
                     "indexed_at": now()},
                    pk="path",
                )
                self._clear_quarantine(key, pending.failed)
            elif key not in pending.failed:
                self.db.execute("DELETE FROM quarantine WHERE uri = ?", [key])
        self.report.chunks += chunk_count
        self.report.added += added
        self.report.updated += updated
        self.report.unchanged += unchanged
        self.report.removed += removed

    def _excluded_since_read(self, pending: _Pending) -> bool:
        """Inside the write transaction: apply a `forget` made since this file was read (its config
        edit comes before its delete, so a write that started earlier is deleted by it, and a later
        one sees it here). True when the whole file is now excluded."""
        stamp = _stamp(self.assistant.home.config_path)
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        self.exclusions = exclusions = Exclusions.of(Config.load(self.assistant.home))
        if exclusions.excludes_unit(pending.container, pending.source):
            return True
        pending.new_docs = [(item, digest, chunks) for item, digest, chunks in pending.new_docs
                            if not exclusions.excludes_item(pending.source, item.uri, item.created_at)]
        pending.seen = {uri for uri in pending.seen if not exclusions.excludes_item(pending.source, uri)}
        return False

    def _clear_quarantine(self, key: str, failed: set[str]) -> None:
        """Forget the failures of a file read whole just now, and of its parts, except those that failed again."""
        rows = self.db.execute(
            "SELECT uri FROM quarantine WHERE uri = ? OR substr(uri, 1, ?) IN (?, ?)",
            [key, len(key) + 1, key + "#", key + "/"]).fetchall()
        for (uri,) in rows:
            if uri not in failed:
                self.db.execute("DELETE FROM quarantine WHERE uri = ?", [uri])

    def _problem(self, where: str, reason: str) -> None:
        self.report.problems.append((where, reason))

    def _fail(self, uri: str, source: str, reason: str, stat: tuple[int, float] | None = None,
              unreadable: bool = False) -> None:
        """Record why `uri` could not be stored; an `unreadable` whole file also loses its documents."""
        reason = redact(reason)  # a parser's error message may quote the file's bytes
        self.report.failed += 1
        self._problem(uri, reason)
        with write_transaction(self.db):
            if unreadable:
                self._drop_container(uri)
            quarantine(self.db, uri, source, reason, stat)


def embed_codes(db, embedder, texts: list[str]) -> list[tuple[bytes, bytes]]:
    """(binary, int8) codes of each text, calibrating the model's int8 ranges on first use."""
    vectors = embedder.encode(texts)
    extra = None
    if len(texts) < CALIBRATION_MIN and load_ranges(db, embedder.name) is None:
        from assistant.ingest.calibration import calibration_vectors

        extra = calibration_vectors(embedder)
    with write_transaction(db):  # another indexer may calibrate at the same time
        ranges = ensure_ranges(db, embedder.name, vectors, extra)
    binary, int8 = binary_codes(vectors), int8_codes(vectors, ranges)
    return [(binary[i].tobytes(), int8[i].tobytes()) for i in range(len(texts))]


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a rewritten file from the one read before (the config is replaced whole, never edited)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _root_of(path: Path, roots: list[Path]) -> Path | None:
    """The folder (or file) in `roots` that holds `path`, or None."""
    return next((root for root in roots if root == path or root in path.parents), None)


def index_paths(assistant, paths: Iterable[Path], on_progress=None) -> IndexReport:
    return Indexer(assistant, on_progress).run(paths)
