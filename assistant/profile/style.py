"""How the person writes email: greetings, sign-offs, length, punctuation and phrases.

Learned only from documents where `author_is_me` is set. Phrases are ranked by how
much more the person uses them than the other writers in the store do (smoothed
log-odds), so the profile shows what sets their voice apart, not merely common words.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from statistics import median

from assistant.profile import recipients

_GREETING = re.compile(r"^\s*((?:hi|hiya|hey|hello|dear|morning|good morning|hi there|yo)\b[^\n,]{0,30},?)", re.I)
_WORD = re.compile(r"(?<![\w'])[a-z][a-z']*(?![\w'])")
_FUNCTION_WORDS = frozenset(
    "a an and are as at be but by can could do for from had has have i if in is it me my of on or our so "
    "that the this to was we were will with would you your".split()
)


@dataclass
class StyleProfile:
    emails: int = 0
    median_words: int = 0
    greetings: list[tuple[str, int]] = field(default_factory=list)
    signoffs: list[tuple[str, int]] = field(default_factory=list)
    per_100_words: dict[str, float] = field(default_factory=dict)
    phrases: list[str] = field(default_factory=list)
    correspondents: list[tuple[str, int]] = field(default_factory=list)
    # address → name, emails (how many went to them), greeting, sign-off
    by_correspondent: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def notes(self, recipient: str | None = None) -> list[str]:
        """Plain-language style notes for a prompt, specific to `recipient` where known."""
        notes = []
        specific = self._for(recipient)
        greeting = self.greeting_for(recipient)
        signoff = specific.get("signoff") or (self.signoffs[0][0] if self.signoffs else None)
        if greeting:
            notes.append(f"Opens with a greeting like '{greeting} NAME,'.")
        if signoff:
            notes.append(f"Signs off with '{signoff}'." )
        if self.median_words:
            notes.append(f"Keeps emails short: about {self.median_words} words.")
        dash = self.per_100_words.get("em_dash", 0)
        if dash >= 0.5:
            notes.append("Uses em-dashes (—) often.")
        if self.per_100_words.get("semicolon", 0) >= 0.5:
            notes.append("Likes semicolons.")
        if self.per_100_words.get("exclamation", 0) < 0.3:
            notes.append("Rarely uses exclamation marks.")
        if self.phrases:
            notes.append("Phrases they use: " + "; ".join(f"'{p}'" for p in self.phrases[:6]) + ".")
        return notes

    def greeting_for(self, recipient: str | None) -> str | None:
        return self._for(recipient).get("greeting") or (self.greetings[0][0] if self.greetings else None)

    def _for(self, recipient: str | None) -> dict:
        """The habits for whom `recipient` names (`recipients.matches`), the most written-to first."""
        if not recipient:
            return {}
        found = [habits for address, habits in self.by_correspondent.items()
                 if recipients.matches(recipient, address, habits.get("name", ""))]
        return max(found, key=lambda habits: habits.get("emails", 0), default={})


def greeting_of(text: str) -> str | None:
    match = _GREETING.match(text)
    if not match:
        return None
    words = match.group(1).rstrip(",").split()
    return words[0].capitalize() if words[0].lower() != "good" else " ".join(words[:2]).capitalize()


def signoff_of(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 3:
        return None
    candidate = lines[-2]
    if candidate.endswith(",") and len(candidate.split()) <= 4:
        return f"{candidate}\n{lines[-1]}"
    return None


def body_lines(text: str) -> str:
    """The text without its greeting line and sign-off, which the profile reports on their own."""
    lines = text.strip().splitlines()
    if lines and greeting_of(lines[0]):
        lines = lines[1:]
    if signoff_of(text):
        lines = lines[:-2]
    return "\n".join(lines)


def _ngrams(text: str, sizes=(2, 3)) -> Counter:
    """Word n-grams within sentences that hold at least one content word."""
    grams: Counter = Counter()
    for sentence in re.split(r"[.!?;:—\n]+", body_lines(text).lower()):
        words = _WORD.findall(sentence)
        for n in sizes:
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if all(w in _FUNCTION_WORDS for w in gram):
                    continue
                grams[" ".join(gram)] += 1
    return grams


def distinctive_phrases(mine: list[str], others: list[str], limit: int = 12) -> list[str]:
    """Phrases the person uses in at least 3 emails, ranked by smoothed log-odds against others' text."""
    doc_freq: Counter = Counter()
    own: Counter = Counter()
    for text in mine:
        grams = _ngrams(text)
        own.update(grams)
        doc_freq.update(set(grams))
    background: Counter = Counter()
    for text in others:
        background.update(_ngrams(text))
    own_total = sum(own.values()) or 1
    bg_total = sum(background.values()) or 1
    scored = []
    for gram, df in doc_freq.items():
        if df < 3:
            continue
        ratio = math.log((own[gram] + 0.5) / own_total) - math.log((background[gram] + 0.5) / bg_total)
        scored.append((ratio * math.log1p(df), gram))
    picked: list[str] = []
    for _, gram in sorted(scored, reverse=True):
        if any(gram in other or other in gram for other in picked):
            continue
        picked.append(gram)
        if len(picked) == limit:
            break
    return picked


