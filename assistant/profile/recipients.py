"""Who `--to NAME` means: one rule for exemplars, per-recipient style and the prompt.

What the person types ("Janet", "Janet Liu", "jliu@portland.example", "jliu") matches a
correspondent when it is their address or its local part, or when every word of it is a
word of their display name, accents and case ignored. Never a substring: "Sam" is not
"Samantha", and "an" matches nobody. Display names come from how the person addressed
them (`meta.recipient_names` of their sent mail) and from the From of mail they sent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from assistant.attribution import address_of, display_name

# Names are read from the most recent mail only; a correspondent's name rarely changes.
MAX_MAIL_FOR_NAMES = 20000


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def matches(query: str, address: str, name: str = "") -> bool:
    """True when what the person typed names the correspondent at `address` called `name`."""
    wanted = _fold(query).strip()
    address = address.lower()
    if not wanted:
        return False
    if wanted in (address, address.split("@")[0]):
        return True
    words = re.findall(r"\w+", _fold(name))
    return bool(words) and all(word in words for word in re.findall(r"\w+", wanted))


@dataclass
class Correspondent:
    address: str
    name: str = ""
    emails: int = 0  # how many of the person's emails went to them


def correspondents(db) -> dict[str, Correspondent]:
    """Everyone the person has emailed, by address, with the display name they go by."""
    people: dict[str, Correspondent] = {}
    names: dict[str, Counter] = {}
    for row in db.query("SELECT author, recipients, author_is_me, meta FROM documents WHERE kind = 'mail' "
                        "ORDER BY created_at DESC LIMIT ?", [MAX_MAIL_FOR_NAMES]):
        meta = json.loads(row["meta"] or "{}")
        if row["author_is_me"]:
            for address in json.loads(row["recipients"] or "[]"):
                people.setdefault(address, Correspondent(address)).emails += 1
            for address, name in (meta.get("recipient_names") or {}).items():
                names.setdefault(address, Counter())[name] += 2  # how the person addresses them counts most
        elif name := display_name(row["author"]):
            names.setdefault((meta.get("from") or address_of(row["author"])).lower(), Counter())[name] += 1
    for address, person in people.items():
        if address in names:
            person.name = names[address].most_common(1)[0][0]
    return people


@dataclass
class Recipient:
    """Who a draft is for: what the person typed, and whom it matched, most written-to first."""

    query: str
    addresses: list[str] = field(default_factory=list)
    name: str = ""

    @property
    def first_name(self) -> str:
        """What a greeting calls them: the first word of their display name, else what was typed."""
        words = (self.name or self.query).split()
        return words[0] if words else self.query


def resolve(db, query: str) -> Recipient:
    found = sorted((p for p in correspondents(db).values() if matches(query, p.address, p.name)),
                   key=lambda p: -p.emails)
    return Recipient(query, [p.address for p in found], found[0].name if found else "")
