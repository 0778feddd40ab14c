"""Facts and persona as `profile show` reports them (JSON and the one-screen view)."""

from __future__ import annotations

from pathlib import PurePath

from assistant.profile import facts
from assistant.profile.persona import current_persona

EVIDENCE_CHARS = 300


def fact_json(db, fact: facts.Fact) -> dict:
    return {**{k: v for k, v in fact.as_dict().items()},
            "evidence": [{"chunk_id": e["chunk_id"], "text": e["text"][:EVIDENCE_CHARS], "source": e["source"],
                          "date": e["date"]} for e in facts.evidence(db, fact.id)],
            "lineage": facts.render_lineage(facts.lineage(db, fact.id)) if fact.supersedes else ""}


def why_data(db, fact_id: int) -> dict:
    """Why the assistant believes a fact: the fact, its evidence, its lineage (the chain of facts it
    superseded or was superseded by) and its history; what `profile why` and the TUI show."""
    fact = facts.get(db, fact_id)
    chain = facts.lineage(db, fact.id)
    return {**fact_json(db, fact), "lineage": facts.render_lineage(chain),
            "chain": [{"id": f.id, "text": f.text, "status": f.status, "first_seen": f.first_seen} for f in chain],
            "history": [dict(r) for r in db.query("SELECT * FROM fact_history WHERE fact_id = ? ORDER BY id",
                                                  [fact.id])]}


def describe(data: dict, snippet_chars: int = 200, short_sources: bool = False) -> list[str]:
    """A `why_data` as lines of plain text: what kind of fact it is, how it changed, and each piece of
    evidence (its source as the file's name alone with `short_sources`)."""
    lines = [f"{data['category']}, {data['status']}, confidence {data['confidence']:.2f}, "
             f"{'you said it' if data['source'] == 'stated' else 'inferred from your writing'}"
             f"{', sensitive (kept out of prompts unless pinned)' if data['sensitive'] else ''}"]
    if data["lineage"]:
        lines.append(f"changed: {data['lineage']}")
    if not data["evidence"]:
        lines.append("no evidence in your writing" + (" (you stated it)" if data["source"] == "stated" else ""))
    for e in data["evidence"]:
        snippet = " ".join(e["text"].split())
        source = PurePath(e["source"]).name if short_sources else e["source"]
        lines.append(f"- {(e['date'] or '')[:10]}  {source}")
        lines.append(f"  “{snippet[:snippet_chars]}{'…' if len(snippet) > snippet_chars else ''}”")
    return lines


def facts_data(db) -> dict:
    return {"facts": [fact_json(db, f) for f in facts.all_facts(db)], "persona": current_persona(db)}


def render_facts(console, data: dict) -> None:
    shown = [f for f in data["facts"] if f["status"] in ("active", "pinned")]
    console.print(f"\n[bold]What is true about you[/bold] ({len(shown)} facts; `assistant profile why ID` "
                  "shows the evidence)")
    if not shown:
        console.print("  none yet: `assistant profile refresh` reads your writing for them, "
                      "or `assistant profile add \"I live in …\"` tells me one")
    for category in sorted({f["category"] for f in shown}, key=lambda c: (c == "life", c)):
        console.print(f"  [dim]{category}[/dim]")
        for f in [f for f in shown if f["category"] == category][:8 if category == "life" else 20]:
            marks = " ".join(m for m, on in (("pinned", f["status"] == "pinned"), ("sensitive", f["sensitive"]),
                                             ("you said", f["source"] == "stated")) if on)
            change = f"  ({f['lineage']})" if f["lineage"] else ""
            console.print(f"    #{f['id']:<4} {f['text']}  [dim]{f['confidence']:.2f}{' · ' + marks if marks else ''}"
                          f"{change}[/dim]")
    dropped = sum(f["status"] in ("superseded", "rejected") for f in data["facts"])
    if dropped:
        console.print(f"  [dim]{dropped} older or rejected fact(s) kept as history (--json lists them)[/dim]")
    if data["persona"]:
        console.print("\n[bold]Your persona[/bold] (the first thing a draft's prompt says)")
        for line in data["persona"].splitlines():
            console.print(f"  {line}")
