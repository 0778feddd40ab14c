"""The `draft` skill: an email in the person's voice, grounded in their own past mail.

It retrieves the person's most relevant own emails (preferring ones to the same
recipient) as style exemplars, builds the prompt (`assistant.prompt.builder`: the stable
persona and style prefix, exemplars and facts marked as data, then the request) and
generates, streaming. `personalize=False` drafts from the request alone: the baseline for
measurement, and the person's right to opt out.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from assistant.errors import UserError
from assistant.hookspecs import hookimpl
from assistant.skills import run_warm

MAX_EXEMPLARS = 3
EXEMPLAR_POOL = 9  # the person's own texts nearest the request, of which the exemplars are chosen
MAX_POINTS = 12  # content words of the request listed as points to cover
REQUEST_VERBS = {"write", "email", "draft", "ask", "tell", "reply"}  # how a request is put, not what it is about
MAX_FACTS = 5  # the most relevant × confident × recent facts about the person a draft may use
MAX_RETRIES = 2  # new tries after an answer that is no draft; the try after them is kept whatever it says


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
    to: list[str] = field(default_factory=list)  # the addresses it is for
    subject: str = ""
    in_reply_to: str = ""
    removed: list[dict] = field(default_factory=list)  # what the guard took out: {kind, value, reason}
    saved: list[str] = field(default_factory=list)  # where copies went (--out, --maildir-drafts, --imap-drafts)
    candidates: list[str] = field(default_factory=list)  # every candidate written (`[draft] candidates`), finished
    # and guarded as the draft is: the first is what `candidates = 1` would have given
    tidied: list[str] = field(default_factory=list)  # what was held to the person's habits (`prompt.habits`)
    retried: list[str] = field(default_factory=list)  # answers that were no draft (`no_draft`), each written again
    generation_id: int = 0  # its row in the audit of generations (`assistant history`)


def pick_exemplars(assistant, instruction: str, recipient=None):
    """Three of the person's own emails for the request: those to `recipient` (a `Recipient`) nearest
    the request first, then of the `EXEMPLAR_POOL` nearest, those also most in their voice (`_most_in_voice`).

    Only emails (kind `mail`) the person wrote qualify: never an attachment, never others' mail.
    A person with no email of theirs indexed gets their own documents, else their chats, instead
    (`StyleProfile.writing_context`)."""
    from assistant.profile.refresh import current_style
    from assistant.profile.style import KINDS
    from assistant.prompt.draft import Exemplar

    kind = KINDS[current_style(assistant.db).writing_context()]
    query = f"{instruction} {recipient.name or recipient.query if recipient else ''}".strip()
    hits = []
    for address in recipient.addresses if recipient and kind == "mail" else []:
        hits += [hit for hit in assistant.search(query, k=MAX_EXEMPLARS, mine=True, kind="mail", correspondent=address)
                 if address in _recipients(assistant, hit.document_id)]
    first = _unique(hits)
    taken = {hit.document_id for hit in first}
    pool = [hit for hit in _unique(assistant.search(query, k=EXEMPLAR_POOL, mine=True, kind=kind))
            if hit.document_id not in taken]
    chosen = (first + _most_in_voice(assistant, pool))[:MAX_EXEMPLARS]
    return [Exemplar(hit.chunk_id, ", ".join(_recipients(assistant, hit.document_id)), hit.title, hit.text,
                     request_points(hit.text)) for hit in chosen]


def _unique(hits: list) -> list:
    """The first hit of each document."""
    seen: set[int] = set()
    return [hit for hit in hits if not (hit.document_id in seen or seen.add(hit.document_id))]


def _most_in_voice(assistant, hits: list) -> list:
    """`hits` (nearest first) reordered by their rank in nearness plus their rank in voice (how much
    more like the person's own writing than others' mail, `choose.voice`): of the texts that
    suit the request, those that show how the person writes. A small model imitates what it is
    shown, and the nearest text may be one that shows nothing of them (a boilerplate notice they sent)."""
    from assistant_plugins.draft.choose import ranks, store_stylometer, voice

    meter = store_stylometer(assistant)
    if len(hits) < 2 or "me" not in meter.labels:
        return hits
    by_voice = ranks([voice(meter, hit.text) for hit in hits])
    return [hits[i] for i in sorted(range(len(hits)), key=lambda i: (i + by_voice[i], i))]


def _recipients(assistant, document_id: int) -> list[str]:
    return json.loads(assistant.db["documents"].get(document_id)["recipients"] or "[]")


def prompt_inputs(assistant, instruction: str, to: str | None, personalize: bool, chat: bool, request=None):
    """What the prompt is made of (`PromptInputs`). Whom `to` names is resolved once
    (`recipients.resolve`), and exemplars, recipient notes and the greeting all follow it.
    The persona, style notes and facts slots take what the profile has; the general style
    notes stay in the stable prefix, what differs for this recipient goes with the request.
    `request` (a `request.DraftRequest`) adds the thread a reply answers and the tone."""
    from assistant.profile.facts import relevant_facts
    from assistant.profile.persona import current_persona
    from assistant.profile.recipients import resolve
    from assistant.profile.refresh import current_style
    from assistant.profile.tone import tone_guide, usual_length
    from assistant.prompt.builder import PromptInputs

    name = assistant.config.me.display_name
    thread = request.thread.quoted if request and request.thread else []
    subject = request.subject if request and request.thread else None
    points = request_points(instruction) if not thread else []
    if not personalize:
        return PromptInputs(name=name if chat else "one person", instruction=instruction, points=points, to=to,
                            thread=thread, subject=subject)
    recipient = resolve(assistant.db, to) if to else None
    style = current_style(assistant.db)
    guide = (tone_guide(assistant.db, style, request.tone, name) if request and request.tone
             else usual_length(style, name, len(points)))
    general = style.notes()
    greeting = (guide and guide.greeting) or style.habits(to, reply=bool(thread))[0]
    facts = relevant_facts(assistant.db, assistant.embedder, instruction, k=MAX_FACTS) if instruction.strip() else []
    return PromptInputs(
        name=name, instruction=instruction, points=points,
        to=f"{recipient.name} <{recipient.addresses[0]}>" if recipient and recipient.name else to,
        persona=current_persona(assistant.db), style_notes=general,
        recipient_notes=([note for note in style.notes(to) if note not in general] if to else [])
        + (guide.notes if guide else []),
        exemplars=pick_exemplars(assistant, request.query if request else instruction, recipient),
        facts=[fact["text"] for fact in facts], fact_ids=[fact["id"] for fact in facts],
        context=[], salutation=f"{greeting} {recipient.first_name}" if greeting and recipient and not chat else None,
        thread=thread, subject=subject, tone=guide)


def request_points(instruction: str) -> list[str]:
    """The request's content words (`choose.content_words`), which the prompt asks the draft to cover
    one by one: told only "write about …" beside their own past emails, small models drift into those."""
    from assistant_plugins.draft.choose import content_words

    return content_words(instruction, limit=MAX_POINTS, exclude=REQUEST_VERBS)


def build_prompt(assistant, instruction: str, to: str | None, personalize: bool, chat: bool,
                 generator=None, max_tokens: int = 220, inputs=None, request=None):
    """The prompt (`builder.BuiltPrompt`) for a chat model (`chat`) or a base model, fitted to
    `generator`'s context; without a generator, words stand in for tokens and nothing is trimmed."""
    from assistant.prompt.builder import build

    inputs = inputs or prompt_inputs(assistant, instruction, to, personalize, chat, request)
    if generator is None:
        return build(inputs, chat, lambda text: len(text.split()), n_ctx=1 << 30, reserve=max_tokens)
    return build(inputs, chat, generator.count_tokens, generator.n_ctx, max_tokens,
                 render=generator.render if chat else None)


