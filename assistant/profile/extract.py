"""Candidate facts from one passage the person wrote: self-disclosure patterns, or a capable model.

Both paths read only text the caller vouches is the person's own (`author_is_me`); neither
looks at names, addresses or who someone writes to, so nothing sensitive is guessed from
demographics: a sensitive category comes only from words the person wrote about themselves.

The embedded path is rules over sentences. Typed disclosures ("I live in…", "I'm allergic
to…", "I work at…", "I love/hate/prefer…", "I don't eat…", "my sister…") carry a category
and, for states that change, a subject ("home", "employer", "pref:coffee") that lets a newer
statement supersede an older one. Any other plain statement of what the person did, has or is
becomes a low-confidence `life` fact: one opening in the first person, also after a time or an
aside ("Last week I…", "By the way, I…"), with someone ("Max and I…"), or with the "I" dropped
as chat does ("Been restoring a car"); or one about something of theirs ("Painting keeps my
mind calm") unless it opens on a pronoun whose referent is in another sentence. Plans, hedges,
questions, politeness, requests and arrangements ("I'll send it", "I think", "I'm sorry",
"Please let me know", "Our team is available any weekday morning") are left out, and so are
fragments: no clause after a preposition ("For the clay problem, and for my own sanity"), a short
statement about a pronoun whose referent is elsewhere ("I keep giving it back unread"), thanks,
a plan for something of theirs ("My partner may join too"), a list of figures (an order). A
relative ("my sister…") makes a family fact only as the sentence's subject. Each rule was
kept only if it raised LoCoMo recall without costing evidence precision on the benchmark's
`tune` half (`benchmarks/facts_bench.py`).

The capable path asks a larger model for JSON that a grammar constrains to `FACTS_SCHEMA`;
each proposition must quote its passage, so a fact the text does not support is dropped.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

CATEGORIES = ("home", "work", "diet", "preference", "family", "pets", "language", "hobby", "life",
              "health", "religion", "politics", "sexuality", "ethnicity", "finances")
# Words that put a proposition about the person in a sensitive category, whatever pattern found it.
_SENSITIVE_WORDS = {
    "health": r"allerg\w*|diagnos\w*|diabet\w*|asthma|cancer|depress\w*|anxiety|adhd|autis\w*|therap\w*|"
              r"medication|pregnan\w*|surgery|illness|chronic|migraine\w*|intoleran\w*|celiac|coeliac|"
              r"mental health|disorder|sober|sobriety",
    "religion": r"christian|muslim|jewish|hindu|buddhist|atheist|catholic|church|mosque|synagogue|temple|pray\w*|faith",
    "politics": r"democrat\w*|republican\w*|conservative|liberal|labour|tory|socialist|vote[ds]?|voting|election",
    "sexuality": r"gay|lesbian|bisexual|queer|transgender|trans woman|trans man|lgbt\w*|non-binary|asexual",
    "ethnicity": r"ethnic\w*|my heritage|my race",
    "finances": r"salary|debt|mortgage|loan|income|bankrupt\w*|savings|paycheck|credit score|broke\b",
}
_SENSITIVE = {category: re.compile(rf"\b(?:{words})\b", re.I) for category, words in _SENSITIVE_WORDS.items()}

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*|\s+[—–]\s+|;\s+")
_OBJECT = r"(?P<obj>[^,.;:!?()\n]{2,60}?)"
_WHEN = (r"\bin (?:january|february|march|april|may|june|july|august|september|october|november|december|"
         r"\d{4}|spring|summer|autumn|fall|winter|the (?:spring|summer|autumn|fall|winter))\b")
_END = (r"(?=\s*(?:[,.;:!?()\n]|\s[—–]\s|\band\b|\bbut\b|\bbecause\b|\bso\b|\bsince\b|\bnow\b|\blast\b|"
        rf"\bthis\b|\bnext\b|\bafter\b|\bbefore\b|\bago\b|\byesterday\b|\btoday\b|{_WHEN}|$))")
_I = r"(?:^|\b)(?:i|we)"

# (category, subject template or None, proposition template, pattern). `{obj}` is the matched object.
_TYPED: list[tuple[str, str | None, str, re.Pattern]] = [
    ("health", "allergy:{key}", "Is allergic to {obj}",
     re.compile(rf"{_I}(?:'m| am)\s+(?:(?:very|severely|quite|really)\s+)?allergic to {_OBJECT}{_END}", re.I)),
    ("diet", "diet", "Is {obj}",
     re.compile(r"\bi(?:'m| am)\s+(?:now\s+|a\s+|an\s+|fully\s+|strictly\s+|mostly\s+)*"
                r"(?P<obj>vegetarian|vegan|pescatarian|pescetarian|plant-based|keto|gluten-free|teetotal)\b", re.I)),
    ("diet", "avoid:{key}", "Does not eat {obj}",
     re.compile(rf"\bi (?:don't|do not|never|can't|cannot|no longer) (?:eat|drink|touch) {_OBJECT}{_END}", re.I)),
    ("home", "home", "Lives in {obj}",
     re.compile(rf"{_I} (?:now |currently |still )?(?:live|'re living|'m living|am living|are living) in {_OBJECT}{_END}",
                re.I)),
    ("home", "home", "Lives in {obj}",
     re.compile(rf"{_I}(?:'ve| have)? (?:just |recently |finally )?(?:moved|relocated) (?:to|into) {_OBJECT}{_END}", re.I)),
    ("work", "employer", "Works at {obj}",
     re.compile(rf"\bi(?:'m| am)? (?:now |currently |still )?(?:work|working) (?:at|for) {_OBJECT}{_END}", re.I)),
    ("work", "employer", "Works at {obj}",
     re.compile(rf"\bi(?:'ve| have)? (?:just |recently )?(?:started at|started working at) {_OBJECT}{_END}", re.I)),
    ("work", "occupation", "Works as {obj}",
     re.compile(rf"\bi (?:work|'m working|am working) as {_OBJECT}{_END}", re.I)),
    ("work", "occupation", "Is {obj}",
     re.compile(r"\bi(?:'m| am) (?P<obj>an? (?:[a-z-]+ ){0,2}(?:architect|engineer|teacher|nurse|designer|developer|"
                r"lawyer|doctor|accountant|writer|artist|scientist|researcher|student|manager|consultant|"
                r"programmer|chef|pharmacist|therapist|counselor|counsellor|professor|journalist|photographer|"
                r"musician|analyst|librarian|electrician|plumber|carpenter|farmer|pilot|paramedic|firefighter|"
                r"veterinarian|vet|dentist|social worker|entrepreneur|freelancer))\b", re.I)),
    ("preference", "pref:{key}", "{verb} {obj}",
     re.compile(rf"\bi (?:really |absolutely |just |totally |still |now |much |do )?"
                rf"(?P<verb>love|adore|enjoy|like|prefer|hate|dislike|detest|can't stand|cannot stand|avoid)"
                rf" {_OBJECT}{_END}", re.I)),
    ("language", "lang:{key}", "Speaks {obj}",
     re.compile(r"\b[Ii] speak (?P<obj>(?:some |fluent |a bit of |basic )?[A-Z][a-z]+(?: and [A-Z][a-z]+)?)")),
    ("language", "learning:{key}", "Is learning {obj}",
     re.compile(r"\b[Ii](?:'m| am) (?:learning|studying) (?P<obj>(?:European |Brazilian |Mandarin )?[A-Z][a-z]+)")),
    ("family", None, "{obj}",
     re.compile(r"\bmy (?P<kind>wife|husband|partner|daughter|son|sister|brother|mother|mum|mom|father|dad|"
                r"girlfriend|boyfriend|fiancée?|twins?|grandmother|grandfather|niece|nephew|kids|children|"
                r"dog|cat|puppy|kitten|horse|rabbit|parrot)\b(?P<obj>.*)", re.I)),
]
_VERB_TEXT = {"love": "Loves", "adore": "Loves", "enjoy": "Enjoys", "like": "Likes", "prefer": "Prefers",
              "hate": "Hates", "dislike": "Dislikes", "detest": "Hates", "can't stand": "Hates",
              "cannot stand": "Hates", "avoid": "Avoids"}
_PETS = ("dog", "cat", "puppy", "kitten", "horse", "rabbit", "parrot")
# A preference whose object is an action or a pronoun is talk, not a preference ("I like that idea").
_NOT_A_PREFERENCE = re.compile(r"^(?:it|that|this|them|you|your|the idea|to hear|hearing|what|how|when|"
                               r"the sound|the look|seeing|reading your|being able|"
                               r"to (?:say|think|hear|know|see|imagine|believe|tell|ask))\b",
                               re.I)

# First-person statements that are not facts about the person: plans, hedges, feelings about the talk itself.
_NOT_A_FACT = re.compile(
    r"^(?:i|we)(?:'ll|'d|(?: \w+ly)?(?: will| would| could| can| should| might| may| must| shall| guess| think| hope|"
    r" wonder| mean|"
    r" know| see| agree| bet| suppose| believe| feel like| wish| understand| appreciate| doubt| assume| promise))\b|"
    r"^(?:i|we)(?:'m| am| are|'re) (?:so |really |very )?(?:sorry|glad|happy to|sure|not sure|afraid|going to|gonna|"
    r"about to|looking forward|excited to hear|curious|wondering|thinking|just checking|checking|following up|"
    r"writing|attaching|sending|forwarding|copying|on it|here|back|around|in|out|free|available|late|pleased|"
    r"delighted|thrilled to|happy for|proud of you|with you|in touch|still waiting)\b|"
    r"^(?:i|we)(?:'ve| have) (?:attached|cc'd|copied|forwarded|sent|included)\b",
    re.I,
)
# A sentence that speaks to the reader ("your", "you'd") is about the exchange more than the writer.
_ADDRESSED = re.compile(r"\b(?:you|your|you'd|you're|you'll|yours)\b", re.I)
# Openers that carry no content: "Yeah, I painted that" is "I painted that".
_INTERJECTION = re.compile(r"^(?:(?:yeah|yes|yep|wow|oh|ah|aw+|haha+|lol|well|so|and|but|actually|honestly|"
                           r"totally|true|right|okay|ok|hey|hi|thanks|thank you|omg|ugh|hmm+|sure|cool|nice|"
                           r"great|awesome|absolutely|definitely|of course|btw|anyway|plus|also)\b[,!.]?\s+)+", re.I)
# A short time or discourse phrase, or a name addressed, before the subject: "Last week I won…",
# "By the way, I bought…", "Sam, I went…".
_TIME = (r"(?:last|this|next|past|earlier this|later this) (?:week|weekend|month|year|night|summer|winter|spring|fall|"
         r"autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|today|tonight|lately|recently|"
         r"this (?:morning|afternoon|evening)|the other day|over the weekend|a (?:few|couple of) (?:days|weeks|months|"
         r"years) ago|(?:\w+ )?(?:days?|weeks?|months?|years?) ago|in (?:the )?\w+|on \w+|a while back|back then|"
         r"when i was (?:a kid|young|little|younger)|as a (?:kid|child)")
_LEAD = re.compile(rf"^(?:(?:{_TIME}|by the way|as for me|for me|personally|for example|for instance|anyway|"
                   rf"guess what|speaking of \w+(?: \w+)?|funny enough|to be honest|in fact|also|and|but|so|plus|"
                   rf"even|just|now|then|finally|after (?:that|all)|at first|at the moment|right now|"
                   rf"(?-i:[A-Z][a-z]+(?=,)))[,:!]?\s+)+"
                   rf"(?=(?:i|i'm|i've|i'd|we|we're|we've|my|our|me and)\b)", re.I)
# "Max and I love…", "me and my neighbor ran…": the person with someone, written "they and Max…".
_WITH = re.compile(r"^(?:me and (?P<a>(?:my )?\w+)|(?P<b>(?:my )?[\w-]+(?: [A-Z]\w+)?) and (?:i|me))\b(?P<rest>.*)",
                   re.I)
_SPEAKER = re.compile(r"^(?:i|i'm|i've|i'd|we|we're|we've)\b|" + _WITH.pattern, re.I)  # the person as the subject
_FIRST_PERSON = re.compile(r"^(?:i|i'm|i've|i'd|we|we're|we've|my|our)\b|" + _WITH.pattern, re.I)
# A sentence opening on a past tense or "been" has dropped its "I" ("Made this soup last night").
_DROPPED_I = re.compile(r"^(?:(?:just|finally|recently|never|always|also|actually)\s+)?"
                        r"(?P<verb>been(?! a\b| an\b| ages\b)|"
                        r"[a-z]+ed|had|went|got|made|took|saw|found|bought|met|began|ran|wrote|spent|built|won|"
                        r"lost|started|finished|tried|visited)\s+"
                        r"(?!(?:it|that|this|you|is|was|are|were|looks|seems)\b)", re.I)
_MINE = re.compile(r"\b(?:my|myself)\b", re.I)
# Opens on a word whose referent is elsewhere ("It was a big step for my career").
_ANAPHORIC = re.compile(r"^(?:it|this|that|these|those|they|he|she|there)(?:\b|'s)", re.I)
# A request to the reader, however it is worded: "Please let me know", "Count me in", "Ping me if…".
_REQUEST = re.compile(r"^(?:please|kindly|let (?:me|us)|let's|count me|ping me|tell me|give me|send me|drop me|"
                      r"keep me|remind me|call me|text me|email me|ask me|have a (?:read|look)|take a look|"
                      r"feel free|do let)\b", re.I)
# Arrangements about the exchange, not facts about the person: availability, dates and times to meet,
# attachments, payments ("Our team is available any weekday morning").
_LOGISTICS = re.compile(r"\b(?:as (?:discussed|agreed|promised)|available|availability|on (?:my|our) end|"
                        r"attached|enclosed|invoice\w*|"
                        r"payment|deposit|net-\d+|site visit|arrange|\d{1,2}(?::\d\d)?\s?(?:am|pm)|"
                        r"by (?:next )?(?:monday|tuesday|wednesday|thursday|friday|the \d{1,2}(?:st|nd|rd|th)))\b",
                        re.I)
# A clause of thanks tacked onto a statement ("…, and cheers for keeping the pesto aside") is said to the reader.
_THANKS_TAIL = re.compile(r",?\s+(?:and|but|so)\s+(?:cheers|thanks|thank you)\b.*$", re.I)
_THANKS = re.compile(r"\b(?:cheers|thanks|thank you|thx)\b", re.I)
# A sentence opening on a preposition or conjunction with no clause in it is a fragment of another
# ("For the clay problem, and for my own sanity").
_FRAGMENT_OPENER = re.compile(r"^(?:for|with|to|in|at|on|from|about|of|by|like|as|and|or|because|after|before|"
                              r"during|without|than)\b", re.I)
_CLAUSE = re.compile(r"\b(?:i|we|you|he|she|it|they|this|that|there|is|are|was|were|be|been|has|have|had|do|does|"
                     r"did|can|could|will|would)\b|'s\b|'re\b|\b\w+ed\b", re.I)
# A short statement whose object is a pronoun says nothing without the sentence its referent is in
# ("Keeps giving it back unread", "Has said yes to both").
_LEANS_ON_REFERENT = re.compile(r"\b(?:it|them|both|him|her)\b", re.I)
_SHORT = 6
# "My partner may join too": a plan or a guess about something of theirs, as "I'll…" is about them.
_MODAL = re.compile(r"\b(?:will|would|may|might|could|should|shall)\b|'ll\b", re.I)
# Three or more figures make a specification (an order, a quote), not a statement about the person.
_FIGURES = re.compile(r"\d+")
_ADVERBS = frozenset("just also really finally recently still never always usually often already actually even "
                     "totally definitely truly only ever sometimes mostly now currently".split())
_PRESENT_3RD = {"have": "has", "do": "does", "go": "goes", "am": "is", "'m": "is", "'ve": "has", "are": "are",
                "wanna": "wants to", "haven't": "hasn't", "don't": "doesn't"}
_PRONOUNS = [(r"\bI was\b", "they were"), (r"\bI am\b", "they are"), (r"\bI'm\b", "they're"),
             (r"\bI've\b", "they've"), (r"\bI'd\b", "they'd"), (r"\bI\b", "they"),
             (r"\bmyself\b", "themselves"), (r"\bmy\b", "their"), (r"\bme\b", "them"), (r"\bmine\b", "theirs")]


@dataclass
class Candidate:
    """A proposition about the person, found in one passage."""

    text: str
    category: str
    subject: str | None
    confidence: float
    sensitive: bool = False


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def sentences(text: str) -> list[str]:
    text = text.translate(_APOSTROPHES)  # "I’m", "I`m" read as "I'm"
    return [s.strip(" \t\"'“”") for s in _SENTENCE.split(text) if len(s.split()) >= 2]


def sensitive_category(text: str) -> str | None:
    for category, pattern in _SENSITIVE.items():
        if pattern.search(text):
            return category
    return None


def _key(obj: str) -> str:
    """The subject key of an object phrase: its words without articles or possessives, lower case."""
    head = re.split(r"\b(?:in|on|at|with|for|from|when|during|over|instead|rather|than|as)\b", obj.lower())[0]
    words = [w for w in re.findall(r"[a-z0-9'-]+", head) if w not in {"a", "an", "the", "my", "some", "any", "their"}]
    return " ".join(words[:3])


def _clean(obj: str) -> str:
    obj = re.sub(r"^(?:the|a|an)\s+(?=[A-Z])", "", obj.strip())
    return re.sub(r"\s+", " ", obj).strip(" -—'\"")


def typed(sentence: str) -> list[Candidate]:
    found = []
    for category, subject, template, pattern in _TYPED:
        for match in pattern.finditer(sentence):
            obj = _their(_clean(match.group("obj")))
            if not obj or (len(obj.split()) > 8 and category != "family"):
                continue
            groups = match.groupdict()
            if category == "preference":
                if _NOT_A_PREFERENCE.match(obj) or len(obj) < 3:
                    continue
                text = template.format(verb=_VERB_TEXT[groups["verb"].lower()], obj=obj)
                if re.match(r"(?:to \w+|\w+ing)\b", obj, re.I):
                    # An activity ("I love taking walks on this trail"): the whole clause, not its cut-off head.
                    text = third_person(sentence[match.start():])
                # The object is the subject: "loves coffee" then "hates coffee" is one preference changed.
                subject_key = subject.format(key=_key(obj))
            elif category == "family":
                # "my sister lives in Leeds" → "Their sister lives in Leeds"; a bare mention says too little.
                # Only as the sentence's subject: "I took my puppy to the clinic" is the person's doing
                # (the general rule's), not "Their puppy to the clinic".
                if len(obj.split()) < 2 or match.start() != len(sentence) - len(_opening(sentence)):
                    continue
                kind = groups["kind"].lower()
                text = third_person(sentence[match.start():])
                found.append(_candidate(sentence, text, "pets" if kind in _PETS else "family", None, 0.6))
                continue
            else:
                text = template.format(obj=obj)
                subject_key = subject.format(key=_key(obj)) if subject else None
            found.append(_candidate(sentence, text, category, subject_key, 0.8))
    return found


def _candidate(sentence: str, text: str, category: str, subject: str | None, confidence: float) -> Candidate:
    sensitive = sensitive_category(text) or (sensitive_category(sentence) if category == "health" else None)
    if sensitive:
        category = sensitive
    return Candidate(text=text[0].upper() + text[1:], category=category, subject=subject, confidence=confidence,
                     sensitive=bool(sensitive))


def third_person(sentence: str) -> str:
    """'I went to the coast with my kids' → 'Went to the coast with their kids' (the person is implied)."""
    if with_whom := _WITH.match(sentence):
        who = with_whom['a'] or with_whom['b']
        sentence = f"they and {who[:1].lower() if who[:2].lower() == 'my' else who[:1]}{who[1:]}{with_whom['rest']}"
    words = sentence.split()
    first, rest = words[0].lower(), words[1:]
    if first in ("i", "we") and rest:
        at = 0  # the verb, after any adverbs ("I totally agree", "I even got")
        while at < len(rest) - 1 and (rest[at].lower().endswith("ly") or rest[at].lower() in _ADVERBS):
            at += 1
        verb = rest[at].lower()
        if verb in _PRESENT_3RD:
            rest[at] = _PRESENT_3RD[verb] if first == "i" else verb
        elif first == "i" and re.fullmatch(r"[a-z]+", verb) and not verb.endswith("ed") and verb not in _PAST:
            rest[at] = _third_singular(verb)
    elif first in ("i'm", "we're"):
        rest = ["is", *rest]
    elif first in ("i've", "we've"):
        rest = ["has", *rest]
    elif first == "i'd":
        rest = ["would", *rest]
    elif first in ("my", "our"):
        rest = ["their", *rest]
    else:
        rest = words
    text = _their(" ".join(rest)).strip().rstrip(".!…")
    return text[:1].upper() + text[1:]


def _their(text: str) -> str:
    """The person's own words about themselves in the third person: "my" → "their", "I" → "they"."""
    for pattern, replacement in _PRONOUNS:
        text = re.sub(pattern, replacement, text)
    return text


