"""`assistant forget`, `assistant export` and `assistant history`: see, take out, and remove what is stored."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.errors import UserError


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.command()
@click.option("--source", "source", metavar="NAME",
              help="A path from `[sources] paths`, or a source by name (mail, whatsapp, imap, …).")
@click.option("--document", "document", metavar="PATH",
              help="A file or folder, or one document's uri (a message: FILE#…); see `search --json`.")
@click.option("--before", "before", metavar="DATE", help="Everything written before DATE (2024-01-31).")
@click.option("--everything", is_flag=True, help="Every document, and the whole generation history.")
@click.option("--fact", "fact", type=int, metavar="ID", help="One fact about you (`assistant profile show` lists ids).")
@click.option("--vacuum", is_flag=True, help="Then rebuild the store file (VACUUM) so it shrinks.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@click.pass_obj
def forget(state, source, document, before, everything, fact, vacuum, yes, as_json):
    """Remove what was indexed from a source, a document, before a date, or everything.

    Every row derived from it goes (chunks, vectors, full-text entries, file records, the
    generations in `assistant history` that used it), overwritten on disk, and the config
    records it so neither `assistant index` nor the daemon reads it again (`assistant index
    PATH` naming a forgotten PATH takes it back).

    \b
    Examples:
      assistant forget --document ~/Documents/old-lease.txt
      assistant forget --source ~/Mail/work.mbox
      assistant forget --source whatsapp --yes
      assistant forget --before 2020-01-01 --json --yes
      assistant forget --everything --vacuum
      assistant forget --fact 12 --yes
    """
    from assistant.forget import counts, forget as run_forget, plan_before, plan_document, plan_everything, plan_source

    chosen = [name for name, value in (("--source", source), ("--document", document), ("--before", before),
                                       ("--everything", everything), ("--fact", fact is not None)) if value]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --source, --document, --before, --everything, --fact"
                               + (f" (got {', '.join(chosen)})" if chosen else ""))
    assistant = state.assistant()
    db = assistant.db
    if fact is not None:
        _forget_fact(assistant, fact, yes, as_json)
        return
    if source:
        plan = plan_source(db, assistant.config, source)
    elif document:
        plan = plan_document(db, document)
    elif before:
        plan = plan_before(before)
    else:
        plan = plan_everything(db, assistant.config)
    found = counts(db, plan)
    if not yes:
        if not sys.stdin.isatty():
            raise UserError("forget asks before removing anything; pass --yes to run it from a script")
        click.echo(f"This removes {plan.what}: {found['documents']} documents, {found['chunks']} chunks, "
                   f"{found['files']} file records, {found['quarantine']} error records, "
                   f"{found['generations']} history entries.")
        click.confirm("Forget it for good?", abort=True)
    result = run_forget(db, assistant.home, plan, vacuum=vacuum)
    if as_json:
        _echo_json({"forgot": plan.what, **result.as_dict()})
        return
    click.echo(f"Forgot {plan.what}: {result.documents} documents, {result.chunks} chunks, {result.vectors} vectors, "
               f"{result.files} file records, {result.quarantine} error records, {result.generations} history entries.")
    if result.ignored:
        click.echo(f"Not indexed again: {', '.join(result.ignored)} (config.toml [sources]).")
    if not result.wal_truncated:
        click.echo("Warning: another process (the daemon?) is reading the store, so its write-ahead log "
                   "still holds old pages; run `assistant forget` again when it is idle.", err=True)


def _forget_fact(assistant, fact_id: int, yes: bool, as_json: bool) -> None:
    from assistant.forget import forget_fact
    from assistant.profile import facts

    text = facts.get(assistant.db, fact_id).text
    if not yes:
        if not sys.stdin.isatty():
            raise UserError("forget asks before removing anything; pass --yes to run it from a script")
        click.confirm(f"Forget fact #{fact_id} ({text}) for good?", abort=True)
    result = forget_fact(assistant.db, assistant.home, fact_id)
    if as_json:
        _echo_json({"forgot": f"fact #{fact_id}", **result.as_dict()})
        return
    click.echo(f"Forgot fact #{fact_id}: {result.generations} history entries and {result.personas} persona "
               "versions that used it went too.")


@click.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (made private, 0600) instead of printing.")
@click.option("--with-text", is_flag=True, help="Also every indexed document with its text.")
@click.pass_obj
def export(state, out, with_text):
    """Everything learned about you as one JSON document: who you are, how you write, your sources.

    \b
    Examples:
      assistant export --out profile.json
      assistant export --with-text --out everything.json
    """
    from assistant.export import export_data
    from assistant.home import write_private

    text = json.dumps(export_data(state.assistant(), with_text=with_text), ensure_ascii=False, indent=2)
    if out is None:
        click.echo(text)
        return
    write_private(out, text + "\n")
    click.echo(f"Wrote {out}", err=True)


@click.command()
@click.argument("generation", required=False, type=int)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many to list.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(state, generation, limit, as_json):
    """What each draft was made from: the request, model, chunks used and their documents.

    \b
    Examples:
      assistant history               # newest first, with ids
      assistant history 12            # one in full, with the documents its chunks came from
    """
    from assistant.store.audit import get_generation, list_generations

    db = state.assistant().db
    if generation is not None:
        row = get_generation(db, generation)
        if row is None:
            raise UserError(f"no generation {generation} in the history; `assistant history` lists their ids")
        if as_json:
            _echo_json(row)
        else:
            _show(row)
        return
    rows = list_generations(db, limit)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("No generations recorded yet.")
    for row in rows:
        request = row["request"].get("instruction") or json.dumps(row["request"], ensure_ascii=False)
        click.echo(f"{row['id']:>5}  {row['created_at']}  {row['skill']:<8} {row['model']:<28} "
                   f"{len(row['chunk_ids'])} chunks  {request[:60]}")


def _show(row: dict) -> None:
    click.secho(f"Generation {row['id']}: {row['skill']} with {row['model']}, {row['created_at']} "
                f"({row['seconds']}s)", bold=True)
    click.echo("Request: " + json.dumps(row["request"], ensure_ascii=False))
    for label, key in (("Style notes", "style_notes"), ("Facts", "fact_ids"), ("Removed by the guard", "guard_removed")):
        click.echo(f"{label}: " + ("; ".join(str(v) for v in row[key]) or "none"))
    click.echo(f"Chunks used ({len(row['chunks'])}):")
    for chunk in row["chunks"]:
        click.echo(f"  #{chunk['chunk_id']}  {chunk['title'] or ''}  {chunk['uri']}")
        if chunk["text"] is None:
            click.echo("      (no longer stored as it was: the document changed since)")
        else:
            snippet = " ".join(chunk["text"].split())
            click.echo(f"      {snippet[:200]}{'…' if len(snippet) > 200 else ''}")


def attach(cli: click.Group) -> None:
    for command in (forget, export, history):
        cli.add_command(command)
