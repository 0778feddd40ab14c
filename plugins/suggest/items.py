"""What `suggest` finds in the store: unanswered mail from people the person writes to, and
promises in their sent mail that nothing later follows up.

Both read only the store (documents and their chunks), never a model. Every item carries its
evidence (document, date, sentence) and an ID hashed from that evidence, so the same item
keeps its ID across runs and `draft --from-suggestion ID` finds it again.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

# Someone the person has written to at least this often is a frequent correspondent.
MIN_SENT = 2
# A later email to the same person "mentions" a promise when it holds half the promise's
# content words, or three of them for a long promise.
MENTION_WORDS = 3

# A promise: I/we will (or let me) + a verb of doing something for someone, up to the end of the clause.
_ACTIONS = ("send|get back|come back|circle back|follow up|sketch|draft|write|redo|submit|check|confirm|share|"
            "forward|call|ring|look into|find|sort|finish|book|pay|update|review|organi[sz]e|prepare|email|"
            "reply|chase|ask|arrange|post|order|fix|bring|put together|dig out|let you know")
_PROMISE = re.compile(
    rf"\b(?:I'll|I’ll|I will|we'll|we’ll|we will|I'm going to|I am going to|let me)\s+(?:also\s+|still\s+)?"
    rf"(?P<rest>(?:{_ACTIONS})\b[^.!?;—\n]*)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[a-zà-ÿ]{3,}", re.I)
_NOT_CONTENT = frozenset(
    "the and for you your that this with from what when where which who was were are have has had not but its "
    "into about they them their there then than will would could should can just also still next week weeks "
    "month day days today tomorrow tonight morning mornings afternoon evening end before after soon by until "
    "monday tuesday wednesday thursday friday saturday sunday weekend all any some one two three time back "
    "get got make sure properly really very much more most well our ours mine yours his her him she he "
    "it's i'll i'm we'll let know anyway thing things bit bits".split())


@dataclass
class Suggestion:
    id: str
    kind: str  # "unanswered" | "commitment"
    person: str  # their name where known, else the address
    address: str  # theirs: the sender of the unanswered mail, or whom the promise was made to
    document: str  # the email's subject
    uri: str
    date: str
    evidence: str  # the sentence: the unanswered mail's first line, or the promise as written
    suggested_reply: str = ""
    reply_source: str = ""  # "template": the suggested reply is filled in, not generated
    reply_to: str = ""  # the unanswered email's Message-ID: its draft answers in the thread


def suggestion_id(kind: str, document: str, date: str, evidence: str) -> str:
    """The evidence's hash: the same item keeps it wherever the mail folder moves."""
    return hashlib.sha256(f"{kind}\n{document}\n{date}\n{evidence}".encode()).hexdigest()[:10]


@dataclass
class Mail:
    uri: str
    title: str
    author: str
    sender: str
    recipients: list[str]
    names: dict[str, str]
    when: datetime
    date: str
    mine: bool
    thread: str
    in_reply_to: str
    message_id: str
    text: str


def _when(created: str | None) -> datetime:
    try:
        when = datetime.fromisoformat(created or "")
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def load_mail(db) -> list[Mail]:
    """Every email in the store (never an attachment), its text rebuilt from its chunks, oldest first."""
    rows = db.query(
        "SELECT d.uri, d.title, d.author, d.recipients, d.author_is_me, d.created_at, d.meta, "
        "       (SELECT group_concat(text, '\n') FROM (SELECT text FROM chunks WHERE document_id = d.id "
        "        ORDER BY position)) AS text "
        "FROM documents d WHERE d.kind = 'mail'")
    mail = []
    for r in rows:
        meta = json.loads(r["meta"] or "{}")
        mail.append(Mail(r["uri"], r["title"] or "", r["author"] or "", (meta.get("from") or "").lower(),
                         [a.lower() for a in json.loads(r["recipients"] or "[]")], meta.get("recipient_names") or {},
                         _when(r["created_at"]), (r["created_at"] or "")[:10], bool(r["author_is_me"]),
                         meta.get("thread") or "", meta.get("in_reply_to") or "", meta.get("message_id") or "",
                         r["text"] or ""))
    return sorted(mail, key=lambda m: m.when)


def _first_line(text: str) -> str:
    """The first sentence after the greeting line: what the email is about."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    body = lines[1:] if len(lines) > 1 and len(lines[0].split()) <= 4 else lines
    sentence = _SENTENCE.search(" ".join(body) or "")
    return sentence[0].strip() if sentence else ""


def unanswered(mail: list[Mail], people: dict, reply_line) -> list[Suggestion]:
    """Mail to the person from someone they wrote to at least `MIN_SENT` times (`people`:
    `recipients.correspondents`), with no sent email after it in the same thread or to that
    sender. `reply_line(address, name, subject)` suggests the one-line reply."""
    sent = [m for m in mail if m.mine]
    items = []
    for m in mail:
        person = people.get(m.sender)
        if m.mine or person is None or person.emails < MIN_SENT:
            continue
        if any(s.when > m.when and (m.sender in s.recipients or (m.message_id and m.message_id in (s.in_reply_to, s.thread)))
               for s in sent):
            continue
        evidence = _first_line(m.text)
        name = person.name or m.sender
        items.append(Suggestion(suggestion_id("unanswered", m.title, m.date, evidence), "unanswered", name, m.sender,
                                m.title, m.uri, m.date, evidence, reply_line(m.sender, name, m.title), "template",
                                m.message_id))
    return items


def _content(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _NOT_CONTENT}


def promises(text: str) -> list[tuple[str, str]]:
    """(the sentence, what was promised) for each first-person promise in `text`; questions are not promises."""
    found = []
    for sentence in _SENTENCE.findall(text):
        sentence = sentence.strip()
        if sentence.endswith("?"):
            continue
        match = _PROMISE.search(sentence)
        if match and _content(match["rest"]):
            found.append((sentence, match["rest"]))
    return found


def mentions(promised: str, later: str) -> bool:
    words = _content(promised)
    return len(words & _content(later)) >= max(1, min(MENTION_WORDS, math.ceil(len(words) / 2)))


def open_commitments(mail: list[Mail]) -> list[Suggestion]:
    """Promises in the person's sent mail that no later email of theirs to the same person mentions."""
    sent = [m for m in mail if m.mine and m.recipients]
    items = []
    for i, m in enumerate(sent):
        later = [s.text for s in sent[i + 1:] if set(s.recipients) & set(m.recipients)]
        for sentence, promised in promises(m.text):
            if any(mentions(promised, text) for text in later):
                continue
            address = m.recipients[0]
            items.append(Suggestion(suggestion_id("commitment", m.title, m.date, sentence), "commitment",
                                    m.names.get(address, address), address, m.title, m.uri, m.date, sentence))
    return items
