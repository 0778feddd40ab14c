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


@dataclass
class DraftPrompt:
    """What the model is given: chat `messages`, or a completion `text` ending in `opening`."""

    exemplars: list
    messages: list[dict] | None = None
    text: str | None = None
    opening: str = ""


def pick_exemplars(assistant, instruction: str, recipient=None):
    """The person's own emails closest to the request, those to `recipient` (a `Recipient`) first.

    Only emails (kind `mail`) the person wrote qualify: never an attachment, never others' mail."""
    from assistant.prompt.draft import Exemplar

    query = f"{instruction} {recipient.name or recipient.query if recipient else ''}".strip()
    hits = []
    for address in recipient.addresses if recipient else []:
        hits += [hit for hit in assistant.search(query, k=MAX_EXEMPLARS, mine=True, kind="mail", correspondent=address)
                 if address in _recipients(assistant, hit.document_id)]
    hits += assistant.search(query, k=MAX_EXEMPLARS * 3, mine=True, kind="mail")
    chosen, seen_docs = [], set()
    for hit in hits:
        if hit.document_id in seen_docs:
            continue
        seen_docs.add(hit.document_id)
        chosen.append(Exemplar(hit.chunk_id, ", ".join(_recipients(assistant, hit.document_id)), hit.title, hit.text))
        if len(chosen) == MAX_EXEMPLARS:
            break
    return chosen


def _recipients(assistant, document_id: int) -> list[str]:
    return json.loads(assistant.db["documents"].get(document_id)["recipients"] or "[]")


def build_prompt(assistant, instruction: str, to: str | None, personalize: bool, chat: bool) -> DraftPrompt:
    """The prompt for a chat model (`chat`) or a base model. Whom `to` names is resolved once
    (`recipients.resolve`), and exemplars, style notes and the greeting all follow it."""
    from assistant.profile.recipients import resolve
    from assistant.profile.style import learn_style
    from assistant.prompt.draft import completion_prompt, draft_messages

    name = assistant.config.me.display_name
    if not personalize:
        if chat:
            return DraftPrompt([], messages=draft_messages(name, instruction, to, [], []))
        text, opening = completion_prompt("one person", instruction, to, None, [])
        return DraftPrompt([], text=text, opening=opening)
    recipient = resolve(assistant.db, to) if to else None
    style = learn_style(assistant.db)
    exemplars = pick_exemplars(assistant, instruction, recipient)
    shown = f"{recipient.name} <{recipient.addresses[0]}>" if recipient and recipient.name else to
    if chat:
        return DraftPrompt(exemplars, messages=draft_messages(name, instruction, shown, style.notes(to), exemplars))
    greeting = style.greeting_for(to)
    salutation = f"{greeting} {recipient.first_name}" if greeting and recipient else None
    text, opening = completion_prompt(name, instruction, shown, salutation, exemplars)
    return DraftPrompt(exemplars, text=text, opening=opening)


def draft(assistant, instruction: str, to: str | None = None, personalize: bool = True,
          max_tokens: int = 220, temperature: float = 0.7) -> DraftResult:
    from assistant.prompt.draft import COMPLETION_STOPS, unwrap_echo

    started = time.perf_counter()
    generator = assistant.generator
    prompt = build_prompt(assistant, instruction, to, personalize, generator.has_chat_template)
    if prompt.messages is not None:
        text = unwrap_echo(generator.chat(prompt.messages, max_tokens=max_tokens, temperature=temperature))
    else:
        text = prompt.opening + generator.complete(prompt.text, max_tokens=max_tokens, temperature=temperature,
                                                   stop=COMPLETION_STOPS)
    return DraftResult(text.strip(), [e.chunk_id for e in prompt.exemplars], generator.name,
                       round(time.perf_counter() - started, 2), prefilled=(prompt.opening or "").strip())


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
    @click.argument("instruction", required=False)
    @click.option("--to", "to", metavar="NAME", help="Who the email is for; their past emails from you set the tone.")
    @click.option("--json", "as_json", is_flag=True, help="Print {draft, used, model, seconds}.")
    @click.option("--no-personalization", is_flag=True,
                  help="Draft from the request alone: no exemplars, no style notes.")
    @click.option("--max-tokens", default=220, show_default=True, help="Longest draft, in tokens.")
    @click.option("--from-suggestion", "suggestion", metavar="ID",
                  help="Draft from an item of `assistant suggest` (its request and recipient).")
    @click.pass_obj
    def draft_command(state, instruction, to, as_json, no_personalization, max_tokens, suggestion):
        """Draft an email in your voice.

        \b
        Examples:
          assistant draft "ask Sam to move Thursday's site visit to Friday" --to Sam
          assistant draft "decline the invitation politely" --json
        """
        assistant = state.assistant()
        if suggestion:
            request, to = assistant.skill("suggest").draft_request(assistant, suggestion)
            instruction = f"{request}; also: {instruction}" if instruction else request
        if not instruction:
            raise click.UsageError("say what the email is for (INSTRUCTION) or give --from-suggestion ID")
        result = assistant.skill("draft").run(assistant, instruction=instruction, to=to,
                                              personalize=not no_personalization, max_tokens=max_tokens)
        if as_json:
            click.echo(json.dumps(asdict(result), ensure_ascii=False))
        else:
            click.echo(result.draft)
