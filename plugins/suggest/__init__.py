"""The `suggest` skill: what the person may want to act on, each item with its evidence.

(a) mail from people they write to often that they have not answered, with a one-line
suggested reply (a template in their greeting for that person: no model, so `suggest` is
instant); (b) promises in their sent mail ("I'll send it Friday") that no later email of
theirs to that person mentions. Each item's ID is a hash of its evidence;
`assistant draft --from-suggestion ID` turns it into a draft (`draft_request`).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from assistant.errors import UserError
from assistant.hookspecs import hookimpl


def suggestions(assistant) -> list:
    """Unanswered mail first, then open promises; newest first within each."""
    from assistant.profile.recipients import correspondents
    from assistant.profile.refresh import current_style
    from assistant.prompt.suggest import reply_line
    from assistant_plugins.suggest.items import load_mail, open_commitments, unanswered

    db = assistant.db
    mail = load_mail(db)
    people = correspondents(db)
    style = current_style(db)

    def reply(address: str, name: str, subject: str) -> str:
        return reply_line(style.habits(address, reply=True)[0], name.split()[0] if name else "", subject)

    items = unanswered(mail, people, reply)[::-1] + open_commitments(mail)[::-1]
    return items


def find(assistant, suggestion_id: str):
    wanted = suggestion_id.strip().lower()
    for item in suggestions(assistant):
        if item.id == wanted:
            return item
    raise UserError(f"no suggestion has the ID {suggestion_id!r}; run `assistant suggest` for the current ones")


class SuggestSkill:
    name = "suggest"
    description = "Unanswered mail and open promises, with evidence, each ready to draft from."

    def run(self, assistant, **options) -> list:
        return suggestions(assistant)

    def draft_request(self, assistant, suggestion_id: str) -> tuple[str, str, str | None]:
        """(the draft instruction, whom it is to: an address the person has written to, the
        Message-ID to answer in its thread or None) for an item."""
        from assistant.prompt.suggest import draft_request

        item = find(assistant, suggestion_id)
        return (draft_request(item.kind, item.person, item.document, item.date, item.evidence), item.address,
                item.reply_to or None)


@hookimpl
def register_skills(register):
    register(SuggestSkill())


@hookimpl
def register_commands(cli):
    @cli.command(name="suggest")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print a list of {id, kind, person, address, document, uri, date, evidence, "
                       "suggested_reply, reply_source}.")
    @click.pass_obj
    def suggest_command(state, as_json):
        """Mail you have not answered and promises you have not followed up, with the evidence.

        \b
        Examples:
          assistant suggest
          assistant draft --from-suggestion 3f9a1c0b2d     # an ID from the list
        """
        assistant = state.assistant()
        items = assistant.skill("suggest").run(assistant)
        if as_json:
            click.echo(json.dumps([asdict(item) for item in items], ensure_ascii=False))
            return
        if not items:
            click.echo("Nothing to suggest: no unanswered mail from people you write to, no open promises.")
        for item in items:
            what = "Unanswered" if item.kind == "unanswered" else "You promised"
            click.echo(f"{item.id}  {what} — {item.person}, {item.date}, “{item.document}”")
            click.echo(f"    “{item.evidence}”")
            if item.suggested_reply:
                click.echo(f"    Suggested reply: {item.suggested_reply}")
