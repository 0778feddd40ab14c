"""Tone controls (`draft --tone shorter|longer|formal|casual`), relative to the person's own range.

"Shorter" is not a generic adjective here: it is the length of the person's own shortest
quarter of emails (their 25th percentile in words), "longer" their 75th. "Formal" is how
they write to their most formally greeted correspondents (the greeting highest on a fixed
English scale among those they actually use, and the sign-off they pair with it there),
"casual" how they write to the least formally greeted. Each becomes a note for the prompt
and, for length, a token budget, so the model is both told and held to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import quantiles

TONES = ("shorter", "longer", "formal", "casual")
# How formal an English greeting is; only the order matters, and only among those the person uses.
GREETING_FORMALITY = {"dear": 4, "good morning": 3, "good afternoon": 3, "hello": 2, "morning": 1, "hi": 1,
                      "hi there": 1, "hey": 0, "hiya": 0, "yo": 0}
TOKENS_PER_WORD = 1.5  # English prose in the embedded models' tokenizers, with room for the sign-off
BUDGET_SLACK = 24
MAX_OWN_EMAILS = 2000
USUAL = "usual"  # no tone asked for: the person's own usual length, told and held to
WORDS_PER_POINT = 8  # a point of the request said in a sentence of the person's own, about
MIN_WORDS = 40  # with no email of theirs to go by: a greeting, a few sentences and a sign-off


@dataclass
class ToneGuide:
    tone: str
    notes: list[str] = field(default_factory=list)
    words: int | None = None  # the length the draft should keep to (its token budget)
    asked: int | None = None  # the length the note asks for
    greeting: str | None = None
    signoff: str | None = None

    def max_tokens(self, requested: int) -> int:
        """The generation budget: `requested`, tightened for "shorter" and raised for "longer"."""
        if self.words is None:
            return requested
        budget = round(self.words * TOKENS_PER_WORD) + BUDGET_SLACK
        return min(requested, budget) if self.tone in ("shorter", USUAL) else max(requested, budget)


def own_lengths(db) -> list[int]:
    """Words in each of the person's most recent emails."""
    rows = db.query(
        "SELECT group_concat(c.text, ' ') AS text FROM documents d JOIN chunks c ON c.document_id = d.id "
        "WHERE d.id IN (SELECT id FROM documents WHERE author_is_me = 1 AND kind = 'mail' "
        "ORDER BY created_at DESC LIMIT ?) GROUP BY d.id", [MAX_OWN_EMAILS])
    return [len(row["text"].split()) for row in rows if row["text"]]


def _formality(greeting: str) -> int:
    return GREETING_FORMALITY.get(greeting.lower(), 1)


def _register(style, most_formal: bool) -> tuple[str | None, str | None, list[str]]:
    """(greeting, sign-off, whom the person writes that way to) at one end of their own range."""
    people = [(habits.get("name") or address, habits) for address, habits in style.by_correspondent.items()
              if habits.get("greeting")]
    if not people:
        return None, None, []
    pick = max if most_formal else min
    level = pick(_formality(habits["greeting"]) for _, habits in people)
    chosen = [(name, habits) for name, habits in people if _formality(habits["greeting"]) == level]
    greeting = Counter(habits["greeting"] for _, habits in chosen).most_common(1)[0][0]
    signoffs = Counter(habits["signoff"] for _, habits in chosen if habits.get("signoff"))
    chosen.sort(key=lambda pair: -pair[1].get("emails", 0))
    return greeting, signoffs.most_common(1)[0][0] if signoffs else None, [name for name, _ in chosen[:3]]


def usual_length(style, name: str, points: int = 0) -> ToneGuide | None:
    """Without a --tone, the person's usual length: a note that says it (their median) and a budget
    held to their 75th percentile. An instruction model left alone writes three times what a
    terse person does, and pads it with what they never say. A request with more to say than
    their median holds (`points` to cover, `WORDS_PER_POINT` each) gets the room it needs. With
    fewer than four emails of theirs indexed, nothing says their length: the room each point
    needs, at least `MIN_WORDS` (a note's length says nothing of an email's)."""
    data = style.contexts.get("email")
    needed = WORDS_PER_POINT * points
    if not data or data.get("docs", 0) < 4:
        if not points:
            return None
        words = max(needed, MIN_WORDS)
        return ToneGuide(USUAL, [f"Length: about {words} words, enough for each point; nothing the request does "
                                 f"not need."], words, asked=words)
    words = data["words"]
    if needed <= words["median"]:
        return ToneGuide(USUAL, [f"Length: about {words['median']} words, as {name}'s own emails usually are "
                                 f"({words['p25']}–{words['p75']}); only what the request needs."], words["p75"],
                         asked=words["median"])
    return ToneGuide(USUAL, [f"Length: about {needed} words, enough for each point ({name}'s own emails are "
                             f"usually {words['p25']}–{words['p75']}); nothing the request does not need."],
                     max(words["p75"], needed), asked=needed)


def tone_guide(db, style, tone: str, name: str) -> ToneGuide:
    """What `tone` means for this person (`style`: their `StyleProfile`; `name`: how to call them)."""
    guide = ToneGuide(tone)
    if tone in ("shorter", "longer"):
        lengths = own_lengths(db)
        if len(lengths) >= 4:
            p25, _, p75 = quantiles(lengths, n=4)
            guide.words = guide.asked = max(10, round(p25 if tone == "shorter" else p75))
            end = "shortest" if tone == "shorter" else "longest"
            guide.notes.append(f"For this email, instead of the usual length: about {guide.words} words, "
                               f"like the {end} quarter of {name}'s own emails.")
        else:
            guide.notes.append(f"For this email: {tone} than {name} usually writes.")
        return guide
    greeting, signoff, people = _register(style, most_formal=tone == "formal")
    guide.greeting, guide.signoff = greeting, signoff
    if not greeting:
        guide.notes.append(f"For this email: more {tone} than {name} usually writes.")
        return guide
    how = f"open with '{greeting} NAME,'" + (f" and sign off with '{signoff}'" if signoff else "")
    guide.notes.append(f"For this email, instead of the usual greeting and sign-off: write as {name} writes "
                       f"to {', '.join(people)} ({tone}): {how}.")
    guide.notes.append("Full sentences, no slang, no exclamation marks." if tone == "formal"
                       else "Relaxed and direct, contractions welcome.")
    return guide
