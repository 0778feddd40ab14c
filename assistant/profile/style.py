"""How the person writes: greetings, sign-offs, length, punctuation, register, language and phrases.

Each of the person's documents is read once into additive counts (`document_features`);
a group's totals (a context: email, chat, document; or one correspondent within it) are
sums of those counts kept in the store (`assistant.store.style_rows`), and its profile is
rendered from the totals alone (`render_group`). `stored_style` reads the rendered
profiles back for a prompt: nothing is recomputed per draft. Only the person's own
writing is described; everyone else's text is the background phrases are measured against.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from assistant.profile import recipients

CONTEXTS = {"mail": "email", "chat": "chat", "doc": "document"}
CONTEXT_NOUNS = {"email": "emails", "chat": "messages", "document": "documents"}
KINDS = {context: kind for kind, context in CONTEXTS.items()}
# Where a draft learns the person's voice from: their email, else (no email of theirs indexed)
# their documents, else their chats. `exemplars.exemplar_set` falls back in the same order.
WRITING_CONTEXTS = ("email", "document", "chat")

_GREETING = re.compile(r"^\s*((?:hi|hiya|hey|hello|dear|morning|good morning|hi there|yo)\b[^\n,]{0,30},?)", re.I)
# A sign-off glued to the end of the last sentence, "…what you did.Thanks,Kay": mail whose line
# breaks were lost (some exports and HTML-to-text conversions; the Enron set has none at all).
_GLUED_SIGNOFF = re.compile(
    r"(?:\A|(?<=[.!?)]))\s*((?i:thanks|thank you|many thanks|best|best regards|kind regards|regards|"
    r"all the best|best wishes|cheers|love|ciao|take care|talk soon|talk to you soon|see you soon|sincerely),)"
    r"[ \t]*([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)\s*\Z")
_WORD = re.compile(r"(?<![\w'])[a-z][a-z']*(?![\w'])")
_SENTENCE = re.compile(r"[^.!?…\n]*[A-Za-z0-9][^.!?…\n]*(?:[.!?…]+|\n|$)")
_CONTRACTION = re.compile(r"\b\w+(?:n't|'re|'ll|'ve|'m|'d)\b|\b(?:it|that|there|what|let|he|she|here|who)'s\b", re.I)
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]|(?<!\\w)[:;]-?[()DPp](?!\\w)")
_THANKS = re.compile(r"\b(?:thanks|thank you|cheers|ta)\b", re.I)
_PLEASE = re.compile(r"\bplease\b", re.I)
# Quoted or forwarded text, or a pasted block: a text that shows more than how the person writes.
_UNCLEAN = re.compile(r"^\s*>|-----\s*original message|forwarded message|^\s*(?:from|sent|to|subject):\s", re.I | re.M)
_URL = re.compile(r"https?://\S+")
_FUNCTION_WORDS = frozenset(
    "a an and are as at be but by can could do for from had has have i if in is it me my of on or our so "
    "that the this to was we were will with would you your".split()
)
# The words whose rates tell writers apart (stylometry), counted for each context.
STYLE_WORDS = sorted(_FUNCTION_WORDS | set(
    "about all also am any just been did does how its not no one only then there they what when which who "
    "why yes really very much well still too here now let lets get got".split()))
# A small stopword list per language: a text is in the language whose words it holds most of.
_LANGUAGES = {
    "en": "the and to of is that it for you with this have are be on not",
    "es": "el la que de los las y en por con para una es no lo",
    "fr": "le la les et des est que une pour pas dans ce qui sur vous",
    "de": "der die und das ist nicht ich zu den mit sie ein es auf",
    "pt": "o os que de não uma para com em é do da você mas se",
    "it": "il che di non per una sono con della è gli le questo ma",
    "nl": "de het een en van is dat niet ik je op te met voor",
}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in _LANGUAGES.items()}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese",
                  "it": "Italian", "nl": "Dutch"}
PUNCTUATION = {"em_dash": "—", "semicolon": ";", "exclamation": "!", "question": "?", "ellipsis": "…", "colon": ":"}
# A phrase's commonness in general English (Zipf scale, wordfreq: about the rarest of its words)
# bounds what can be a habit of the person's. Phrases made only of very common words ("let me
# know", "thank you for") are what everyone writes; one holding a rare word ("stormwater
# report", a name) says what they write about, not how.
GENERAL_ENGLISH_ZIPF = 5.4
TOPICAL_ZIPF = 3.0
MAX_GRAMS_PER_DOCUMENT = 300
MIN_PHRASE_DOCS = 3
# A greeting or sign-off in at least this share of a group's texts is a habit the notes state
# (and `prompt.habits` holds a draft to); below it, the person usually writes without one.
HABIT_SHARE = 0.3
# A greeting in fewer than this share is rare: a draft's greeting is dropped. Between the two the
# person greets at times (one email in four, say): a draft's greeting is neither added nor dropped.
RARE_SHARE = 0.15


# -- reading one document ------------------------------------------------------------------------

def greeting_of(text: str) -> str | None:
    match = _GREETING.match(text)
    if not match:
        return None
    words = match.group(1).rstrip(",").split()
    return words[0].capitalize() if words[0].lower() != "good" else " ".join(words[:2]).capitalize()


def signoff_of(text: str) -> str | None:
    """"Best,\nJeff": a closing line and a name line at the end, or (line breaks lost) a closing
    formula and a name glued to the last sentence."""
    return _split_signoff(text)[1]


def _split_signoff(text: str) -> tuple[list[str], str | None]:
    """(the text's lines before its sign-off, the sign-off or None)."""
    lines = text.strip().splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) >= 3:
        candidate = lines[filled[-2]].strip()
        if candidate.endswith(",") and len(candidate.split()) <= 4:
            return lines[:filled[-2]], f"{candidate}\n{lines[filled[-1]].strip()}"
    glued = _GLUED_SIGNOFF.search(lines[filled[-1]]) if filled else None
    if glued and (glued.start() > 0 or len(filled) > 1):
        return lines[:filled[-1]] + [lines[filled[-1]][:glued.start()]], f"{glued[1]}\n{glued[2]}"
    return lines, None