_PAST = frozenset("was were had went got made took saw felt found came bought met began ran wrote read said "
                  "told gave left kept thought heard became brought sat stood won lost grew drove flew rode "
                  "swam sang taught caught spent built sent fell broke chose forgot hid held knew led lent "
                  "meant paid put quit set shut slept sold spoke stuck threw understood woke wore".split())


def _third_singular(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "o", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _opening(sentence: str) -> str:
    """The sentence from its subject on: "Yeah, last week I…" → "I…"."""
    return _LEAD.sub("", _INTERJECTION.sub("", sentence))


def general(sentence: str) -> Candidate | None:
    """A plain statement of what the person did, has or is, as a low-confidence `life` fact: one that
    opens in the first person (after any "Last week," or "By the way,"), or one about something of
    theirs ("Painting is how I relax", "The group made me feel accepted") that does not open on a
    pronoun whose referent is in another sentence."""
    sentence = _THANKS_TAIL.sub("", _opening(sentence))
    if dropped := _DROPPED_I.match(sentence):  # chat drops the subject: "Been restoring a vintage car"
        sentence = ("I've " if dropped["verb"].lower() == "been" else "I ") + sentence[:1].lower() + sentence[1:]
    about_me = _FIRST_PERSON.match(sentence) or (_MINE.search(sentence) and not _ANAPHORIC.match(sentence))
    if "?" in sentence or not about_me or _NOT_A_FACT.match(sentence) or _ADDRESSED.search(sentence) \
            or _REQUEST.match(sentence) or _LOGISTICS.search(sentence) or _THANKS.search(sentence) \
            or len(_FIGURES.findall(sentence)) >= 3:
        return None
    if not 4 <= len(sentence.split()) <= 40 or (_MODAL.search(sentence) and not _SPEAKER.match(sentence)):
        return None
    if _FRAGMENT_OPENER.match(sentence) and not _CLAUSE.search(sentence):
        return None
    text = re.sub(r"\s*\([^)]*\)", "", third_person(sentence))  # an aside: "(well, at the lights)"
    if len(text.split()) <= _SHORT and _LEANS_ON_REFERENT.search(text):
        return None
    return _candidate(sentence, text, "life", None, 0.4)


def embedded_candidates(text: str) -> list[Candidate]:
    """Every candidate fact in one passage the person wrote, typed disclosures first."""
    found: list[Candidate] = []
    for sentence in sentences(text):
        found_typed = typed(sentence)
        found.extend(found_typed)
        if not found_typed and (candidate := general(sentence)):
            found.append(candidate)
    return found


# -- the capable-model path ----------------------------------------------------------------------

FACTS_SCHEMA = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "passage": {"type": "integer", "minimum": 1},
                    "quote": {"type": "string", "minLength": 3},
                    "text": {"type": "string", "minLength": 3, "maxLength": 200},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "subject": {"type": ["string", "null"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "supersedes": {"type": ["integer", "null"]},
                },
                "required": ["passage", "quote", "text", "category", "subject", "confidence", "supersedes"],
            },
        }
    },
    "required": ["facts"],
}

