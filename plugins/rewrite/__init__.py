"""The `rewrite` skill: text in the person's voice, or (`neutral`) stripped of it.

Voice: the person's style notes (for `to`, that correspondent's greeting and sign-off) and
their own emails closest to the text as exemplars, as `draft` picks them. Neutral: the model
is told to write plainly and to avoid the person's distinctive phrases, and then what is
certain to identify them is removed from its output whatever the model did: a greeting or
salutation line, a sign-off and signature, their names, em-dashes, semicolons and
exclamation marks (`strip_fingerprint`).
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from assistant.errors import UserError
from assistant.hookspecs import hookimpl
from assistant_plugins.draft import report_guard

MAX_CHARS = 8000
# "Sam," / "Hi all:" / "Priya!" opening a text; "With thanks," / "Cheers!" closing one.
_SALUTATION = re.compile(r"^\s*[\w'’.-]+(?:\s+[\w'’.-]+){0,3}\s*[,!:]\s*$")
_SIGNOFF = re.compile(r"^\s*(?:[\w'’.-]+(?:\s+[\w'’.-]+){0,3}\s*,|[\w'’.-]+(?:\s+[\w'’.-]+)?\s*[!.])\s*$")


@dataclass
class RewriteResult:
    text: str
    mode: str  # "voice" | "neutral"
    model: str
    seconds: float
    used: list[int] = field(default_factory=list)  # chunk ids of the exemplars (voice)
    removed: list[str] = field(default_factory=list)  # what `strip_fingerprint` took out (neutral)
    guarded: list[dict] = field(default_factory=list)  # what the guard took out: {kind, value, reason}


def strip_fingerprint(text: str, names: list[str]) -> tuple[str, list[str]]:
    """`text` without the habits that identify its writer whatever its wording: the greeting or
    salutation line, the sign-off and signature lines, the writer's `names`, em-dashes,
    semicolons and exclamation marks. Returns the text and what was removed."""
    from assistant.profile.style import greeting_of

    lines = [line.rstrip() for line in text.strip().splitlines()]
    removed = []
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and (greeting_of(lines[0]) or _SALUTATION.match(lines[0])):
        removed.append(f"greeting: {lines.pop(0).strip()}")
    words = {w.casefold() for name in names for w in name.split()}
    trailing = []
    while lines and len(trailing) < 3 and (not lines[-1].strip() or _SIGNOFF.match(lines[-1])
                     or {w.casefold().strip(",.!x") for w in lines[-1].split()} <= words | {""}):
        line = lines.pop().strip()
        if line:
            trailing.insert(0, line)
    if trailing:
        removed.append("sign-off: " + " / ".join(trailing))
    body = "\n".join(lines).strip()
    for pattern, replacement, what in ((r"\s*—\s*", ", ", "em-dash"), (r";", ",", "semicolon"), (r"!", ".", "exclamation mark")):
        body, count = re.subn(pattern, replacement, body)
        if count:
            removed.append(f"{what} ×{count}")
    for name in sorted(words, key=len, reverse=True):
        body, count = re.subn(rf"\b{re.escape(name)}\b", "", body, flags=re.I)
        if count:
            removed.append(f"name {name!r} ×{count}")
    return re.sub(r"[ \t]{2,}", " ", body).strip(), removed


def rewrite(assistant, text: str, to: str | None = None, neutral: bool = False,
            max_tokens: int = 320, temperature: float = 0.5) -> RewriteResult:
    from assistant.generation.guard import Trusted, guard_text
    from assistant.profile.recipients import resolve
    from assistant.profile.refresh import current_style
    from assistant.prompt.rewrite import COMPLETION_STOPS, clean, completion_prompt, neutral_messages, voice_messages
    from assistant_plugins.draft import pick_exemplars

    text = text.strip()
    if not text:
        raise UserError("there is no text to rewrite; give a file with text in it, or pipe text to `rewrite -`")
    if len(text) > MAX_CHARS:
        raise UserError(f"the text is {len(text)} characters; rewrite at most {MAX_CHARS} at a time (split it)")
    started = time.perf_counter()
    generator = assistant.generator
    me = assistant.config.me
    style = current_style(assistant.db)
    exemplars = []
    if neutral:
        messages = neutral_messages(text, style.phrases[:8])
        register = "in plain, neutral English, with no greeting, sign-off or name"
    else:
        recipient = resolve(assistant.db, to) if to else None
        exemplars = pick_exemplars(assistant, text[:500], recipient)
        messages = voice_messages(me.display_name, text, style.notes(to), exemplars)
        register = f"in {me.display_name}'s voice"
    if generator.has_chat_template:
        output = generator.chat(messages, max_tokens=max_tokens, temperature=temperature)
    else:
        output = generator.complete(completion_prompt(text, register), max_tokens=max_tokens,
                                    temperature=temperature, stop=COMPLETION_STOPS)
    # A rewrite is sent like a draft: links, addresses and numbers only from the text given or
    # the person's own writing, never from what the model read or made up.
    guarded = guard_text(clean(output), Trusted(assistant.db, [text, to or ""], me.emails))
    result, removed = guarded.text, []
    if neutral:
        result, removed = strip_fingerprint(result, me.names)
    return RewriteResult(result, "neutral" if neutral else "voice", generator.name,
                         round(time.perf_counter() - started, 2), [e.chunk_id for e in exemplars], removed,
                         guarded.report())


def read_input(source: str) -> str:
    """The text of FILE, or of standard input for `-`."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source).expanduser()
    if not path.is_file():
        raise UserError(f"no file at {path}; give a text file to rewrite, or - to read standard input")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; rewrite takes plain text files") from None


class RewriteSkill:
    name = "rewrite"
    description = "Rewrite text in the person's voice, or strip their voice from it."

    def run(self, assistant, **options) -> RewriteResult:
        return rewrite(assistant, **options)


@hookimpl
def register_skills(register):
    register(RewriteSkill())


@hookimpl
def register_commands(cli):
    @cli.command(name="rewrite")
    @click.argument("source", metavar="FILE|-")
    @click.option("--to", "to", metavar="NAME", help="Who it is for: your greeting and sign-off for them.")
    @click.option("--neutral", is_flag=True,
                  help="The opposite: plain, generic wording with your greeting, sign-off, phrases and "
                       "punctuation habits removed, so it cannot be linked to you by style.")
    @click.option("--json", "as_json", is_flag=True, help="Print {text, mode, model, seconds, used, removed, guarded}.")
    @click.option("--max-tokens", default=320, show_default=True, help="Longest rewrite, in tokens.")
    @click.pass_obj
    def rewrite_command(state, source, to, neutral, as_json, max_tokens):
        """Rewrite a text in your voice (or, with --neutral, out of it).

        \b
        Examples:
          assistant rewrite notes.txt --to Sam
          pbpaste | assistant rewrite - --neutral
        """
        text = read_input(source)
        assistant = state.assistant()
        result = assistant.skill("rewrite").run(assistant, text=text, to=to, neutral=neutral,
                                                max_tokens=max_tokens)
        if as_json:
            click.echo(json.dumps(asdict(result), ensure_ascii=False))
        else:
            click.echo(result.text)
            report_guard(result.guarded)
