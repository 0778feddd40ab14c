"""The one-screen summary of what the assistant knows about the person."""

from __future__ import annotations

from assistant.profile.exemplars import exemplar_set
from assistant.profile.refresh import refresh_style
from assistant.profile.style import CONTEXT_NOUNS, stored_style
from assistant.profile.facts_summary import facts_data, render_facts


def summary_data(assistant) -> dict:
    db = assistant.db
    refresh_style(db)  # a no-op unless documents changed since `index` or the daemon last refreshed it
    counts = [
        dict(row) for row in db.query(
            "SELECT kind, sum(author_is_me) AS mine, sum(1 - author_is_me) AS others FROM documents GROUP BY kind"
        )
    ]
    chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    errors = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    me = assistant.config.me
    return {
        "me": {"names": me.names, "emails": me.emails, "handles": me.handles},
        "documents": counts,
        "chunks": chunks,
        "errors": errors,
        "style": stored_style(db).as_dict(),
        "exemplars": {context: [{"document_id": e.document_id, "title": e.title, "recipients": e.recipients}
                                for e in exemplar_set(db, context, fallback=False)] for context in CONTEXT_NOUNS},
        **facts_data(db),  # facts, persona
    }


def render_summary(data: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    me = data["me"]
    name = me["names"][0] if me["names"] else "you"
    console.rule(f"What I learned about {name}")
    table = Table("kind", "written by you", "written by others", box=None)
    for row in data["documents"]:
        table.add_row(row["kind"], str(row["mine"]), str(row["others"]))
    console.print(table)
    console.print(f"{data['chunks']} searchable chunks; {data['errors']} item(s) could not be read "
                  "(`assistant sources errors`).")
    render_facts(console, data)
    style = data["style"]
    if not style["emails"]:
        console.print("No email written by you yet, so no email style: check the emails in "
                      "`assistant init` match your From address.")
    for context, figures in style["contexts"].items():
        noun = CONTEXT_NOUNS[context]
        console.print(f"\n[bold]How you write {noun}[/bold] (from {figures['docs']} {noun} of yours)")
        for note in figures["notes"]:
            console.print(f"  {note}", markup=False)
        if context == "email" and style["correspondents"]:
            console.print("  you write most to: " + ", ".join(
                f"{style['by_correspondent'][a].get('name') or a} ({n})" for a, n in style["correspondents"][:5]),
                markup=False)
        shown = data["exemplars"].get(context, [])
        if shown:
            console.print(f"  examples kept of how you write: {len(shown)} (" + "; ".join(
                e["title"] or "untitled" for e in shown[:3]) + (", …" if len(shown) > 3 else "") + ")", markup=False)
