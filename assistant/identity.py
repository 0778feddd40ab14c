"""`assistant whoami`: who the config says the person is, what that attributed, and who they likely are.

Attribution decides what style is learned from, so a missing address or handle
silently drops the person's own writing. From the store it suggests identities it
saw but the config lacks: the most frequent From address of mail in a Sent folder
(a path part named like "Sent", "Sent Items", "Sent.mbox"), and the chat speaker
present in the most conversations. Accepting them adds them to `[me]` in place.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import asdict, dataclass
from email.utils import parseaddr
from pathlib import PurePath

from assistant.config import Identity, update_config
from assistant.home import Home

_SENT_PART = re.compile(r"(?i)^sent\b")


@dataclass
class Suggestion:
    field: str  # names | emails | handles: the `[me]` list it belongs in
    value: str
    evidence: str


def _in_sent_folder(container: str) -> bool:
    return any(_SENT_PART.match(part) for part in PurePath(container).parts)


def attribution(db) -> list[dict]:
    """Per source: how many stored documents are the person's own and how many are others'."""
    return [dict(row) for row in db.query(
        "SELECT s.name AS source, sum(d.author_is_me) AS mine, sum(1 - d.author_is_me) AS others "
        "FROM documents d JOIN sources s ON s.id = d.source_id GROUP BY s.name ORDER BY s.name")]


def _mail_suggestions(db, me: Identity) -> list[Suggestion]:
    senders: Counter[tuple[str, str]] = Counter()
    total = 0
    for row in db.query("SELECT author, container FROM documents WHERE kind = 'mail'"):
        if _in_sent_folder(row["container"]):
            total += 1
            name, address = parseaddr(row["author"] or "")
            if address:
                senders[(address.lower(), name)] += 1
    by_address: Counter[str] = Counter()
    for (address, _), count in senders.items():
        by_address[address] += count
    if not by_address:
        return []
    address, count = by_address.most_common(1)[0]
    found: list[Suggestion] = []
    evidence = f"From of {count} of {total} messages in Sent folders"
    if not me.owns_address(address):
        found.append(Suggestion("emails", address, evidence))
    names = Counter({name: n for (addr, name), n in senders.items() if addr == address and name})
    if names:
        name = names.most_common(1)[0][0]
        if name.lower() not in {n.lower() for n in me.names}:
            found.append(Suggestion("names", name, evidence))
    return found


def _chat_suggestion(db, me: Identity) -> list[Suggestion]:
    """The speaker in the most conversations, when the config does not already own them.

    Sources whose messages carry a role (ChatGPT, the assistant's own sessions) attribute
    by role, not by speaker, so they are left out.
    """
    rows = list(db.query(
        "SELECT author, count(DISTINCT json_extract(meta, '$.conversation')) AS conversations, "
        "count(*) AS messages FROM documents WHERE kind = 'chat' AND json_extract(meta, '$.role') IS NULL "
        "AND author != '' GROUP BY author ORDER BY conversations DESC, messages DESC"))
    if not rows:
        return []
    total = db.execute("SELECT count(DISTINCT json_extract(meta, '$.conversation')) FROM documents "
                       "WHERE kind = 'chat' AND json_extract(meta, '$.role') IS NULL").fetchone()[0]
    top = rows[0]
    if me.owns_handle(top["author"]):
        return []
    return [Suggestion("handles", top["author"],
                       f"speaks in {top['conversations']} of {total} chat conversations, {top['messages']} messages")]


def suggestions(db, me: Identity) -> list[Suggestion]:
    return _mail_suggestions(db, me) + _chat_suggestion(db, me)


def with_suggestions(me: Identity, found: list[Suggestion]) -> Identity:
    merged = Identity(list(me.names), list(me.emails), list(me.handles))
    for suggestion in found:
        values = getattr(merged, suggestion.field)
        if suggestion.value not in values:
            values.append(suggestion.value)
    return merged


def init_command(identity: Identity) -> str:
    """The `assistant init --force …` line that writes a fresh config with this identity."""
    parts = ["assistant", "init", "--force"]
    for flag, values in (("--name", identity.names), ("--email", identity.emails), ("--handle", identity.handles)):
        for value in values:
            parts += [flag, value]
    return shlex.join(parts)


def accept(home: Home, found: list[Suggestion]) -> None:
    """Add the suggestions to the config's `[me]` lists, keeping everything else in it."""

    import tomlkit

    def edit(document) -> None:
        me = document.setdefault("me", tomlkit.table())
        for suggestion in found:
            values = me.setdefault(suggestion.field, tomlkit.array())
            if suggestion.value not in [str(v) for v in values]:
                values.append(suggestion.value)

    update_config(home, edit)


def whoami(db, me: Identity) -> dict:
    found = suggestions(db, me)
    return {
        "configured": {"names": me.names, "emails": me.emails, "handles": me.handles},
        "attribution": attribution(db),
        "suggestions": [asdict(s) for s in found],
        "init_command": init_command(with_suggestions(me, found)) if found else None,
    }
