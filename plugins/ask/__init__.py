"""The `ask` skill: answer a question from the person's own history, citing the passages used.

Hybrid search finds passages; they go to the model as numbered, quoted data (`prompt.chat`).
"I don't know" is decided twice: before generation, when retrieval found no evidence
(`has_evidence`), the model is not asked at all; after it, when the model says it could not
find the answer, or its answer shares no words with any passage it was given. Citation
numbers in the answer are kept only when they name a passage actually given.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field

import click

from assistant.errors import UserError
from assistant.hookspecs import hookimpl
from assistant.skills import run_warm

DEFAULT_K = 5
# Retrieval evidence, calibrated on the sample person with all-MiniLM-L6-v2 (cosine of the
# rescored int8 codes): her answerable questions reach 0.30-0.54 with half or more of their
# words in the best full-text match; unanswerable ones (a dentist, a passport, Mongolia's
# capital) stay under 0.30 with at most a third of their words found.
STRONG_MEANING = 0.40
MEANING_WITH_WORDS = 0.28
WORDS = 0.5
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_WORD = re.compile(r"[a-z0-9]{3,}")
_UNFINISHED = re.compile(r"<[^>\n]*$|!?\[[^\]\n]*(?:\]\([^)\n]*)?$")  # "<img src=…", "[text](…" so far
_ECHO = re.compile(r"\n?\s*</?passage\b|\nQuestion:")
_REFUSAL = re.compile(r"could(?: not|n't) find|can(?:not|'t) find|do(?: not|n't) know|no information|"
                      r"not (?:mentioned|stated|specified|provided)|passages do not say", re.I)
_STOP = frozenset("the and for you your that this with from what when where which who was were are have has "
                  "had not but its into about they them their there then than will would could should".split())


@dataclass
class Citation:
    n: int
    document: str
    date: str
    chunk_id: int
    uri: str


@dataclass
class AskResult:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    model: str = ""
    seconds: float = 0.0
    found: bool = False
    removed: list[dict] = field(default_factory=list)  # what the guard took out: {kind, value, reason}


def has_evidence(hits) -> bool:
    """Does anything retrieved plausibly hold the answer? A close match by meaning, or a fair
    one that also holds half the question's words."""
    best = max((hit.stages.get("vector", {}).get("score", 0.0) for hit in hits), default=0.0)
    coverage = max((hit.stages.get("fusion", {}).get("text_coverage", 0.0) for hit in hits), default=0.0)
    return best >= STRONG_MEANING or (best >= MEANING_WITH_WORDS and coverage >= WORDS)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def settle(answer: str, passages: list, question: str = "") -> tuple[str, list[int]] | None:
    """(the answer with only valid [n] kept, the passage numbers it cites, in order), or None
    when the answer is not one: empty, the model saying it could not find it, or supported by
    no passage given.

    A number that names no passage given is removed. An answer that cites nothing is
    attributed to the passage sharing most of its words (beyond the question's own), and a
    marker for it appended."""
    given = {p.number for p in passages}
    cited: list[int] = []

    def keep(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match[1]) if int(n) in given]
        cited.extend(n for n in numbers if n not in cited)
        return f"[{', '.join(map(str, numbers))}]" if numbers else ""

    answer = _ECHO.split(answer, 1)[0]  # a small model goes on to write passages of its own
    text = re.sub(r"[ \t]+([.,;])", r"\1", _CITE.sub(keep, answer)).strip()
    if not text or _REFUSAL.search(text):
        return None
    if cited:
        return text, cited
    own = _words(text) - _words(question)
    shared = {p.number: len(own & _words(p.text)) for p in passages}
    best = max(shared, key=lambda n: (shared[n], -n), default=None)
    if best is None or shared[best] == 0:
        return None
    return f"{text} [{best}]", [best]


def shown_so_far(raw: str, passages: list, trusted) -> str:
    """What of an answer still being written may be shown: up to its last whitespace and before any
    tag or markdown link still open (a link or a citation is whole before it is judged), less echoed
    passages, citation numbers that name no
    passage given, and what the guard takes out. Judged anew each time, so a link that turns out
    to be untrusted is taken out of what was shown."""
    from assistant.generation.guard import guard_text

    given = {p.number for p in passages}
    text, *echo = _ECHO.split(raw, 1)
    if not echo:  # the answer goes on: hold back its last word and a tag or link not yet closed
        text = text[:max(text.rfind(" "), text.rfind("\n")) + 1]
        text = text[:unfinished.start()] if (unfinished := _UNFINISHED.search(text)) else text
    text = _CITE.sub(lambda m: m[0] if all(int(n) in given for n in re.split(r"\s*,\s*", m[1])) else "", text)
    return guard_text(text, trusted, contacts=False).text if text.strip() else ""