# Every draft learns the style afresh, so both samples are capped: the person's most recent
# emails, and a background of others' most recent text, never the whole store.
MAX_OWN_EMAILS = 2000
MAX_BACKGROUND_CHUNKS = 5000


def learn_style(db) -> StyleProfile:
    # Chunks are joined in position order (the inner ORDER BY) to rebuild each email's text.
    mine = list(db.query(
        "SELECT id, author, recipients, group_concat(text, '\n\n') AS text FROM ("
        "  SELECT d.id, d.author, d.recipients, c.text FROM documents d JOIN chunks c ON c.document_id = d.id"
        "  WHERE d.id IN (SELECT id FROM documents WHERE author_is_me = 1 AND kind = 'mail'"
        "                 ORDER BY created_at DESC LIMIT ?)"
        "  ORDER BY d.id, c.position) GROUP BY id ORDER BY id",
        [MAX_OWN_EMAILS],
    ))
    if not mine:
        return StyleProfile()
    others = [r["text"] for r in db.query(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.author_is_me = 0 "
        "ORDER BY d.created_at DESC LIMIT ?", [MAX_BACKGROUND_CHUNKS]
    )]
    texts = [r["text"] for r in mine]
    words = [len(t.split()) for t in texts]
    total_words = sum(words) or 1
    greetings = Counter(g for g in map(greeting_of, texts) if g)
    signoffs = Counter(s for s in map(signoff_of, texts) if s)
    correspondents_count: Counter = Counter()
    habits: dict[str, Counter] = {}
    for row in mine:
        for address in json.loads(row["recipients"] or "[]"):
            correspondents_count[address] += 1
            seen = habits.setdefault(address, Counter())
            if g := greeting_of(row["text"]):
                seen["greeting:" + g] += 1
            if s := signoff_of(row["text"]):
                seen["signoff:" + s] += 1
    people = recipients.correspondents(db)
    by_correspondent = {}
    for address, seen in habits.items():
        entry = {"name": people[address].name if address in people else "",
                 "emails": correspondents_count[address]}
        for key in ("greeting", "signoff"):
            best = [k for k, _ in seen.most_common() if k.startswith(key + ":")]
            if best:
                entry[key] = best[0].split(":", 1)[1]
        by_correspondent[address] = entry
    joined = "\n".join(texts)
    return StyleProfile(
        emails=len(texts),
        median_words=int(median(words)),
        greetings=greetings.most_common(3),
        signoffs=signoffs.most_common(3),
        per_100_words={
            "em_dash": round(100 * joined.count("—") / total_words, 2),
            "semicolon": round(100 * joined.count(";") / total_words, 2),
            "exclamation": round(100 * joined.count("!") / total_words, 2),
            "question": round(100 * joined.count("?") / total_words, 2),
        },
        phrases=distinctive_phrases(texts, others),
        correspondents=correspondents_count.most_common(8),
        by_correspondent=by_correspondent,
    )
