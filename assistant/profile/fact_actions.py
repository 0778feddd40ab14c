"""The person's corrections to their facts: what `assistant profile edit|pin|reject|add` and the
TUI's Profile area both call. Each is one transaction and one row of `fact_history` per fact it
changes (`forget` is `assistant.forget.forget_fact`, which also removes what quoted the fact)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import UserError
from assistant.profile import extract, facts
from assistant.store.db import write_transaction
from assistant.store.documents import now


def edit(db, fact_id: int, text: str) -> facts.Fact:
    """Correct a fact's words; it then counts as something the person said."""
    if not text.strip():
        raise UserError("the new text is empty; give the fact's words, e.g. profile edit 12 \"Lives in Denver\"")
    with write_transaction(db):
        return facts.update(db, fact_id, "edited", "edited by you", text=text.strip(), source="stated",
                            confidence=1.0, vector=None)


def pin(db, fact_id: int) -> facts.Fact:
    """Confirm a fact: never superseded or dropped, and used in prompts even if sensitive."""
    with write_transaction(db):
        return facts.update(db, fact_id, "pinned", "pinned by you", status="pinned")


def reject(db, fact_id: int) -> facts.Fact:
    """Mark a fact wrong: it leaves prompts and is never inferred again from the same evidence."""
    with write_transaction(db):
        return facts.reject(db, fact_id)


@dataclass
class Added:
    id: int
    text: str
    category: str
    replaced: int | None  # the older fact about the same subject it superseded

    def summary(self) -> str:
        return f"#{self.id} {self.text}: added ({self.category})" + (
            f", replacing #{self.replaced}" if self.replaced else "")


def add(db, embedder, text: str, category: str | None = None) -> Added:
    """A fact the person states ("I moved to Denver" is stored as "Lives in Denver"); it supersedes
    the active fact about the same subject."""
    text = text.strip()
    if not text:
        raise UserError('the fact is empty; e.g. assistant profile add "I am vegetarian"')
    if category and category not in extract.CATEGORIES:
        raise UserError(f"unknown category {category!r}; use one of: {', '.join(extract.CATEGORIES)}")
    found = (extract.typed(text) or [None])[0]
    text = found.text if found and found.subject else text
    subject = found.subject if found else None
    category = category or (found.category if found else "life")
    vector = embedder.encode([text])[0]
    with write_transaction(db):
        older = next(db.query("SELECT id FROM facts WHERE subject = ? AND status = 'active' ORDER BY last_seen DESC",
                              [subject]), None) if subject else None
        fact_id = facts.insert(db, text=text, category=category, confidence=1.0, seen=now(), subject=subject,
                               source="stated", vector=vector, sensitive=bool(found and found.sensitive),
                               supersedes=older["id"] if older else None, reason="added by you")
        if older:
            facts.update(db, older["id"], "superseded", f"superseded by fact {fact_id}, which you added",
                         status="superseded")
    return Added(fact_id, text, category, older["id"] if older else None)