def _written(pieces, show) -> str:
    raw = ""
    for piece in pieces:
        raw += piece
        show(raw)
    return raw


def ask(assistant, question: str, k: int = DEFAULT_K, max_tokens: int = 160, on_text=None) -> AskResult:
    """`on_text(answer)`, when given, receives the answer so far each time the model writes more
    (`shown_so_far`); the result's answer is the final word (refusals and citations settled)."""
    from assistant.generation.guard import Trusted, guard_text
    from assistant.prompt.chat import NOT_FOUND, chat_messages, completion_prompt, passages_of

    question = question.strip()
    if not question:
        raise UserError('the question is empty; ask something, e.g. assistant ask "when does Meera arrive?"')
    started = time.perf_counter()
    hits = assistant.search(question, k=k)
    if not has_evidence(hits):
        return AskResult(NOT_FOUND, model="", seconds=round(time.perf_counter() - started, 2))
    passages = passages_of(hits)
    generator = assistant.generator
    name = assistant.config.me.display_name
    trusted = Trusted(assistant.db, [question], assistant.config.me.emails)
    if on_text:
        prompt, stop = ((chat_messages(name, question, passages), None) if generator.has_chat_template
                        else (completion_prompt(name, question, passages), ["\nQuestion:", "\n\n"]))
        raw = _written(generator.generate(prompt, max_tokens=max_tokens, temperature=0.2, stop=stop),
                       lambda raw: on_text(shown_so_far(raw, passages, trusted)))
    elif generator.has_chat_template:
        raw = generator.chat(chat_messages(name, question, passages), max_tokens=max_tokens, temperature=0.2)
    else:
        raw = generator.complete(completion_prompt(name, question, passages), max_tokens=max_tokens,
                                 temperature=0.2, stop=["\nQuestion:", "\n\n"])
    settled = settle(raw, passages, question)
    seconds = round(time.perf_counter() - started, 2)
    if settled is None:
        return AskResult(NOT_FOUND, model=generator.name, seconds=seconds)
    # Retrieved text may be a stranger's: an image, or a link neither in the question nor in the
    # person's own writing, does not reach the answer (addresses and phone numbers may: it is read,
    # not sent).
    guarded = guard_text(settled[0], trusted, contacts=False)
    answer, cited = guarded.text, settled[1]
    by_number = {p.number: (p, hit) for p, hit in zip(passages, hits)}
    citations = [Citation(n, by_number[n][0].title, by_number[n][0].date, by_number[n][1].chunk_id,
                          by_number[n][1].uri) for n in cited]
    return AskResult(answer, citations, generator.name, seconds, found=True, removed=guarded.report())


class AskSkill:
    name = "ask"
    description = "Answer a question from the person's own history, with citations."

    def run(self, assistant, **options) -> AskResult:
        return ask(assistant, **options)


@hookimpl
def register_skills(register):
    register(AskSkill())


@hookimpl
def register_commands(cli):
    @cli.command(name="ask")
    @click.argument("question")
    @click.option("-k", "k", default=DEFAULT_K, show_default=True, type=click.IntRange(1, 20),
                  help="How many passages to read.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print {answer, citations: [{n, document, date, chunk_id, uri}], model, seconds, found, "
                       "removed}.")
    @click.pass_obj
    def ask_command(state, question, k, as_json):
        """Answer a question from your own mail, notes and chats, citing them.

        Answered by the running daemon when there is one (its models are loaded), else here.

        \b
        Examples:
          assistant ask "which cabinet fronts did I choose for the kitchen?"
          assistant ask "when does Meera land?" --json
        """
        warm = run_warm(state.home, "ask", {"question": question, "k": k})
        if warm is not None:
            result = AskResult(**{**warm, "citations": [Citation(**c) for c in warm["citations"]]})
        else:
            assistant = state.assistant()
            result = assistant.skill("ask").run(assistant, question=question, k=k)
        if as_json:
            click.echo(json.dumps(asdict(result), ensure_ascii=False))
            return
        click.echo(result.answer)
        if result.removed:
            click.echo(f"Note: {len(result.removed)} link(s) or image(s) from text you did not write were left out: "
                       + "; ".join(r["value"][:60] for r in result.removed), err=True)
        for c in result.citations:
            click.echo(f"[{c.n}] {c.document} — {c.date or 'undated'} ({c.uri})")