def draft(assistant, instruction: str = "", to: str | None = None, personalize: bool = True,
          max_tokens: int = 220, temperature: float = 0.7, reply_to: str | None = None,
          tone: str | None = None, save=None, on_text=None, candidates: int | None = None,
          seed: int = 0) -> DraftResult:
    """A draft, passed through the safety guard. `reply_to`: a saved message or a Message-ID to
    answer; `tone`: one of `tone.TONES`, relative to the person's own range; `save`: a
    `save.Targets`, checked before generating and written after; `on_text(piece)` receives the
    draft as it is written (streaming), each line through the guard before it is shown; with
    several `candidates` (default `[draft] candidates`), the chosen one once all are written
    (`choose.pick`). No draft keeps a run of more than 12 words copied from what the model was
    shown (`copying.trim_copies`). The same request and `seed` draft the same text; another `seed`
    is another take (each candidate is sampled with its own seed: `base.sampling_seed`)."""
    from assistant.generation.guard import Removed, guard_text
    from assistant.store.audit import record_generation
    from assistant_plugins.draft.request import finish, prepare

    started = time.perf_counter()
    if tone and not personalize:
        raise UserError("--tone is measured against your own emails; drop --no-personalization to use it")
    request = prepare(assistant, instruction, to, reply_to, tone)
    if save:
        save.check(assistant.home, assistant.config.me)
    generator = assistant.generator
    chat = generator.has_chat_template
    inputs = prompt_inputs(assistant, request.instruction, request.to, personalize, chat, request)
    if inputs.tone:
        max_tokens = inputs.tone.max_tokens(max_tokens)
    prompt = build_prompt(assistant, request.instruction, request.to, personalize, chat, generator, max_tokens,
                          inputs=inputs)
    count = (candidates or assistant.config.draft_candidates) if personalize else 1
    writer = _Writer(assistant, request, inputs, prompt, personalize, max_tokens, temperature, seed)
    shown = writer.stream(on_text)
    chosen = 0
    if count == 1:
        texts = [writer.write(shown[0] if shown else None)]
    else:
        from assistant_plugins.draft.choose import more_in_voice, pick, store_stylometer

        meter = store_stylometer(assistant)
        texts = [writer.write() for _ in range(count)]
        texts += more_in_voice(texts, writer.write, meter, request.instruction, writer.seen,
                               assistant.config.draft_more_candidates)
        chosen = pick(texts, request.instruction, meter, writer.seen, inputs.tone.asked if inputs.tone else None)
        if shown:
            shown[0](texts[chosen])
    for stage in shown:
        stage.close()
    text, tidied, copied = writer.finished(texts[chosen])
    guarded = finish(request, text, writer.checks)
    guarded.removed += [Removed("copy", run[:80], f"{len(run.split())} words in a row copied from an email or "
                                "passage the model was shown") for run in copied]
    saved = save.save(assistant.home, assistant.config.me, request.envelope(), guarded.text) if save else []
    result = DraftResult(guarded.text, [e.chunk_id for e in prompt.exemplars], generator.name,
                         round(time.perf_counter() - started, 2), prefilled=prompt.opening.strip(),
                         explain=prompt.explain(), trimmed=prompt.trimmed, prefix_cache=writer.prefix_cache,
                         to=request.recipients, subject=request.subject,
                         in_reply_to=request.thread.message_id if request.thread else "", removed=guarded.report(),
                         saved=saved, tidied=tidied, retried=writer.retried,
                         candidates=[guarded.text if i == chosen else guard_text(writer.finished(t)[0],
                                                                                 writer.checks).text
                                     for i, t in enumerate(texts)])
    notes = inputs.style_notes + inputs.recipient_notes + ([f"Greeting: {inputs.salutation}"] if inputs.salutation else [])
    result.generation_id = record_generation(
        assistant.db, skill="draft", model=result.model, seconds=result.seconds, chunk_ids=result.used,
        request={"instruction": instruction, "to": to, "reply_to": reply_to, "tone": tone, "personalize": personalize,
                 "seed": seed},
        style_notes=notes, fact_ids=inputs.fact_ids, guard_removed=result.removed)
    return result


