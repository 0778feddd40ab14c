"""Several candidate drafts, and which one to keep.

A small instruction model either keeps to the request and loses the voice, or keeps the voice
and drifts. `[draft] candidates = N` drafts N times from the same prompt (its KV state is reused,
so each extra candidate costs its generation only) and keeps the one that ranks best on two
or three of the system's own scores, summed as ranks so no scale dominates:

- voice: how much closer the candidate is to the person's own mail than to the nearest of the
  others' in the store: all of it pooled, or one of those who write to them most
  (`store_stylometer`, a nearest-centroid `Stylometer` fitted on samples of each);
- coverage: the share of the request's content words the candidate uses;
- length, when the prompt asked for one (the person's usual length, or room for each point of the
  request): how near the candidate's word count is to it. A small model stops well short of the
  length it is told, and the shortest candidate is often the one that says least of the request.

A candidate closer to someone else's mail than to the person's ranks below every one that is
not (a draft that reads as someone else's is the failure a person notices first), and when none
sounds like the person, up to `[draft] more_candidates` more are written, one at a time, until
one does (`more_in_voice`); most requests never need the extra time.

A candidate that copies more than `copying.MAX_COPIED_WORDS` words of a text it was shown,
echoes the prompt's data tags, lists the request's words back (a comma or semicolon list, or the
words strung together: these score full coverage and say nothing), or refuses to write, ranks
below every one that does not.
"""

from __future__ import annotations

import random
import re
from email.utils import parseaddr

from assistant.generation.copying import MAX_COPIED_WORDS, CopyIndex
from assistant.generation.no_draft import echoes, refuses

# Texts each voice in the voice model is fitted on (the person's, all others' pooled, and each
# frequent correspondent's): on the Enron dev senders' held-out mail 400 took another sender's
# email for the person's 7.7% of the time where 120 (40 per correspondent) did 11.9%; ~1.3 s to fit.
SAMPLE = 400
MIN_AUTHOR_EMAILS = 20  # others' emails one writer needs for a voice of their own in `store_stylometer`
MAX_AUTHORS = 4
_CONTENT = re.compile(r"[a-z][a-z'-]*[a-z]")
_DATA_TAG = re.compile(r"</?(?:email|passage|fact|incoming)\b")  # the prompt's quoting, echoed: not a draft
# the request echoed, not written: six single words in a comma or semicolon list, or five short
# phrases (three words at most) between semicolons
_LISTED = re.compile(r"(?:\b[\w'-]+[,;] ){5,}[\w'-]+|(?:[\w'()-]+(?: [\w'()-]+){0,2}; ){4,}[\w'()-]+")
MAX_CONTENT_ZIPF = 5.4  # words as common as "please", "today" or "about" say nothing of the topic


def content_words(text: str, limit: int | None = None, exclude: set[str] = frozenset()) -> list[str]:
    """The topical words of `text` in order of first use: no function words, nothing as common
    as "about"; with `limit`, the rarest `limit` of them, still in order."""
    from wordfreq import zipf_frequency

    found = {}
    for word in _CONTENT.findall(text.lower()):
        if word not in found and word not in exclude and len(word) > 2:
            zipf = zipf_frequency(word, "en")
            if zipf < MAX_CONTENT_ZIPF:
                found[word] = zipf
    if limit is not None and len(found) > limit:
        keep = set(sorted(found, key=found.get)[:limit])
        return [w for w in found if w in keep]
    return list(found)


def coverage(draft: str, wanted: list[str]) -> float:
    """The share of `wanted` words that `draft` uses (an inflected form counts: "meet" in "meeting")."""
    if not wanted:
        return 1.0
    have = set(_CONTENT.findall(draft.lower()))
    return sum(any(w == h or (len(w) > 3 and h.startswith(w)) for h in have) for w in wanted) / len(wanted)


_FITTED: dict[tuple, object] = {}


