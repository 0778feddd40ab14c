"""The one-screen summary of what the assistant knows about the person."""

from __future__ import annotations

from assistant.profile.facts_summary import facts_data, render_facts
from assistant.profile.style import learn_style


def summary_data(assistant) -> dict:
    db = assistant.db
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
        "style": learn_style(db).as_dict(),
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
        console.print("No email written by you yet, so no style profile: check the emails in "
                      "`assistant init` match your From address.")
        return
    console.print(f"\n[bold]How you write email[/bold] (from {style['emails']} emails you sent)")
    if style["greetings"]:
        console.print("  greetings: " + ", ".join(f"“{g}” ×{n}" for g, n in style["greetings"]))
    if style["signoffs"]:
        console.print("  sign-offs: " + ", ".join(f"“{' / '.join(s.splitlines())}” ×{n}" for s, n in style["signoffs"]))
    per = style["per_100_words"]
    console.print(f"  length: about {style['median_words']} words; per 100 words: "
                  f"{per['em_dash']} em-dashes, {per['semicolon']} semicolons, {per['exclamation']} '!'")
    if style["phrases"]:
        console.print("  phrases that set you apart: " + ", ".join(f"“{p}”" for p in style["phrases"][:8]))
    if style["correspondents"]:
        console.print("  you write most to: " + ", ".join(f"{a} ({n})" for a, n in style["correspondents"][:5]))
    usual = style["greetings"][0][0] if style["greetings"] else None
    formal = [a for a, h in style["by_correspondent"].items() if h.get("greeting") not in (None, usual)]
    if formal:
        console.print("  you change register for: " + ", ".join(
            f"{a} ({style['by_correspondent'][a]['greeting']!r})" for a in formal))