class _Writer:
    """Writes the drafts of one request from its prompt, and finishes each as the person would have it:
    what a draft may not paste (`seen`), the guard's look-ups (`checks`) and the person's habits
    are gathered once and shared by every candidate, the stream and the final text."""

    def __init__(self, assistant, request, inputs, prompt, personalize: bool, max_tokens: int,
                 temperature: float, seed: int = 0) -> None:
        from assistant.profile.refresh import current_style
        from assistant.prompt.habits import own_phrase_checker
        from assistant_plugins.draft.choose import content_words
        from assistant_plugins.draft.request import trusted

        self.generator, self.request, self.prompt = assistant.generator, request, prompt
        self.personalize, self.max_tokens, self.temperature = personalize, max_tokens, temperature
        self.checks = trusted(assistant, request)
        self.own_names = tuple(assistant.config.me.display_name.split())
        self.first_name = _first_name(assistant, request.to)
        self.habits = (current_style(assistant.db), request.to, own_phrase_checker(assistant.db), self.own_names,
                       bool(request.thread), inputs.tone, self.first_name)
        self.wanted = content_words(request.instruction)
        self.seen = _shown_texts(prompt, inputs)  # what no draft may paste
        self.retried: list[str] = []  # answers that were no draft (a refusal, the request echoed)
        self.prefix_cache: dict = {}  # where the stable prefix came from for the request's first generation
        self.seed, self.takes = seed, 0  # the request's seed; generations so far (each candidate and retry: a take)

    def stream(self, on_text) -> list:
        """The stages a draft is shown through, first one first: the <email> echo unwrapped, held to
        the person's habits, then each line guarded. Closed in order once the draft is written."""
        from assistant.generation.guard import GuardedStream
        from assistant.prompt.draft import EchoFilter
        from assistant.prompt.habits import HabitStream

        if not on_text:
            return []
        stages = [GuardedStream(on_text, self.checks)]
        if self.personalize:
            stages.insert(0, HabitStream(stages[0], *self.habits))
        stages.insert(0, EchoFilter(stages[0]))
        return stages

    def write(self, show=None) -> str:
        """One draft; an answer that is no draft (`no_draft`) is written again, the last try kept."""
        from assistant.generation.no_draft import NoDraftGate, asks_to_decline, first_sentence

        for attempt in range(MAX_RETRIES + 1):
            gate = (NoDraftGate(show, self.wanted, not asks_to_decline(self.request.instruction))
                    if self.personalize and self.generator.has_chat_template and attempt < MAX_RETRIES else None)
            text = _write(self.generator, self.prompt, self.max_tokens, self.temperature, self.seen, show, gate,
                          (self.seed << 16) + self.takes)
            self.takes += 1
            if not self.prefix_cache and hasattr(self.generator, "last_prefix"):
                self.prefix_cache = asdict(self.generator.last_prefix)
            if not (gate and gate.rejected):
                return text
            self.retried.append(first_sentence(text) or text)
        return text

    def finished(self, text: str) -> tuple[str, list[str], list[str]]:
        """(what a written draft becomes, what was held to the habits, the copied runs trimmed)."""
        from assistant.generation.copying import trim_copies
        from assistant.prompt.draft import drop_data_tags, drop_repeats, fill_name
        from assistant.prompt.habits import keep_to_habits

        text = drop_repeats(drop_data_tags(text))
        text, tidied = (keep_to_habits(text, *self.habits) if self.personalize
                        else (fill_name(text, self.first_name, self.own_names), []))
        text, copied = trim_copies(text, self.seen)
        return text, tidied, copied


