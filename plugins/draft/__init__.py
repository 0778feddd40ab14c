"""The `draft` skill: an email in the person's voice, grounded in their own past mail.

It retrieves the person's most relevant own emails (preferring ones to the same
recipient) as style exemplars, builds the prompt (style notes, exemplars marked as
data, then the request) and generates. `personalize=False` drafts from the request
alone: the baseline for measurement, and the person's right to opt out.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from assistant.errors import UserError
from assistant.hookspecs import hookimpl

MAX_EXEMPLARS = 3


@dataclass
class DraftResult:
    draft: str
    used: list[int]
    model: str
    seconds: float
    prefilled: str = ""  # the start of `draft` that the prompt wrote, not the model (a base model's greeting)
    to: list[str] = field(default_factory=list)  # the addresses it is for
    subject: str = ""
    in_reply_to: str = ""
    removed: list[dict] = field(default_factory=list)  # what the guard took out: {kind, value, reason}
    saved: list[str] = field(default_factory=list)  # where copies went (--out, --maildir-drafts, --imap-drafts)


@dataclass
class DraftPrompt:
    """What the model is given: chat `messages`, or a completion `text` ending in `opening`."""

    exemplars: list
    messages: list[dict] | None = None
    text: str | None = None
    opening: str = ""
    tone: object = None  # the `ToneGuide` of a --tone request


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


def build_prompt(assistant, instruction: str, to: str | None, personalize: bool, chat: bool,
                 request=None) -> DraftPrompt:
    """The prompt for a chat model (`chat`) or a base model. Whom `to` names is resolved once
    (`recipients.resolve`), and exemplars, style notes and the greeting all follow it.
    `request` (a `request.DraftRequest`) adds the thread a reply answers and the tone."""
    from assistant.profile.recipients import resolve
    from assistant.profile.style import learn_style
    from assistant.profile.tone import tone_guide
    from assistant.prompt.draft import completion_prompt, draft_messages

    name = assistant.config.me.display_name
    thread = request.thread.quoted if request and request.thread else None
    subject = request.subject if request and request.thread else None
    if not personalize:
        if chat:
            return DraftPrompt([], messages=draft_messages(name, instruction, to, [], [], thread))
        text, opening = completion_prompt("one person", instruction, to, None, [], thread, subject)
        return DraftPrompt([], text=text, opening=opening)
    recipient = resolve(assistant.db, to) if to else None
    style = learn_style(assistant.db)
    guide = tone_guide(assistant.db, style, request.tone, name) if request and request.tone else None
    notes = style.notes(to) + (guide.notes if guide else [])
    exemplars = pick_exemplars(assistant, request.query if request else instruction, recipient)
    shown = f"{recipient.name} <{recipient.addresses[0]}>" if recipient and recipient.name else to
    if chat:
        return DraftPrompt(exemplars, messages=draft_messages(name, instruction, shown, notes, exemplars, thread),
                           tone=guide)
    greeting = (guide and guide.greeting) or style.greeting_for(to)
    salutation = f"{greeting} {recipient.first_name}" if greeting and recipient else None
    text, opening = completion_prompt(name, instruction, shown, salutation, exemplars, thread, subject)
    return DraftPrompt(exemplars, text=text, opening=opening, tone=guide)


def draft(assistant, instruction: str = "", to: str | None = None, personalize: bool = True,
          max_tokens: int = 220, temperature: float = 0.7, reply_to: str | None = None,
          tone: str | None = None, save=None) -> DraftResult:
    """A draft, passed through the safety guard. `reply_to`: a saved message or a Message-ID to
    answer; `tone`: one of `tone.TONES`, relative to the person's own range; `save`: a
    `save.Targets`, checked before generating and written after."""
    from assistant.prompt.draft import COMPLETION_STOPS, unwrap_echo
    from assistant_plugins.draft.request import finish, prepare

    started = time.perf_counter()
    if tone and not personalize:
        raise UserError("--tone is measured against your own emails; drop --no-personalization to use it")
    request = prepare(assistant, instruction, to, reply_to, tone)
    if save:
        save.check(assistant.home, assistant.config.me)
    generator = assistant.generator
    prompt = build_prompt(assistant, request.instruction, request.to, personalize, generator.has_chat_template,
                          request)
    if prompt.tone:
        max_tokens = prompt.tone.max_tokens(max_tokens)
    if prompt.messages is not None:
        text = unwrap_echo(generator.chat(prompt.messages, max_tokens=max_tokens, temperature=temperature))
    else:
        text = prompt.opening + generator.complete(prompt.text, max_tokens=max_tokens, temperature=temperature,
                                                   stop=COMPLETION_STOPS)
    guarded = finish(assistant, request, text.strip())
    saved = save.save(assistant.home, assistant.config.me, request.envelope(), guarded.text) if save else []
    return DraftResult(guarded.text, [e.chunk_id for e in prompt.exemplars], generator.name,
                       round(time.perf_counter() - started, 2), prefilled=(prompt.opening or "").strip(),
                       to=request.recipients, subject=request.subject,
                       in_reply_to=request.thread.message_id if request.thread else "", removed=guarded.report(),
                       saved=saved)


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
    from assistant.profile.tone import TONES

    @cli.command(name="draft")
    @click.argument("instruction", required=False, default="")
    @click.option("--to", "to", metavar="NAME", help="Who the email is for; their past emails from you set the tone.")
    @click.option("--reply-to", metavar="FILE.eml|MESSAGE-ID",
                  help="Answer this message: a saved .eml file, or the Message-ID of an indexed email.")
    @click.option("--tone", type=click.Choice(TONES), help="Shorter, longer, more formal or more casual, "
                  "measured against your own emails.")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.eml",
                  help="Also write the draft as an RFC 5322 message to this file (atomically).")
    @click.option("--maildir-drafts", type=click.Path(path_type=Path), metavar="DIR",
                  help="Also save it in the Drafts folder of this Maildir.")
    @click.option("--imap-drafts", metavar="ACCOUNT", help="Also save it in the Drafts folder of this IMAP account.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print {draft, used, model, seconds, to, subject, in_reply_to, removed, saved}.")
    @click.option("--no-personalization", is_flag=True,
                  help="Draft from the request alone: no exemplars, no style notes.")
    @click.option("--max-tokens", default=220, show_default=True, help="Longest draft, in tokens.")
    @click.pass_obj
    def draft_command(state, instruction, to, reply_to, tone, out, maildir_drafts, imap_drafts, as_json,
                      no_personalization, max_tokens):
        """Draft an email in your voice, or a reply (--reply-to). Never sends anything.

        \b
        Examples:
          assistant draft "ask Sam to move Thursday's site visit to Friday" --to Sam
          assistant draft "decline the invitation politely" --json
          assistant draft "say yes to Thursday" --reply-to ~/Downloads/invite.eml --out reply.eml
          assistant draft --reply-to "<9f2c1a7e.sam@fernhill.example>" --tone shorter --maildir-drafts ~/Maildir
        """
        from assistant_plugins.draft.save import Targets

        if not instruction.strip() and not reply_to:
            raise UserError("nothing to draft: give an INSTRUCTION, or --reply-to a message to answer")
        assistant = state.assistant()
        result = assistant.skill("draft").run(assistant, instruction=instruction, to=to,
                                              personalize=not no_personalization, max_tokens=max_tokens,
                                              reply_to=reply_to, tone=tone,
                                              save=Targets(out, maildir_drafts, imap_drafts))
        if as_json:
            click.echo(json.dumps(asdict(result), ensure_ascii=False))
            return
        click.echo(result.draft)
        if result.removed:
            shown = "; ".join(f"{r['kind']} {r['value'][:60]}" for r in result.removed)
            click.echo(f"Note: the guard removed {len(result.removed)} item(s) that came from neither your request, "
                       f"the thread's headers nor your own writing: {shown}", err=True)
        if result.saved:
            click.echo(f"Saved to {', '.join(result.saved)}", err=True)