def body_lines(text: str) -> str:
    """The text without its greeting and sign-off, which the profile reports on their own (a
    greeting that runs on into the first sentence, its line breaks lost, leaves the sentence)."""
    lines, _ = _split_signoff(text)
    greeting = _GREETING.match(lines[0]) if lines else None
    if greeting and greeting[1].endswith(",") and greeting.end() < len(lines[0].rstrip()):
        lines = [lines[0][greeting.end():].lstrip(), *lines[1:]]
    elif greeting:
        lines = lines[1:]
    return "\n".join(lines)


def _ngrams(body: str, sizes=(2, 3)) -> Counter:
    """Word n-grams within sentences, except those made only of function words."""
    grams: Counter = Counter()
    for sentence in re.split(r"[.!?;:—\n]+", body.lower()):
        words = _WORD.findall(sentence)
        for n in sizes:
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if all(w in _FUNCTION_WORDS for w in gram):
                    continue
                grams[" ".join(gram)] += 1
    return grams


def language_of(words: list[str]) -> str | None:
    hits = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=hits.get)
    return best if hits[best] >= 2 else None


def length_bucket(words: int) -> int:
    """Word counts exact up to 200, then to the nearest 10, then 100: percentiles stay close."""
    return words if words <= 200 else (words // 10 * 10 if words <= 1000 else words // 100 * 100)


def document_features(text: str, reply: bool = False, names: dict[str, str] | None = None) -> tuple[dict, dict]:
    """(counts, grams) of one text the person wrote. Counts add up across documents; keys starting
    with `~` describe the context only (function-word rates), `name:` the names used for recipients."""
    body = body_lines(text)
    words = text.split()
    lowered = _WORD.findall(body.lower())
    sentences = [s.strip() for s in _SENTENCE.findall(body) if s.strip()]
    greeting, signoff = greeting_of(text), signoff_of(text)
    counts: Counter = Counter({"docs": 1, "words": len(words), "sentences": len(sentences),
                               f"len:{length_bucket(len(words))}": 1, f"sents:{min(len(sentences), 40)}": 1,
                               f"greet:{greeting or ''}": 1, f"sign:{signoff or ''}": 1})
    if reply:
        counts["replies"] += 1
        counts["replies_greeted"] += int(bool(greeting))
    for key, mark in PUNCTUATION.items():
        counts[f"p:{key}"] += body.count(mark) + (body.count("...") if key == "ellipsis" else 0)
    counts["lower_starts"] = sum(1 for s in sentences if s[0].islower())
    counts["all_lowercase"] = int(any(c.isalpha() for c in body) and not any(c.isupper() for c in body))
    counts["emoji"] = len(_EMOJI.findall(text))
    counts["contractions"] = len(_CONTRACTION.findall(body.replace("’", "'")))
    counts["please"] = len(_PLEASE.findall(text))
    counts["thanks"] = int(bool(_THANKS.search(text)))
    if lang := language_of(lowered):
        counts[f"lang:{lang}"] = 1
    used = Counter(w for w in lowered if w in STYLE_WORDS)
    for word, n in used.items():
        counts[f"~fw:{word}"] = n
    counts["~fw_total"] = len(lowered)
    for address, name in (names or {}).items():
        counts[f"name:{address.lower()}\t{name}"] += 1
    counts["unclean"] = int(len(words) < 5 or bool(_UNCLEAN.search(text)) or len(_URL.findall(text)) > 2)
    grams = dict(_ngrams(body).most_common(MAX_GRAMS_PER_DOCUMENT))
    counts["~gram_uses"] = sum(grams.values())
    return {k: v for k, v in counts.items() if v}, grams


def background_features(text: str) -> tuple[dict, dict]:
    """(counts, grams) of a text someone else wrote: only its phrases, the background for the person's."""
    grams = dict(_ngrams(text).most_common(MAX_GRAMS_PER_DOCUMENT))
    return {"docs": 1, "~gram_uses": sum(grams.values())}, grams


# -- rendering a group ---------------------------------------------------------------------------

def _percentile(histogram: dict[int, float], q: float) -> int:
    total = sum(histogram.values())
    if not total:
        return 0
    seen = 0.0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= q * total:
            return value
    return max(histogram)


def _ranked(counts: dict[str, float], prefix: str, limit: int = 3) -> list[tuple[str, int]]:
    found = [(key[len(prefix):], int(n)) for key, n in counts.items() if key.startswith(prefix) and key != prefix]
    return sorted(found, key=lambda item: (-item[1], item[0]))[:limit]


def render_group(counts: dict[str, float], correspondent: str = "") -> dict:
    """The figures of one group from its totals: what `notes` and `profile show` read."""
    docs = counts.get("docs", 0)
    words = counts.get("words", 0) or 1
    sentences = counts.get("sentences", 0)
    lengths = {int(k[4:]): n for k, n in counts.items() if k.startswith("len:")}
    sentence_counts = {int(k[6:]): n for k, n in counts.items() if k.startswith("sents:")}
    languages = {k[5:]: round(n / docs, 2) for k, n in counts.items() if k.startswith("lang:")}
    names = _ranked(counts, f"name:{correspondent}\t", 1) if correspondent else []
    fw_total = counts.get("~fw_total", 0)
    data = {
        "docs": int(docs),
        "words": {"median": _percentile(lengths, 0.5), "p25": _percentile(lengths, 0.25),
                  "p75": _percentile(lengths, 0.75)},
        "sentences": {"median": _percentile(sentence_counts, 0.5), "p25": _percentile(sentence_counts, 0.25),
                      "p75": _percentile(sentence_counts, 0.75)},
        "words_per_sentence": round(words / sentences, 1) if sentences else 0.0,
        "greetings": _ranked(counts, "greet:"),
        "greeting_rate": round(1 - counts.get("greet:", 0) / docs, 2) if docs else 0.0,
        "signoffs": _ranked(counts, "sign:"),
        "signoff_rate": round(1 - counts.get("sign:", 0) / docs, 2) if docs else 0.0,
        "replies": int(counts.get("replies", 0)),
        "replies_greeted": int(counts.get("replies_greeted", 0)),
        "per_100_words": {**{key: round(100 * counts.get(f"p:{key}", 0) / words, 2) for key in PUNCTUATION},
                          "emoji": round(100 * counts.get("emoji", 0) / words, 2),
                          "contractions": round(100 * counts.get("contractions", 0) / words, 2),
                          "please": round(100 * counts.get("please", 0) / words, 2)},
        "lowercase_starts": round(counts.get("lower_starts", 0) / sentences, 2) if sentences else 0.0,
        "all_lowercase": round(counts.get("all_lowercase", 0) / docs, 2) if docs else 0.0,
        "thanks": round(counts.get("thanks", 0) / docs, 2) if docs else 0.0,
        "languages": dict(sorted(languages.items(), key=lambda item: -item[1])),
        "name": names[0][0] if names else "",
    }
    if fw_total:
        data["function_words"] = {k[4:]: round(1000 * n / fw_total, 2) for k, n in counts.items()
                                  if k.startswith("~fw:")}
    return data


@lru_cache(maxsize=100_000)
def english_zipf(phrase: str) -> float:
    """How common `phrase` is in general English, on the Zipf scale (wordfreq; 0 when unseen)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(phrase, "en")


def distinctive_phrases(own: list[tuple[str, int, int]], own_total: int, background: dict[str, int],
                        background_total: int, limit: int = 12) -> list[dict]:
    """The person's phrases (gram, documents, uses), ranked by how much more they use them than the
    other writers in the store do (smoothed log-odds, weighted by how many texts hold them).

    Measured against general English too: a phrase outside the band of habits (`TOPICAL_ZIPF` to
    `GENERAL_ENGLISH_ZIPF`), one used in fewer than `MIN_PHRASE_DOCS` of their texts, or one
    others use as much as they do never counts. With no other writer in the store, the English
    measure alone decides.
    """
    own_total = own_total or 1
    scored = []
    for gram, docs, uses in own:
        if docs < MIN_PHRASE_DOCS:
            continue
        zipf = english_zipf(gram)
        if not TOPICAL_ZIPF <= zipf < GENERAL_ENGLISH_ZIPF:
            continue
        vs_others = 0.0
        if background_total:
            vs_others = (math.log((uses + 0.5) / own_total)
                         - math.log((background.get(gram, 0) + 0.5) / background_total))
            if vs_others <= 0:
                continue
        vs_english = GENERAL_ENGLISH_ZIPF - zipf
        scored.append((vs_others * math.log1p(docs), vs_english, gram, docs, vs_others))
    picked: list[dict] = []
    taken: set[tuple[str, str]] = set()  # word pairs of the phrases picked: "no rush on" hides "rush on this"
    for _, vs_english, gram, docs, vs_others in sorted(scored, reverse=True):
        words = gram.split()
        pairs = set(zip(words, words[1:]))
        if pairs & taken:
            continue
        taken |= pairs
        picked.append({"phrase": gram, "docs": docs, "vs_others": round(vs_others, 2),
                       "vs_english": round(vs_english, 2)})
        if len(picked) == limit:
            break
    return picked


def _range(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low}–{high}"


def _quoted(signoff: str) -> str:
    return " / ".join(signoff.splitlines())


def usual_greeting(data: dict) -> str | None:
    """The greeting a group's texts open with as a habit; None when they usually start without one."""
    return data["greetings"][0][0] if data.get("greetings") and data["greeting_rate"] >= HABIT_SHARE else None


def greets_at_times(data: dict) -> bool:
    """Whether a group's texts open with a greeting too often to call it rare and too seldom to call it a habit."""
    return bool(data.get("greetings")) and RARE_SHARE <= data.get("greeting_rate", 0.0) < HABIT_SHARE


def ungreeted_replies(data: dict) -> bool:
    replies = data.get("replies", 0)
    return replies >= 2 and data.get("replies_greeted", 0) <= replies / 3


def usual_signoff(data: dict) -> str | None:
    """The sign-off (with its name line) a group's texts end with as a habit; None when they rarely sign off."""
    return data["signoffs"][0][0] if data.get("signoffs") and data["signoff_rate"] >= HABIT_SHARE else None


def group_notes(data: dict, noun: str = "emails") -> list[str]:
    """Short, concrete notes for a prompt from one group's figures."""
    notes = []
    docs = data.get("docs", 0)
    if not docs:
        return notes
    if usual_greeting(data):
        greeting, n = data["greetings"][0]
        notes.append(f"Opens with a greeting like '{greeting} NAME,' ({n} of {docs}).")
    elif greets_at_times(data):
        greeting, n = data["greetings"][0]
        notes.append(f"Sometimes opens with a greeting like '{greeting} NAME,' ({n} of {docs}); often with none.")
    elif noun == "emails":
        notes.append("Usually starts without a greeting.")
    if ungreeted_replies(data):
        notes.append("No greeting in replies.")
    if usual_signoff(data):
        signoff, n = data["signoffs"][0]
        notes.append(f"Signs off with '{_quoted(signoff)}' ({n} of {docs}).")
    words, sentences = data["words"], data["sentences"]
    if words["median"]:
        notes.append(f"Keeps {noun} short: about {words['median']} words ({_range(words['p25'], words['p75'])}); "
                     f"{_range(sentences['p25'], sentences['p75'])} sentences of about "
                     f"{round(data['words_per_sentence'])} words."
                     if words["median"] <= 150 else
                     f"Writes {noun} of about {words['median']} words ({_range(words['p25'], words['p75'])}).")
    per = data["per_100_words"]
    if per.get("em_dash", 0) >= 0.5:
        notes.append("Uses em-dashes (—) often.")
    if per.get("semicolon", 0) >= 0.5:
        notes.append("Likes semicolons.")
    if per.get("exclamation", 0) < 0.3:
        notes.append("Rarely uses exclamation marks.")
    elif per.get("exclamation", 0) >= 1.5:
        notes.append("Uses exclamation marks freely.")
    if data.get("all_lowercase", 0) >= 0.5:
        notes.append("Writes all in lowercase.")
    elif data.get("lowercase_starts", 0) >= 0.3:
        notes.append("Often starts sentences in lowercase.")
    if per.get("emoji", 0) >= 0.5:
        notes.append("Uses emoji.")
    if per.get("contractions", 0) >= 1.5:
        notes.append("Writes casually, with contractions (it's, don't).")
    elif per.get("contractions", 0) < 0.3 and data["words"]["median"] >= 20:
        notes.append("Avoids contractions: a formal register.")
    if per.get("please", 0) >= 0.5:
        notes.append("Says please often.")
    if data.get("thanks", 0) >= 0.5:
        notes.append(f"Thanks people in {round(100 * data['thanks'])}% of {noun}.")
    spoken = [LANGUAGE_NAMES.get(code, code) for code, share in data.get("languages", {}).items() if share >= 0.1]
    if spoken and spoken != ["English"]:
        notes.append("Writes in " + " and ".join(spoken) + ".")
    if data.get("phrases"):
        notes.append("Phrases they use: " + "; ".join(f"'{p['phrase']}'" for p in data["phrases"][:6]) + ".")
    return notes


def _used_twice(ranked: list) -> bool:
    return bool(ranked) and ranked[0][1] >= 2


def register_note(context_data: dict, people: dict[str, dict]) -> str | None:
    """One note naming whom the person writes to differently from their usual greeting or sign-off,
    each a habit (`usual_greeting`, `usual_signoff`): a greeting used in a tenth of their emails is
    not what they "usually" write, and one used once with a correspondent is no change of register."""
    greeting, signoff = usual_greeting(context_data), usual_signoff(context_data)
    changes = []
    for address, person in sorted(people.items(), key=lambda item: -item[1]["docs"]):
        if person["docs"] < 2:
            continue
        theirs = (usual_greeting(person) if _used_twice(person["greetings"]) else None,
                  usual_signoff(person) if _used_twice(person["signoffs"]) else None)
        parts = []
        if theirs[0] and theirs[0] != greeting:
            parts.append(f"'{theirs[0]} NAME,'")
        if theirs[1] and theirs[1] != signoff:
            parts.append(f"'{_quoted(theirs[1])}'")
        if parts:
            changes.append(f"{person.get('name') or address} ({' and '.join(parts)})")
    if not changes:
        return None
    usual = " and ".join(filter(None, (f"'{greeting} NAME,'" if greeting else "",
                                       f"'{_quoted(signoff)}'" if signoff else ""))) or "no greeting or sign-off"
    return f"Usually {usual}; changes register for " + ", ".join(changes[:4]) + "."


# -- the stored profile --------------------------------------------------------------------------

@dataclass
class StyleProfile:
    """The person's email style (the keys `profile show --json` has always had), with each
    context's and correspondent's figures and notes as read from the store."""

    emails: int = 0
    median_words: int = 0
    greetings: list[tuple[str, int]] = field(default_factory=list)
    signoffs: list[tuple[str, int]] = field(default_factory=list)
    per_100_words: dict[str, float] = field(default_factory=dict)
    phrases: list[str] = field(default_factory=list)
    correspondents: list[tuple[str, int]] = field(default_factory=list)
    # address → name, emails (how many went to them), greeting, sign-off, and the group's figures
    by_correspondent: dict[str, dict] = field(default_factory=dict)
    # context (email, chat, document) → figures and notes
    contexts: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def writing_context(self) -> str:
        """The first of `WRITING_CONTEXTS` that holds a text of the person's ("email" when none does)."""
        return next((c for c in WRITING_CONTEXTS if self.contexts.get(c, {}).get("docs")), "email")

    def notes(self, recipient: str | None = None) -> list[str]:
        """Plain-language style notes for a prompt, specific to `recipient` where known. With no
        email of the person's indexed, those of their documents or chats (`writing_context`),
        headed with where they come from and without their length: a note's length is no email's."""
        context = self.writing_context()
        data = self.contexts.get(context)
        if not data:
            return []
        noun = CONTEXT_NOUNS[context]
        if context != "email":
            return [f"(From {data['docs']} of their own {noun}: no email of theirs is indexed.)"] + [
                n for n in data["notes"] if not n.startswith(("Keeps ", f"Writes {noun} of about"))]
        specific = self._for(recipient)
        notes = list(data["notes"])
        if specific.get("docs", 0) >= 2:  # their own habits with this person, then the general ones
            kinds = ("Opens with", "Sometimes opens", "Usually starts", "No greeting", "Signs off", "Keeps", "Writes ",
                     "Usually '")
            notes = ([f"To {specific.get('name') or recipient} (from {specific['docs']} {noun} to them):"]
                     + [n for n in group_notes(specific, noun) if n.startswith(kinds)]
                     + [n for n in notes if not n.startswith(kinds)])
        elif greeting := specific.get("greeting"):
            notes = [f"Opens with a greeting like '{greeting} NAME,'."] + [
                n for n in notes if not n.startswith(("Opens with", "Sometimes opens", "Usually starts"))]
        return notes

    def habits(self, recipient: str | None = None, reply: bool = False) -> tuple[str | None, str | None]:
        """(greeting, sign-off) the person uses with `recipient` as a habit, None for each they write
        without, decided as `notes` tells the model: their habits with this person where there are
        two or more emails to go by (else a greeting they used with them), then the general ones."""
        group, greeting, signoff = self._habit_group(recipient)
        return (None if reply and ungreeted_replies(group) else greeting), signoff

    def greets_sometimes(self, recipient: str | None = None, reply: bool = False) -> bool:
        """Whether the person greets `recipient` (with under two emails to them: anyone) at times, not as
        a habit (`greets_at_times`): a draft's greeting is then neither added nor dropped."""
        group, greeting, _ = self._habit_group(recipient)
        return not greeting and greets_at_times(group) and not (reply and ungreeted_replies(group))

    def _habit_group(self, recipient: str | None) -> tuple[dict, str | None, str | None]:
        """(the figures whose habits hold with `recipient`: theirs where two or more emails to them go by,
        else the general ones; the greeting, a greeting they used with them standing first; the sign-off)."""
        general = self.contexts.get("email") or {}
        specific = self._for(recipient)
        if specific.get("docs", 0) >= 2:
            return specific, usual_greeting(specific), usual_signoff(specific)
        return general, specific.get("greeting") or usual_greeting(general), usual_signoff(general)

    def _for(self, recipient: str | None) -> dict:
        """The habits for whom `recipient` names (`recipients.matches`), the most written-to first."""
        if not recipient:
            return {}
        found = [habits for address, habits in self.by_correspondent.items()
                 if recipients.matches(recipient, address, habits.get("name", ""))]
        return max(found, key=lambda habits: habits.get("emails", 0), default={})


def stored_style(db) -> StyleProfile:
    """The person's style as last refreshed (`assistant.profile.refresh.refresh_style`)."""
    contexts: dict[str, dict] = {}
    people: dict[str, dict] = {}
    for row in db.execute("SELECT context, correspondent, data FROM style_profile ORDER BY docs DESC, correspondent"):
        data = json.loads(row[2])
        if not row[1]:
            contexts[row[0]] = data
        elif row[0] == "email":
            people[row[1]] = data
    email = contexts.get("email")
    if not email:
        return StyleProfile(contexts=contexts)
    by_correspondent = {}
    for address, data in people.items():
        entry = {"name": data.get("name", ""), "emails": data["docs"], **data}
        if data["greetings"]:
            entry["greeting"] = data["greetings"][0][0]
        if data["signoffs"]:
            entry["signoff"] = data["signoffs"][0][0]
        by_correspondent[address] = entry
    return StyleProfile(
        emails=email["docs"],
        median_words=email["words"]["median"],
        greetings=[tuple(g) for g in email["greetings"]],
        signoffs=[tuple(s) for s in email["signoffs"]],
        per_100_words=email["per_100_words"],
        phrases=[p["phrase"] for p in email.get("phrases", [])],
        correspondents=[(address, data["docs"]) for address, data in list(people.items())[:8]],
        by_correspondent=by_correspondent,
        contexts=contexts,
    )