def _write(generator, prompt, max_tokens: int, temperature: float, avoid: list[str], shown=None,
           gate=None, seed: int = 0) -> str:
    """One draft from `prompt`, passed piece by piece to `shown` when given; one that ran out of
    tokens ends at its last whole sentence. The model is kept from pasting the texts it was shown
    (`avoid`) as it writes, where its backend allows. With a `gate` (a `no_draft.NoDraftGate` in
    front of `shown`), an answer whose first sentence is no draft is stopped there, none of it
    shown, and `gate.rejected` says so. `seed`: which take of this prompt (`base.sampling_seed`)."""
    from assistant.prompt.draft import COMPLETION_STOPS, end_at_sentence, unwrap_echo

    shown = gate or shown
    if shown and prompt.opening:
        shown(prompt.opening)
    if prompt.messages is not None:
        pieces = generator.generate(prompt.messages, max_tokens=max_tokens, temperature=temperature, avoid=avoid,
                                    seed=seed)
    else:
        pieces = generator.generate(prompt.text, max_tokens=max_tokens, temperature=temperature,
                                    stop=COMPLETION_STOPS, prefix=prompt.prefix, avoid=avoid, seed=seed)
    written = []
    for piece in pieces:
        written.append(piece)
        if shown:
            shown(piece)
        if gate and gate.rejected:
            pieces.close()  # stops the model; its context stays usable
            break
    if gate:
        gate.close()
    text = unwrap_echo(prompt.opening + "".join(written)).strip()
    cut = generator.count_tokens("".join(written)) >= max_tokens - 1  # the budget ran out, maybe mid-sentence
    return end_at_sentence(text) if cut and not (gate and gate.rejected) else text


