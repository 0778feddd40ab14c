"""`assistant profile why|edit|pin|reject|forget|add|refresh`: the person sees and corrects every fact.

Each change is one transaction and one row of `fact_history`.
"""

from __future__ import annotations

import json

import click

from assistant.errors import UserError


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fact_id(value: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise UserError(f"{value!r} is not a fact id; `assistant profile show` lists them (e.g. 12 or #12)") from None


@click.command("why")
@click.argument("fact_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def why(state, fact_id, as_json):
    """Why the assistant believes fact ID: its evidence with sources and dates, its lineage and history."""
    from assistant.profile.facts_summary import describe, why_data

    data = why_data(state.assistant().db, _fact_id(fact_id))
    if as_json:
        _echo_json(data)
        return
    click.secho(f"#{data['id']} {data['text']}", bold=True)
    for line in describe(data):
        click.echo(f"  {line}")
    for h in data["history"]:
        click.secho(f"  {h['at'][:16]} {h['action']}: {h['reason']}", dim=True)


def _change(state, fact_id: str, change) -> None:
    fact = change(state.assistant().db, _fact_id(fact_id))
    click.echo(f"#{fact.id} {fact.text}: {fact.status}")


@click.command("edit")
@click.argument("fact_id")
@click.argument("text")
@click.pass_obj
def edit(state, fact_id, text):
    """Correct the words of fact ID; it then counts as something you said."""
    from assistant.profile import fact_actions

    _change(state, fact_id, lambda db, i: fact_actions.edit(db, i, text))


@click.command("pin")
@click.argument("fact_id")
@click.pass_obj
def pin(state, fact_id):
    """Confirm fact ID: never superseded or dropped, and used in prompts even if sensitive."""
    from assistant.profile import fact_actions

    _change(state, fact_id, fact_actions.pin)


@click.command("reject")
@click.argument("fact_id")
@click.pass_obj
def reject(state, fact_id):
    """Mark fact ID wrong: it leaves prompts and is never inferred again from the same evidence."""
    from assistant.profile import fact_actions

    _change(state, fact_id, fact_actions.reject)


@click.command("forget")
@click.argument("fact_id")
@click.pass_obj
def forget(state, fact_id):
    """Delete fact ID, its links to your writing and everything that quoted it (as `assistant forget --fact ID`)."""
    from assistant.forget import forget_fact

    assistant = state.assistant()
    result = forget_fact(assistant.db, assistant.home, _fact_id(fact_id))
    click.echo(f"#{fact_id} forgotten ({result.generations} history entries, {result.personas} persona versions with it)")


@click.command("add")
@click.argument("text")
@click.option("--category", help="e.g. home, work, diet, preference, family, health (default: guessed from TEXT).")
@click.pass_obj
def add(state, text, category):
    """Tell the assistant a fact about you, e.g. profile add "I live in Denver"."""
    from assistant.profile import fact_actions

    assistant = state.assistant()
    click.echo(fact_actions.add(assistant.db, assistant.embedder, text, category).summary())


def refresh_with_progress(assistant, console=None) -> str:
    """Read new writing for facts with a progress bar (on a terminal); returns the one-line summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.facts_refresh import refresh
    from assistant.profile.fact_refresh import pending_count

    console = console or Console(stderr=True)
    total = pending_count(assistant.db)
    if not total:
        return "facts: nothing new to read"
    with Progress(TextColumn("reading for facts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task("", total=total)
        report = refresh(assistant, on_progress=lambda n: progress.update(task, advance=n))
    return "facts: " + report.summary()


@click.command("refresh")
@click.option("--persona/--no-persona", default=True, show_default=True,
              help="Also induce and verify a new persona with the drafting model (slow on a CPU).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def refresh_command(state, persona, as_json):
    """Read what you wrote since the last refresh for facts (resumable), then rebuild your persona."""
    from assistant.profile.persona import build_persona
    from assistant.profile.refresh import current_style
    from assistant.store.db import write_transaction

    assistant = state.assistant()
    summary = refresh_with_progress(assistant)
    result = {"facts": summary}
    if persona:
        db = assistant.db
        click.echo("verifying persona statements with the drafting model…", err=True)
        with write_transaction(db):
            built = build_persona(db, assistant.embedder, assistant.generator, assistant.config.me.display_name,
                                  current_style(db).notes())
        result["persona"] = built
    if as_json:
        _echo_json(result)
        return
    click.echo(summary)
    if persona:
        built = result["persona"]
        kept = sum(s["kept"] for s in built["statements"])
        click.echo(f"persona v{built['id']}: kept {kept} of {len(built['statements'])} statements"
                   + (f" (real-vs-other margin per token: none {built['margin_none']}, all {built['margin_all']}, "
                      f"kept {built['margin_kept']})" if "margin_none" in built else " (unverified)"))


def add_fact_commands(group: click.Group) -> None:
    """Attach the fact commands to the `profile` group."""
    for command in (why, edit, pin, reject, forget, add, refresh_command):
        group.add_command(command)