def store_stylometer(assistant):
    """A `Stylometer` with the labels "me" (the person's own mail, or with none indexed their own
    documents or chats: `StyleProfile.writing_context`), "others" (a sample of all mail others
    wrote) and, for each of the `MAX_AUTHORS` others who wrote them the most mail (at least
    `MIN_AUTHOR_EMAILS`), their address: a draft should sound like the person rather than like
    anyone who writes to them, and a colleague's voice is lost in the pooled sample. Fitted once
    per store state and kept for the process."""
    from assistant.profile.refresh import current_style
    from assistant.profile.style import KINDS
    from assistant.profile.stylometry import Stylometer

    db = assistant.db
    key = (str(assistant.home.db_path), *db.execute("SELECT count(*), max(id) FROM documents").fetchone())
    if key in _FITTED:
        return _FITTED[key]
    meter = Stylometer()
    kind = KINDS[current_style(db).writing_context()]
    mine = [r[0] for r in db.execute("SELECT id FROM documents WHERE kind = ? AND author_is_me = 1 ORDER BY id",
                                     [kind])]
    by_author: dict[str, list[int]] = {}
    for author, ids in db.execute("SELECT author, group_concat(id) FROM documents WHERE kind = 'mail' AND "
                                  "author_is_me = 0 GROUP BY author"):
        by_author.setdefault(parseaddr(author or "")[1].lower(), []).extend(map(int, ids.split(",")))
    theirs = [doc_id for ids in by_author.values() for doc_id in ids]
    frequent = sorted((a for a, ids in by_author.items() if a and len(ids) >= MIN_AUTHOR_EMAILS),
                      key=lambda a: (-len(by_author[a]), a))[:MAX_AUTHORS]
    for label, ids in [("me", mine), ("others", sorted(theirs))] + [(a, sorted(by_author[a])) for a in frequent]:
        texts = _texts(db, random.Random(0).sample(ids, min(SAMPLE, len(ids))))
        if texts:
            meter.fit_texts(label, texts)
    _FITTED.clear()
    _FITTED[key] = meter
    return meter


def _texts(db, ids: list[int]) -> list[str]:
    """Each document's chunks joined."""
    return [t for (t,) in db.execute(
        f"SELECT group_concat(text, '\n\n') FROM (SELECT document_id, text FROM chunks WHERE document_id IN "
        f"({','.join('?' * len(ids))}) ORDER BY document_id, position) GROUP BY document_id", ids) if t]


def voice(meter, text: str) -> float:
    """How much closer `text` is to the person's own writing than to the nearest of the others'."""
    scores = meter.scores(text)
    me = scores.pop("me", 0.0)
    return me - max(scores.values(), default=0.0)


def in_voice(meter, score: float) -> bool:
    """Whether a `voice` score reads as the person's: above 0 (nearer their mail than anyone else's),
    or any score when the store holds no one else's writing to be nearer to."""
    return len(meter.labels) < 2 or score > 0


def pick(candidates: list[str], instruction: str, meter, shown: list[str], length: int | None = None) -> int:
    """The index of the candidate to keep (see the module's ranking); `length`: the words asked for."""
    if len(candidates) == 1:
        return 0
    wanted = content_words(instruction)
    copies = CopyIndex(shown)
    pasted = [not_writing(c, copies, wanted) for c in candidates]
    voices = [voice(meter, c) for c in candidates] if meter.labels else [0.0] * len(candidates)
    elsewhere = [not in_voice(meter, v) for v in voices]
    by_voice = ranks(voices)
    by_coverage = ranks([coverage(c, wanted) for c in candidates])
    by_length = ranks([-abs(len(c.split()) - length) for c in candidates]) if length else [0] * len(candidates)
    return min(range(len(candidates)),
               key=lambda i: (pasted[i], elsewhere[i], by_voice[i] + by_coverage[i] + by_length[i], by_voice[i]))


def more_in_voice(texts: list[str], write, meter, instruction: str, shown: list[str], more: int) -> list[str]:
    """The candidates `write()` adds when none of `texts` is a draft (`not_writing`) that sounds like
    the person (`voice` above 0): up to `more`, one at a time, stopping at the first that does. With
    no one else's writing in the store every text is in voice, and none is added."""
    wanted, copies = content_words(instruction), CopyIndex(shown)

    def usable(text: str) -> bool:
        return not not_writing(text, copies, wanted) and in_voice(meter, voice(meter, text))

    added: list[str] = []
    if len(meter.labels) < 2 or any(map(usable, texts)):
        return added
    while len(added) < more:
        added.append(write())
        if usable(added[-1]):
            break
    return added


def more_note(more: int) -> str:
    """What the terminal and the TUI add to "Writing N drafts" while `[draft] more_candidates` is `more`."""
    return f" ({more} more if none sounds like you)" if more else ""


def not_writing(candidate: str, copies: CopyIndex, wanted: list[str] = ()) -> bool:
    """A candidate that pastes more than `MAX_COPIED_WORDS` words of `copies`, echoes the prompt's
    data tags, lists the request's words back (as a list, or strung together: `no_draft.echoes`
    with the request's `wanted` words), or refuses to write (`no_draft.refuses`)."""
    run = copies.longest(candidate)
    return (_DATA_TAG.search(candidate) is not None or _LISTED.search(candidate) is not None
            or echoes(candidate, list(wanted)) or refuses(candidate) or (run.length if run else 0) > MAX_COPIED_WORDS)


def ranks(values: list[float]) -> list[int]:
    """0 for the highest value; ties share a rank."""
    ordered = sorted(set(values), reverse=True)
    return [ordered.index(v) for v in values]