def _first_name(assistant, to: str | None) -> str:
    from assistant.profile.recipients import resolve

    if not to or "@" in to:
        return ""
    return resolve(assistant.db, to).first_name


def _shown_texts(prompt, inputs) -> list[str]:
    """The texts of others' and the person's past writing the model read: a draft must not paste them."""
    return ([e.text for e in prompt.exemplars] + [p.text for p in inputs.context]
            + [m.text for m in inputs.thread])


class DraftSkill:
    name = "draft"
    description = "Draft an email in the person's voice."

    def run(self, assistant, **options) -> DraftResult:
        return draft(assistant, **options)


@hookimpl
def register_skills(register):
    register(DraftSkill())


def report_guard(removed: list[dict]) -> None:
    """Tell the person, on stderr, what the guard took out of a text and why."""
    if removed:
        listed = "; ".join(f"{r['kind']} {r['value'][:60]}" for r in removed)
        click.echo(f"Note: the guard removed {len(removed)} item(s) that came from neither your request, "
                   f"the thread's headers nor your own writing: {listed}", err=True)


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
                  help="Print {draft, used, model, seconds, to, subject, in_reply_to, removed, saved, tidied, "
                       "retried} when the draft is done (no streaming).")
    @click.option("--no-personalization", is_flag=True,
                  help="Draft from the request alone: no exemplars, no style notes.")
    @click.option("--max-tokens", default=220, show_default=True, help="Longest draft, in tokens.")
    @click.option("--explain", is_flag=True,
                  help="Also show which parts went into the prompt and how many tokens each took (on stderr; "
                       "with --json, an `explain` list).")
    @click.option("--stream/--no-stream", default=True, show_default=True,
                  help="Print the draft as it is written (a sentence at a time, once the guard has checked it); "
                       "with several candidates, the one kept once all are written.")
    @click.option("--from-suggestion", "suggestion", metavar="ID",
                  help="Draft from an item of `assistant suggest` (its request and recipient).")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                  help="Another take on the same request: the same seed drafts the same text again, "
                       "another seed a different draft.")
    @click.option("--candidates", type=click.IntRange(min=1), metavar="N",
                  help="Write N drafts and keep the one most in your voice that covers the request, "
                       "nearest the length asked for (default: `[draft] candidates` in config.toml, 3). "
                       "1 streams at once.")
    @click.pass_context
    def draft_command(ctx, instruction, to, reply_to, tone, out, maildir_drafts, imap_drafts, as_json,
                      no_personalization, max_tokens, explain, stream, suggestion, seed, candidates):
        """Draft an email in your voice, or a reply (--reply-to). Never sends anything. Ctrl-C stops it (exit 130).

        Written by the running daemon when there is one (its models are loaded), else here.

        \b
        Examples:
          assistant draft "ask Sam to move Thursday's site visit to Friday" --to Sam
          assistant draft "decline the invitation politely" --json
          assistant draft "decline the invitation politely" --seed 1      # another take
          assistant draft "thank Janet for the permit" --to Janet --explain --candidates 1
          assistant draft "say yes to Thursday" --reply-to ~/Downloads/invite.eml --out reply.eml
          assistant draft --reply-to "<9f2c1a7e.sam@fernhill.example>" --tone shorter --maildir-drafts ~/Maildir
          assistant draft --from-suggestion 3f2a9c
        """
        from assistant_plugins.draft.save import Targets
        from assistant_plugins.draft.terminal import SentenceStream

        assistant = ctx.obj.assistant()
        if suggestion:
            request, to, thread = assistant.skill("suggest").draft_request(assistant, suggestion)
            reply_to = reply_to or thread
            instruction = f"{request}; also: {instruction}" if instruction.strip() else request
        if not instruction.strip() and not reply_to:
            raise UserError("nothing to draft: give an INSTRUCTION, --reply-to a message to answer, "
                            "or --from-suggestion ID")

        options = {"instruction": instruction, "to": to, "personalize": not no_personalization,
                   "max_tokens": max_tokens, "reply_to": reply_to, "tone": tone, "seed": seed}
        count = (candidates or assistant.config.draft_candidates) if not no_personalization else 1
        if candidates:
            options["candidates"] = candidates
        on_text = SentenceStream() if stream and not as_json else None
        if on_text and count > 1:
            from assistant_plugins.draft.choose import more_note

            click.echo(f"Writing {count} drafts to keep the one most in your voice"
                       f"{more_note(assistant.config.draft_more_candidates)}; it shows when all are written "
                       "(--candidates 1 streams one at once).", err=True)
        try:
            # The running daemon has the models loaded; saving happens here, so a draft to save is made here.
            warm = None if out or maildir_drafts or imap_drafts else run_warm(ctx.obj.home, "draft", options, on_text)
            if warm is not None:
                result = DraftResult(**warm)
            else:
                result = assistant.skill("draft").run(assistant, **options, on_text=on_text,
                                                      save=Targets(out, maildir_drafts, imap_drafts))
        except KeyboardInterrupt:
            click.echo("\nStopped: nothing was saved.", err=True)
            ctx.exit(130)
        if as_json:
            shown = asdict(result)
            if not explain:
                for key in ("explain", "trimmed", "prefix_cache", "candidates"):
                    shown.pop(key)
            click.echo(json.dumps(shown, ensure_ascii=False))
            return
        if on_text:
            on_text.finish(result.draft)  # the screen ends with the draft as saved
        else:
            click.echo(result.draft)
        report_guard(result.removed)
        if result.saved:
            click.echo(f"Saved to {', '.join(result.saved)}", err=True)
        if explain:
            click.echo(explain_text(result), err=True)


def explain_text(result: DraftResult) -> str:
    """--explain: the prompt's sections, their tokens, what was left out, and the prefix's cache."""
    lines = ["Prompt sections (tokens):"]
    lines += [f"  {row['section']:<10} {row['tokens']:>6}" + (f"  ({row['items']})" if row.get("items") else "")
              for row in result.explain]
    lines.append(f"  {'total':<10} {sum(row['tokens'] for row in result.explain):>6}")
    lines += [f"Left out: {note}" for note in result.trimmed]
    lines += [f"Held to your habits: {note}" for note in result.tidied]
    lines += [f"No draft, written again: '{answer[:80]}'" for answer in result.retried]
    cache = result.prefix_cache
    if cache.get("tokens"):
        where = {"memory": "already in the model's context", "disk": "loaded from the saved state",
                 "evaluated": "evaluated now"}.get(cache["source"], cache["source"])
        lines.append(f"Stable prefix: {cache['tokens']} tokens, {where} ({cache['evaluated']} evaluated)")
    return "\n".join(lines)
