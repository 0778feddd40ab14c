"""The `draft` skill: an email in the person's voice, grounded in their own past mail.

It retrieves the person's most relevant own emails (preferring ones to the same
recipient) as style exemplars, builds the prompt (style notes, exemplars marked as
data, then the request) and generates. `personalize=False` drafts from the request
alone: the baseline for measurement, and the person's right to opt out.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import click

from assistant.hookspecs import hookimpl

MAX_EXEMPLARS = 3


@dataclass
class DraftResult:
    draft: str
    used: list[int]
    model: str
    seconds: float
    prefilled: str = ""  # the start of `draft` that the prompt wrote, not the model (a base model's greeting)


def pick_exemplars(assistant, instruction: str, to: str | None):
    from assistant.prompt.draft import Exemplar

    query = f"{instruction} {to or ''}".strip()
    hits = []
    if to:
        hits += assistant.search(query, k=MAX_EXEMPLARS, mine=True, kind="mail", correspondent=to.split()[0])
    hits += assistant.search(query, k=MAX_EXEMPLARS * 3, mine=True, kind="mail")
    chosen, seen_docs = [], set()
    for hit in hits:
        if hit.document_id in seen_docs:
            continue
        seen_docs.add(hit.document_id)
        recipients = assistant.db["documents"].get(hit.document_id)["recipients"]
        chosen.append(Exemplar(hit.chunk_id, ", ".join(json.loads(recipients or "[]")), hit.title, hit.text))
        if len(chosen) == MAX_EXEMPLARS:
            break
    return chosen


def draft(assistant, instruction: str, to: str | None = None, personalize: bool = True,
          max_tokens: int = 220, temperature: float = 0.7) -> DraftResult:
    from assistant.profile.style import learn_style
    from assistant.prompt.draft import completion_prompt, draft_messages

    started = time.perf_counter()
    name = assistant.config.me.display_name
    exemplars, notes, greeting = [], [], None
    if personalize:
        style = learn_style(assistant.db)
        exemplars = pick_exemplars(assistant, instruction, to)
        notes = style.notes(to)
        greeting = style.greeting_for(to)
    generator = assistant.generator
    if generator.has_chat_template:
        text = generator.chat(draft_messages(name, instruction, to, notes, exemplars),
                              max_tokens=max_tokens, temperature=temperature)
    else:
        prompt, opening = completion_prompt(name if personalize else "one person", instruction, to, greeting,
                                            exemplars)
        text = opening + generator.complete(prompt, max_tokens=max_tokens, temperature=temperature,
                                            stop=["###", "\nTo:", "\nSubject:"])
    opening = "" if generator.has_chat_template else opening
    return DraftResult(text.strip(), [e.chunk_id for e in exemplars], generator.name,
                       round(time.perf_counter() - started, 2), prefilled=opening.strip())


class DraftSkill:
    name = "draft"
    description = "Draft an email in the person's voice."

    def run(self, assistant, **options) -> DraftResult:
        return draft(assistant, **options)


@hookimpl
def register_skills(register):
    register(DraftSkill())


@hookimpl
def register_commands(cli):
    @cli.command(name="draft")
    @click.argument("instruction")
    @click.option("--to", "to", metavar="NAME", help="Who the email is for; their past emails from you set the tone.")
    @click.option("--json", "as_json", is_flag=True, help="Print {draft, used, model, seconds}.")
    @click.option("--no-personalization", is_flag=True,
                  help="Draft from the request alone: no exemplars, no style notes.")
    @click.option("--max-tokens", default=220, show_default=True, help="Longest draft, in tokens.")
    @click.pass_obj
    def draft_command(state, instruction, to, as_json, no_personalization, max_tokens):
        """Draft an email in your voice.

        \b
        Examples:
          assistant draft "ask Sam to move Thursday's site visit to Friday" --to Sam
          assistant draft "decline the invitation politely" --json
        """
        assistant = state.assistant()
        result = assistant.skill("draft").run(assistant, instruction=instruction, to=to,
                                              personalize=not no_personalization, max_tokens=max_tokens)
        if as_json:
            click.echo(json.dumps(asdict(result), ensure_ascii=False))
        else:
            click.echo(result.draft)
