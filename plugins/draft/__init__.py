"""The `draft` skill: an email in the person's voice, grounded in their own past mail.

It retrieves the person's most relevant own emails (preferring ones to the same
recipient) as style exemplars, builds the prompt (`assistant.prompt.builder`: the stable
persona and style prefix, exemplars and facts marked as data, then the request) and
generates, streaming. `personalize=False` drafts from the request alone: the baseline for
measurement, and the person's right to opt out.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

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
    explain: list[dict] = field(default_factory=list)  # the prompt's sections and their tokens
    trimmed: list[str] = field(default_factory=list)  # what was left out to fit the context
    prefix_cache: dict = field(default_factory=dict)  # the stable prefix: tokens, source, evaluated


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


def prompt_inputs(assistant, instruction: str, to: str | None, personalize: bool, chat: bool):
    """What the prompt is made of (`PromptInputs`). Whom `to` names is resolved once
    (`recipients.resolve`), and exemplars, recipient notes and the greeting all follow it.
    The persona, style notes and facts slots take what the profile has; the general style
    notes stay in the stable prefix, what differs for this recipient goes with the request."""
    from assistant.profile.recipients import resolve
    from assistant.profile.refresh import refresh_style
    from assistant.profile.style import stored_style
    from assistant.prompt.builder import PromptInputs

    name = assistant.config.me.display_name
    if not personalize:
        return PromptInputs(name=name if chat else "one person", instruction=instruction, to=to)
    recipient = resolve(assistant.db, to) if to else None
    refresh_style(assistant.db)  # nothing to do unless documents changed since the last refresh
    style = stored_style(assistant.db)
    general = style.notes()
    greeting = style.greeting_for(to)
    return PromptInputs(
        name=name, instruction=instruction,
        to=f"{recipient.name} <{recipient.addresses[0]}>" if recipient and recipient.name else to,
        persona="", style_notes=general,
        recipient_notes=[note for note in style.notes(to) if note not in general] if to else [],
        exemplars=pick_exemplars(assistant, instruction, recipient), facts=[], context=[],
        salutation=f"{greeting} {recipient.first_name}" if greeting and recipient and not chat else None)


def build_prompt(assistant, instruction: str, to: str | None, personalize: bool, chat: bool,
                 generator=None, max_tokens: int = 220, inputs=None):
    """The prompt (`builder.BuiltPrompt`) for a chat model (`chat`) or a base model, fitted to
    `generator`'s context; without a generator, words stand in for tokens and nothing is trimmed."""
    from assistant.prompt.builder import build

    inputs = inputs or prompt_inputs(assistant, instruction, to, personalize, chat)
    if generator is None:
        return build(inputs, chat, lambda text: len(text.split()), n_ctx=1 << 30, reserve=max_tokens)
    return build(inputs, chat, generator.count_tokens, generator.n_ctx, max_tokens,
                 render=generator.render if chat else None)


def draft(assistant, instruction: str, to: str | None = None, personalize: bool = True,
          max_tokens: int = 220, temperature: float = 0.7, on_text=None) -> DraftResult:
    """Draft an email; `on_text(piece)` receives the draft as it is written (streaming)."""
    from assistant.prompt.draft import COMPLETION_STOPS, EchoFilter, unwrap_echo
    from assistant.store.audit import record_generation

    started = time.perf_counter()
    generator = assistant.generator
    inputs = prompt_inputs(assistant, instruction, to, personalize, generator.has_chat_template)
    prompt = build_prompt(assistant, instruction, to, personalize, generator.has_chat_template, generator,
                          max_tokens, inputs=inputs)
    shown = EchoFilter(on_text) if on_text else None
    if shown and prompt.opening:
        shown(prompt.opening)
    if prompt.messages is not None:
        pieces = generator.generate(prompt.messages, max_tokens=max_tokens, temperature=temperature)
    else:
        pieces = generator.generate(prompt.text, max_tokens=max_tokens, temperature=temperature,
                                    stop=COMPLETION_STOPS, prefix=prompt.prefix)
    written = []
    for piece in pieces:
        written.append(piece)
        if shown:
            shown(piece)
    if shown:
        shown.close()
    text = prompt.opening + "".join(written)
    result = DraftResult(unwrap_echo(text).strip(), [e.chunk_id for e in prompt.exemplars], generator.name,
                         round(time.perf_counter() - started, 2), prefilled=prompt.opening.strip(),
                         explain=prompt.explain(), trimmed=prompt.trimmed,
                         prefix_cache=asdict(generator.last_prefix) if hasattr(generator, "last_prefix") else {})
    notes = inputs.style_notes + inputs.recipient_notes + ([f"Greeting: {inputs.salutation}"] if inputs.salutation else [])
    record_generation(assistant.db, skill="draft", model=result.model, seconds=result.seconds, chunk_ids=result.used,
                      request={"instruction": instruction, "to": to, "personalize": personalize}, style_notes=notes)
    return result


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
    @click.option("--json", "as_json", is_flag=True,
                  help="Print {draft, used, model, seconds, …} when the draft is done (no streaming).")
    @click.option("--no-personalization", is_flag=True,
                  help="Draft from the request alone: no exemplars, no style notes.")
    @click.option("--max-tokens", default=220, show_default=True, help="Longest draft, in tokens.")
    @click.option("--explain", is_flag=True,
                  help="Also show which parts went into the prompt and how many tokens each took (on stderr; "
                       "with --json, an `explain` list).")
    @click.option("--stream/--no-stream", default=True, show_default=True,
                  help="Print the draft as it is written.")
    @click.pass_context
    def draft_command(ctx, instruction, to, as_json, no_personalization, max_tokens, explain, stream):
        """Draft an email in your voice. Ctrl-C stops it (exit 130).

        \b
        Examples:
          assistant draft "ask Sam to move Thursday's site visit to Friday" --to Sam
          assistant draft "decline the invitation politely" --json
          assistant draft "thank Janet for the permit" --to Janet --explain
        """
        def show(piece: str) -> None:
            click.echo(piece, nl=False)
            sys.stdout.flush()

        try:
            assistant = ctx.obj.assistant()
            result = assistant.skill("draft").run(assistant, instruction=instruction, to=to,
                                                  personalize=not no_personalization, max_tokens=max_tokens,
                                                  on_text=show if stream and not as_json else None)
        except KeyboardInterrupt:
            click.echo("\nStopped: nothing was saved.", err=True)
            ctx.exit(130)
        if as_json:
            shown = asdict(result)
            if not explain:
                for key in ("explain", "trimmed", "prefix_cache"):
                    shown.pop(key)
            click.echo(json.dumps(shown, ensure_ascii=False))
            return
        click.echo("" if stream else result.draft)
        if explain:
            click.echo(explain_text(result), err=True)


def explain_text(result: DraftResult) -> str:
    """--explain: the prompt's sections, their tokens, what was left out, and the prefix's cache."""
    lines = ["Prompt sections (tokens):"]
    lines += [f"  {row['section']:<10} {row['tokens']:>6}" + (f"  ({row['items']})" if row.get("items") else "")
              for row in result.explain]
    lines.append(f"  {'total':<10} {sum(row['tokens'] for row in result.explain):>6}")
    lines += [f"Left out: {note}" for note in result.trimmed]
    cache = result.prefix_cache
    if cache.get("tokens"):
        where = {"memory": "already in the model's context", "disk": "loaded from the saved state",
                 "evaluated": "evaluated now"}.get(cache["source"], cache["source"])
        lines.append(f"Stable prefix: {cache['tokens']} tokens, {where} ({cache['evaluated']} evaluated)")
    return "\n".join(lines)