_INSTRUCTIONS = """You extract facts about one person from passages they wrote themselves.
Only facts about the writer (where they live, work, what they eat, like or dislike, family, pets, \
languages, hobbies, what happened in their life), stated in the passage. Never guess from names. \
Ignore what the writer says about other people, plans, questions and pleasantries.
For each fact: `passage` (its number), `quote` (the exact words of the passage it rests on), \
`text` (a short third-person proposition without the person's name, e.g. "Lives in Denver"), \
`category` (one of: {categories}), `subject` (a short key for a state that can change, e.g. "home", \
"employer", "diet", "pref:coffee"; null otherwise), `confidence` (0 to 1), and `supersedes` (the id \
of a known fact below that this one replaces because the state changed, else null).
Known facts:
{known}"""


@dataclass
class ModelFact:
    passage: int
    candidate: Candidate
    supersedes: int | None


def model_candidates(generator, passages: list[str], known: dict[int, str], max_tokens: int = 768) -> list[ModelFact]:
    """Facts a capable model finds in `passages`, through JSON constrained to `FACTS_SCHEMA`.

    A reply that is not valid JSON for the schema is asked for once more; a second failure is
    logged with its reason and the batch yields nothing. A fact whose quote is not in its passage,
    or that names a passage or known fact that does not exist, is dropped (logged).
    """
    known_text = "\n".join(f"#{i}: {text}" for i, text in known.items()) or "(none)"
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(passages, 1))
    messages = [
        {"role": "system", "content": _INSTRUCTIONS.format(categories=", ".join(CATEGORIES), known=known_text)},
        {"role": "user", "content": numbered},
    ]
    reasons = []
    for _ in range(2):
        reply = generator.json(messages, FACTS_SCHEMA, max_tokens=max_tokens)
        data, reason = _validated(reply)
        if data is not None:
            return _grounded(data["facts"], passages, known)
        reasons.append(reason)
    log.warning("fact extraction skipped %d passage(s): the model's JSON was invalid twice (%s)",
                len(passages), "; ".join(reasons))
    return []


def _validated(reply: str) -> tuple[dict | None, str]:
    import jsonschema

    try:
        data = json.loads(reply)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at char {exc.pos}"
    try:
        jsonschema.validate(data, FACTS_SCHEMA)
    except jsonschema.ValidationError as exc:
        return None, f"schema: {exc.message[:120]}"
    return data, ""


def _squash(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _grounded(items: list[dict], passages: list[str], known: dict[int, str]) -> list[ModelFact]:
    kept = []
    for item in items:
        n = item["passage"]
        if n > len(passages) or _squash(item["quote"]) not in _squash(passages[n - 1]):
            log.info("dropped model fact %r: its quote is not in passage %d", item["text"], n)
            continue
        supersedes = item["supersedes"] if item["supersedes"] in known else None
        candidate = _candidate(item["quote"], item["text"], item["category"], item["subject"] or None,
                               float(item["confidence"]))
        kept.append(ModelFact(passage=n - 1, candidate=candidate, supersedes=supersedes))
    return kept
