"""`assistant whoami`: who the config says the person is, what that attributed, and who they likely are.

Attribution decides what style is learned from, so a missing address or handle
silently drops the person's own writing. From the store it suggests identities it
saw but the config lacks: the From address of mail in a Sent folder (a path part
named like "Sent", "Sent Items", "Sent.mbox") when it clearly outnumbers any other,
and the chat speaker named like the person, or else clearly in the most conversations.
Nobody who writes to the person's addresses is ever suggested. Accepting adds them
to `[me]` in place, and the store's attribution follows (`assistant.attribution`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import PurePath

from assistant.attribution import address_of, display_name
from assistant.config import Identity, update_config, write_config
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


# A suggestion needs evidence (this many messages at least) and a margin (at least this many
# times the runner-up): a near tie says nothing about who the person is.
MIN_EVIDENCE = 3
MARGIN = 2


def _clear_winner(counts: Counter) -> tuple[str, int] | None:
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < MIN_EVIDENCE:
        return None
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0] if ranked[0][1] >= MARGIN * runner_up else None


def _mail_rows(db) -> list[tuple[str, str, set[str], str]]:
    """(sender address, sender name, recipient addresses, container) of every stored email."""
    rows = []
    for row in db.query("SELECT author, recipients, meta, container FROM documents WHERE kind = 'mail'"):
        meta = json.loads(row["meta"] or "{}")
        address = (meta.get("from") or address_of(row["author"] or "")).lower()
        name = display_name(row["author"])
        rows.append((address, name, set(json.loads(row["recipients"] or "[]")), row["container"]))
    return rows


def _writers_to(rows, addresses: set[str]) -> set[str]:
    """Addresses of people who write to `addresses` (the person's own, mailing themselves, left out)."""
    return {sender for sender, _, to, _ in rows if to & addresses and sender not in addresses}


def _mail_suggestions(rows, me: Identity) -> list[Suggestion]:
    own = {e.lower() for e in me.emails}
    sent = [(address, name) for address, name, _, container in rows if _in_sent_folder(container) and address]
    by_address = Counter(address for address, _ in sent)
    winner = _clear_winner(by_address)
    if winner is None or winner[0] in _writers_to(rows, own):
        return []
    address, count = winner
    found: list[Suggestion] = []
    evidence = f"From of {count} of {len(sent)} messages in Sent folders"
    if not me.owns_address(address):
        found.append(Suggestion("emails", address, evidence))
    names = Counter(name for addr, name in sent if addr == address and name)
    if names:
        name = names.most_common(1)[0][0]
        if name.lower() not in {n.lower() for n in me.names}:
            found.append(Suggestion("names", name, evidence))
    return found


def _called(rows, addresses: set[str]) -> set[str]:
    """What the people at `addresses` are called in chats: full name, first name, address local part."""
    called = {address.split("@")[0] for address in addresses}
    for sender, name, _, _ in rows:
        if sender in addresses and name:
            called |= {name.lower(), name.split()[0].lower()}
    return called - {""}


def _chat_suggestion(db, rows, me: Identity, mail_found: list[Suggestion]) -> list[Suggestion]:
    """A chat speaker who is the person: named like them, or clearly in the most conversations.

    Never someone who writes to the person's addresses. Sources whose messages carry a role
    (ChatGPT, the assistant's own sessions) attribute by role, not by speaker, so they are left out.
    """
    speakers = list(db.query(
        "SELECT author, count(DISTINCT json_extract(meta, '$.conversation')) AS conversations, "
        "count(*) AS messages FROM documents WHERE kind = 'chat' AND json_extract(meta, '$.role') IS NULL "
        "AND author != '' GROUP BY author ORDER BY conversations DESC, messages DESC"))
    if not speakers or me.owns_handle(speakers[0]["author"]):
        return []
    total = db.execute("SELECT count(DISTINCT json_extract(meta, '$.conversation')) FROM documents "
                       "WHERE kind = 'chat' AND json_extract(meta, '$.role') IS NULL").fetchone()[0]
    addresses = {e.lower() for e in me.emails} | {s.value for s in mail_found if s.field == "emails"}
    others = _called(rows, _writers_to(rows, addresses))
    names = me.names + [s.value for s in mail_found if s.field == "names"]
    mine_called = {n.lower() for n in names} | {n.split()[0].lower() for n in names if n.split()} | {
        a.split("@")[0] for a in addresses}
    candidates = [row for row in speakers if row["author"].lower() not in others and not me.owns_handle(row["author"])]

    def suggest(row, why: str = "") -> list[Suggestion]:
        return [Suggestion("handles", row["author"], f"speaks in {row['conversations']} of {total} chat "
                                                     f"conversations, {row['messages']} messages{why}")]

    for row in candidates:
        if row["author"].lower() in mine_called:
            return suggest(row, "; named like you")
    winner = _clear_winner(Counter({row["author"]: row["conversations"] for row in speakers}))
    chosen = next((row for row in candidates if winner and row["author"] == winner[0]), None)
    return suggest(chosen) if chosen else []


def suggestions(db, me: Identity) -> list[Suggestion]:
    rows = _mail_rows(db)
    found = _mail_suggestions(rows, me)
    return found + _chat_suggestion(db, rows, me, found)


def with_suggestions(me: Identity, found: list[Suggestion]) -> Identity:
    merged = Identity(list(me.names), list(me.emails), list(me.handles))
    for suggestion in found:
        values = getattr(merged, suggestion.field)
        if suggestion.value not in values:
            values.append(suggestion.value)
    return merged


def init_command(identity: Identity) -> str:
    """The `assistant init --force …` line that sets `[me]` to this identity, keeping the rest."""
    parts = ["assistant", "init", "--force"]
    for flag, values in (("--name", identity.names), ("--email", identity.emails), ("--handle", identity.handles)):
        for value in values:
            parts += [flag, value]
    return shlex.join(parts)


def replace_identity(home: Home, identity: Identity) -> bool:
    """Set `[me]` to `identity` and keep the rest of the config (source paths, IMAP accounts,
    added models, settings). A config that is not valid TOML is written afresh; returns False then."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        tomlkit.parse(home.config_path.read_text(encoding="utf-8"))
    except (ParseError, UnicodeDecodeError):
        write_config(home, identity)
        return False

    def edit(document) -> None:
        me = document.setdefault("me", tomlkit.table())
        me["names"] = list(identity.names)
        me["emails"] = list(identity.emails)
        me["handles"] = list(dict.fromkeys(identity.handles + identity.names))

    update_config(home, edit)
    return True


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
