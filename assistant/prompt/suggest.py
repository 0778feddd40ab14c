"""Words for `suggest`: the one-line reply it suggests (a template, not the model: it costs
nothing per item) and the draft request an item turns into.

The request is the person's instruction to the draft skill, so what a stranger wrote (an
unanswered email's subject) enters it only quoted, as data; the recipient is an address the
person has written to themselves.
"""

from __future__ import annotations

from assistant.prompt.draft import quote_data


def reply_line(greeting: str | None, first_name: str, subject: str) -> str:
    """A one-line reply in the person's own greeting for this correspondent."""
    opening = f"{greeting} {first_name}," if greeting else f"{first_name},"
    return f"{opening} thanks for this — replying properly about “{quote_data(subject)}” shortly."


def draft_request(kind: str, person: str, subject: str, date: str, evidence: str) -> str:
    if kind == "unanswered":
        return (f"reply to {person}'s email of {date} (their subject line, quoted: “{quote_data(subject)}”); "
                "say I'm on it and when they will hear back")
    return f"follow up on what I promised {person} on {date} in “{quote_data(subject)}”: “{quote_data(evidence)}”"
