"""What the TUI reads from the store and writes to the home, kept apart from the widgets.

Every function takes a `sqlite_utils.Database` (or a folder) so the app can call it from a
worker thread with that thread's own connection, never on the UI thread.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.home import atomic_write


def source_counts(db) -> list[dict]:
    """Documents per source: how many, how many of them the person wrote, and when one was last stored."""
    return [dict(row) for row in db.query(
        "SELECT s.name AS source, s.kind AS kind, count(d.id) AS documents, "
        "coalesce(sum(d.author_is_me), 0) AS mine, max(d.indexed_at) AS last_sync "
        "FROM sources s LEFT JOIN documents d ON d.source_id = s.id "
        "GROUP BY s.id HAVING count(d.id) > 0 ORDER BY count(d.id) DESC, s.name"
    )]


def quarantine(db) -> list[dict]:
    return list(db["quarantine"].rows_where(select="uri, source, reason", order_by="uri"))


def document_count(db) -> int:
    return db.execute("SELECT count(*) FROM documents").fetchone()[0]


def correspondents(db, limit: int = 200) -> list[str]:
    """People in the store, most frequent first: whom the person wrote to, and who wrote to them."""
    seen: Counter = Counter()
    for row in db.query("SELECT recipients FROM documents WHERE author_is_me = 1 AND kind = 'mail'"):
        seen.update(json.loads(row["recipients"] or "[]"))
    for row in db.query("SELECT author FROM documents WHERE author_is_me = 0 AND author != ''"):
        seen[row["author"]] += 1
    return [name for name, _ in seen.most_common(limit)]


def exemplar_sources(db, chunk_ids: list[int]) -> list[str]:
    """One line per exemplar chunk: the title of its document and the date it was written."""
    lines = []
    for chunk_id in chunk_ids:
        row = next(db.query(
            "SELECT d.title, d.created_at FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?",
            [chunk_id]), None)
        if row:
            lines.append(f"{row['title'] or '(untitled)'} ({(row['created_at'] or '')[:10]})")
    return lines


def save_eml(folder: Path, message: bytes, subject: str, stamp: datetime | None = None) -> Path:
    """`message` (an RFC 5322 email) as `<folder>/<time>-<subject>.eml`, written atomically and,
    while the store is encrypted, sealed (`folder` is the home's drafts/)."""
    from assistant.store.sealed import seal

    stamp = stamp or datetime.now(timezone.utc)
    slug = "".join(c if c.isalnum() else "-" for c in subject.lower())[:40].strip("-") or "draft"
    folder.mkdir(parents=True, exist_ok=True)
    return atomic_write(folder / f"{stamp:%Y%m%d-%H%M%S}-{slug}.eml", seal(folder.parent, message))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Session:
    """One chat session as `$ASSISTANT_HOME/sessions/<id>.jsonl`, one turn a line (the README's format)."""

    path: Path

    @classmethod
    def new(cls, folder: Path) -> "Session":
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        return cls(folder / f"{stamp}-{secrets.token_hex(3)}.jsonl")

    @property
    def id(self) -> str:
        return self.path.stem

    def append(self, role: str, text: str) -> None:
        """Add a turn; while the store is encrypted the whole file is sealed again with it."""
        from assistant.store.sealed import seal, sealing, unseal  # not before the first frame: it loads the store

        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"role": role, "text": text, "timestamp": _now()}, ensure_ascii=False) + "\n"
        home = self.path.parent.parent  # sessions/ is in the home
        if sealing(home):
            before = unseal(home, self.path.read_bytes()) if self.path.exists() else b""
            atomic_write(self.path, seal(home, before + line.encode("utf-8")))
            return
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)

    def forget(self) -> bool:
        """Delete this session's file (and only it). True when there was one."""
        existed = self.path.exists()
        self.path.unlink(missing_ok=True)
        return existed
