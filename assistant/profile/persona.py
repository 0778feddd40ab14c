"""A short persona of the person, induced from their style notes and facts, and verified (SynthesizeMe).

Each candidate statement ("Signs off with 'Onwards, Priya'.", "Is vegetarian.") is kept only if
putting it before the person's real writing makes the local model find that writing more
likely, relative to another writer's text on the same topic, than with no statement at all:

    gain(s) = mean over pairs [ lp(real | s) − lp(other | s) ] − mean over pairs [ lp(real) − lp(other) ]

where lp is the model's log-probability per token. The pairs are the person's recent emails,
each with the closest text (by embedding) someone else wrote. Statements with gain ≤ 0 are
dropped. Every version is stored in `persona_versions` with each statement's gain and fate;
`current_persona` returns the newest text, which the generation layer puts first in its
prompt as a stable prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from assistant.profile import facts as fact_store
from assistant.store.documents import now

# Scoring is the cost: each statement is scored on every pair, real and other text, one full
# forward pass each (~3–6 s of CPU per pass for SmolLM2-135M at 150 tokens on a busy 2-core machine).
PAIRS = 2  # real/other pairs the statements are scored on
MAX_FACT_STATEMENTS = 4
MAX_CHARS = 300  # of each text scored: a few sentences carry the voice


@dataclass
class Statement:
    text: str
    origin: str  # style | fact
    gain: float | None = None
    kept: bool = True


def current_persona(db) -> str:
    """The newest persona's text, or "" before the first `profile refresh`."""
    row = db.execute("SELECT text FROM persona_versions ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else ""


def latest_version(db) -> dict | None:
    row = next(db.query("SELECT * FROM persona_versions ORDER BY id DESC LIMIT 1"), None)
    return {**row, "statements": json.loads(row["statements"])} if row else None


def versions(db) -> list[dict]:
    """Every persona version, newest first, with its statements (each with its gain and whether it was kept)."""
    return [{**row, "statements": json.loads(row["statements"])}
            for row in db.query("SELECT * FROM persona_versions ORDER BY id DESC")]


def candidate_statements(db, style_notes: list[str]) -> list[Statement]:
    """Style notes, then the most confident active facts that may reach a prompt (not sensitive unless pinned)."""
    statements = [Statement(note, "style") for note in style_notes]
    chosen = [f for f in fact_store.all_facts(db, ("pinned", "active")) if fact_store.for_prompt(f)
              and f.category != "life"][:MAX_FACT_STATEMENTS]
    statements += [Statement(f.text.rstrip(".") + ".", "fact") for f in chosen]
    return statements


def continuation_logprob(generator, context: str, text: str) -> float:
    """Log-probability per token of `text` after `context` under `generator` (its `logprob`)."""
    total, tokens = generator.logprob(context, text)
    return total / max(tokens, 1)


def _context(name: str, statements: list[str]) -> str:
    about = "".join(f"- {s}\n" for s in statements)
    return (f"Notes on how {name} writes and who they are:\n{about}\n" if about else "") + f"An email {name} wrote:\n"


def verification_pairs(db, embedder, pairs: int = PAIRS) -> list[tuple[str, str]]:
    """(the person's real email, the nearest text by someone else) for their most recent substantial emails."""
    mine = [r["text"][:MAX_CHARS] for r in db.query(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.author_is_me = 1 "
        "AND d.kind = 'mail' AND c.position = 0 AND length(c.text) > 200 ORDER BY d.created_at DESC LIMIT ?", [pairs])]
    others = [r["text"][:MAX_CHARS] for r in db.query(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.author_is_me = 0 "
        "AND d.kind IN ('mail', 'chat', 'doc') AND length(c.text) > 120 ORDER BY d.created_at DESC LIMIT 300")]
    if not mine or not others:
        return []
    sims = embedder.encode(mine) @ embedder.encode(others).T
    return [(text, others[int(sims[i].argmax())]) for i, text in enumerate(mine)]


def margin(generator, name: str, statements: list[str], pairs: list[tuple[str, str]]) -> float:
    """How much more likely the person's real text is than the other writer's, per token, on average."""
    context = _context(name, statements)
    return sum(continuation_logprob(generator, context, real) - continuation_logprob(generator, context, other)
               for real, other in pairs) / len(pairs)


def build_persona(db, embedder, generator, name: str, style_notes: list[str],
                  on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Induce, verify and store a new persona version; returns it with the measured margins.

    With no `generator` that can score (`logprob`), or nothing to compare against, every
    statement is kept unverified (the version's model says so).
    """
    statements = candidate_statements(db, style_notes)
    pairs = verification_pairs(db, embedder) if generator is not None and hasattr(generator, "logprob") else []
    measured: dict = {}
    if pairs and statements:
        total = len(statements) + 2
        base = margin(generator, name, [], pairs)
        for n, statement in enumerate(statements, 1):
            statement.gain = round(margin(generator, name, [statement.text], pairs) - base, 4)
            statement.kept = statement.gain > 0
            if on_progress:
                on_progress(n, total)
        kept = [s.text for s in statements if s.kept]
        measured = {"margin_none": round(base, 4),
                    "margin_all": round(margin(generator, name, [s.text for s in statements], pairs), 4),
                    "margin_kept": round(margin(generator, name, kept, pairs), 4) if kept else round(base, 4),
                    "pairs": len(pairs)}
        if on_progress:
            on_progress(total, total)
    text = render(name, [s for s in statements if s.kept])
    model = generator.name if pairs else "unverified"
    version_id = db["persona_versions"].insert({
        "text": text, "created_at": now(), "model": model,
        "statements": json.dumps({"statements": [s.__dict__ for s in statements], **measured}),
    }).last_pk
    return {"id": version_id, "text": text, "model": model, "statements": [s.__dict__ for s in statements], **measured}


def render(name: str, statements: list[Statement]) -> str:
    if not statements:
        return ""
    style = [s.text for s in statements if s.origin == "style"]
    about = [s.text for s in statements if s.origin == "fact"]
    parts = [f"You write as {name}."]
    if about:
        parts.append("About them: " + " ".join(about))
    if style:
        parts.append("Their style: " + " ".join(style))
    return "\n".join(parts)
