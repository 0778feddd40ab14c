"""`index_paths`: walk paths, let the claiming source read each, and store what changed.

Per file: a size+mtime match skips it outright; otherwise its hash decides. Changed
files are parsed; each item is redacted, chunked and compared by content hash with
what is stored, and only new chunk texts are embedded (a chunk text seen before
reuses its stored codes). Files are embedded in batches for throughput and written
one transaction per file, so a document counts as stored only once it is committed
with all of its chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from assistant.embedding.quantize import binary_codes, ensure_ranges, int8_codes, load_ranges
from assistant.ingest.chunking import chunk_text
from assistant.ingest.context import ChatContext
from assistant.ingest.deadline import read_with_deadline
from assistant.ingest.redact import redact, redact_item
from assistant.sources import Failure, Item, SkipFile
from assistant.store.db import write_transaction
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
class _Unit:
    """One file (or folder a source reads whole) and the source that claims it."""

    path: Path
    source: object


@dataclass
class _Pending:
    source: object
    container: str  # files.path, or where items from elsewhere came from (an IMAP folder)
    file: tuple[str, tuple[int, float]] | None  # (hash, (size, mtime)); None when not from a file
    new_docs: list[tuple[Item, str, list[str]]]  # (item, content hash, chunk texts)
    drop_ids: list[int]  # stored documents replaced or vanished
    updated: int


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
        self._pending: list[_Pending] = []
        self._pending_chunks = 0

    # -- discovery ---------------------------------------------------------------------------

    def _claim(self, path: Path):
        for source in self.assistant.sources:
            try:
                if source.claims(path):
                    return source
            except OSError:
                continue
        return None

    def discover(self, paths: Iterable[Path]) -> list[_Unit]:
        units: list[_Unit] = []
        for path in paths:
            path = Path(path).expanduser()
            if not path.exists():
                self._problem(str(path), "no such file or directory")
                continue
            path = path.resolve()
            if path.is_file():
                source = self._claim(path)
                if source is None:
                    self._problem(str(path), f"skipped: no source reads {path.suffix or 'this kind of'} files "
                                             "(see `assistant plugins list`)")
                else:
                    units.append(_Unit(path, source))
                continue
            units.extend(self._walk(path))
        return units

    def _walk(self, root: Path) -> list[_Unit]:
        units: list[_Unit] = []
        source = self._claim(root)
        if source is not None:
            return [_Unit(root, source)]
        # followlinks=False: a symlinked folder is never entered, so link loops cannot trap the walk.
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            kept = []
            for name in dirs:
                if name.startswith("."):
                    continue
                sub = Path(folder) / name
                claimed = self._claim(sub)
                if claimed is not None:
                    units.append(_Unit(sub, claimed))
                else:
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                if name.startswith("."):
                    continue
                file = Path(folder) / name
                if file.is_symlink() and not file.is_file():
                    continue
                claimed = self._claim(file)
                if claimed is not None:
                    units.append(_Unit(file, claimed))
        return units

    # -- indexing ---------------------------------------------------------------------------

    def run(self, paths: Iterable[Path], units: list[_Unit] | None = None) -> IndexReport:
        started = time.perf_counter()
        paths = list(paths)
        units = units if units is not None else self.discover(paths)
        self._forget_vanished(paths, {str(unit.path) for unit in units})
        for unit in units:
            try:
                self._index_unit(unit)
            except Exception as exc:  # one bad file never stops the rest; a SkipFile's message is its reason
                reason = str(exc) if isinstance(exc, SkipFile) else f"{type(exc).__name__}: {exc}"
                self._fail(str(unit.path), getattr(unit.source, "name", "?"), reason, _stat_or_none(unit.path))
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
            ids = [r["id"] for r in self.db.query("SELECT id FROM documents WHERE container = ?", [path])]
            with write_transaction(self.db):
                self.report.removed += delete_documents(self.db, ids)
                self.db["files"].delete(path)

    def _index_unit(self, unit: _Unit) -> None:
        key = str(unit.path)
        stat = _stat(unit.path)
        known = next(self.db["files"].rows_where("path = ?", [key]), None)
        if known and (known["size"], known["mtime"]) == stat and not unit.path.is_dir() and not self.rehash:
            self.report.unchanged += self._count_docs(key)
            return
        if not (self.retry_failed or self.rehash) and self._failed_unchanged(key, stat):
            self.report.still_failing += 1
            return
        limit = getattr(unit.source, "max_bytes", None)
        if limit is not None and not unit.path.is_dir() and stat[0] > limit:
            raise SkipFile(f"too large: {mib(stat[0])} is over the {mib(limit)} limit for {unit.source.name} files")
        digest = file_hash(unit.path)
        if known and known["hash"] == digest:
            self.db["files"].update(key, {"size": stat[0], "mtime": stat[1]})
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
        stored = {row["uri"]: (row["id"], row["content_hash"])
                  for row in self.db.query("SELECT id, uri, content_hash FROM documents WHERE container = ?", [key])}
        seen: set[str] = set()
        new_docs: list[tuple[Item, str, list[str]]] = []
        drop_ids: list[int] = []
        updated = 0
        context = ChatContext()
        for entry in entries:
            if isinstance(entry, Failure):
                self._fail(entry.uri, source.name, entry.reason)
                continue
            redact_item(entry)
            context.fill(entry)
            seen.add(entry.uri)
            chunks = chunk_text(entry.text)
            if not chunks:
                self._fail(entry.uri, source.name, "empty: no text to index")
                continue
            digest_item = content_hash(entry)
            if entry.uri in stored:
                old_id, old_hash = stored[entry.uri]
                if old_hash == digest_item:
                    self.report.unchanged += 1
                    continue
                drop_ids.append(old_id)
                updated += 1
            new_docs.append((entry, digest_item, chunks))
        if drop_unseen:
            drop_ids.extend(doc_id for uri, (doc_id, _) in stored.items() if uri not in seen)
            self.report.removed += len([uri for uri in stored if uri not in seen])
        self._pending.append(_Pending(source, key, file, new_docs, drop_ids, updated))
        self._pending_chunks += sum(len(chunks) for _, _, chunks in new_docs)

    def _failed_unchanged(self, key: str, stat: tuple[int, float]) -> bool:
        row = self.db.execute("SELECT size, mtime FROM quarantine WHERE uri = ?", [key]).fetchone()
        return row is not None and (row[0], row[1]) == stat

    def _count_docs(self, container: str) -> int:
        return self.db.execute("SELECT count(*) FROM documents WHERE container = ?", [container]).fetchone()[0]

    def _flush(self) -> None:
        if not self._pending:
            return
        texts = sorted({text for p in self._pending for _, _, chunks in p.new_docs for text in chunks})
        self.assistant.follow_store()  # never file codes of one model among another's
        codes = self._codes_for(texts)
        source_ids: dict[str, int] = {}
        for pending in self._pending:
            name = pending.source.name
            if name not in source_ids:
                source_ids[name] = source_id(self.db, name, getattr(pending.source, "kind", name))
            self._write(pending, source_ids[name], codes)
        self._pending, self._pending_chunks = [], 0

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

    def _write(self, pending: _Pending, source: int, codes: dict[str, tuple[bytes, bytes]]) -> None:
        key = pending.container
        model = self.assistant.embedder.name
        with write_transaction(self.db):
            delete_documents(self.db, pending.drop_ids)
            for item, digest, chunks in pending.new_docs:
                doc_id = insert_document(self.db, source, key, item, digest)
                for position, text in enumerate(chunks):
                    h = text_hash(text)
                    chunk_id = self.db["chunks"].insert(
                        {"document_id": doc_id, "position": position, "text": text, "hash": h,
                         "context": item.context}
                    ).last_pk
                    binary, int8 = codes[h]
                    self.db["vectors"].insert({"chunk_id": chunk_id, "model": model, "binary": binary, "int8": int8})
                self.report.chunks += len(chunks)
            if pending.file is not None:
                digest, (size, mtime) = pending.file
                self.db["files"].upsert(
                    {"path": key, "source_id": source, "size": size, "mtime": mtime, "hash": digest,
                     "indexed_at": now()},
                    pk="path",
                )
            self.db.execute("DELETE FROM quarantine WHERE uri = ?", [key])
        self.report.added += len(pending.new_docs) - pending.updated
        self.report.updated += pending.updated

    def _problem(self, where: str, reason: str) -> None:
        self.report.problems.append((where, reason))

    def _fail(self, uri: str, source: str, reason: str, stat: tuple[int, float] | None = None) -> None:
        reason = redact(reason)  # a parser's error message may quote the file's bytes
        self.report.failed += 1
        self._problem(uri, reason)
        with self.db.atomic():
            quarantine(self.db, uri, source, reason, stat)


def embed_codes(db, embedder, texts: list[str]) -> list[tuple[bytes, bytes]]:
    """(binary, int8) codes of each text, calibrating the model's int8 ranges on first use."""
    vectors = embedder.encode(texts)
    extra = None
    if len(texts) < CALIBRATION_MIN and load_ranges(db, embedder.name) is None:
        from assistant.ingest.calibration import calibration_vectors

        extra = calibration_vectors(embedder)
    ranges = ensure_ranges(db, embedder.name, vectors, extra)
    binary, int8 = binary_codes(vectors), int8_codes(vectors, ranges)
    return [(binary[i].tobytes(), int8[i].tobytes()) for i in range(len(texts))]


def index_paths(assistant, paths: Iterable[Path], on_progress=None) -> IndexReport:
    return Indexer(assistant, on_progress).run(paths)
