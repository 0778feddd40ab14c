"""A finished draft held to the person's own habits, deterministically.

A small instruction-tuned model writes like an assistant whatever the style notes say: it
opens with "Hi Jeff," for a person who never greets, ends with "Best regards,\\nKay" for one
who never signs off, says "Here's the email:" first and "I hope this email finds you well."
after. `keep_to_habits` takes out what the stored style profile says the person does not
write (`StyleProfile.habits`, the same decision the notes state), puts their own sign-off in
place of a generic one, and drops the stock pleasantries their own writing never holds.
"""

from __future__ import annotations

import re
from typing import Callable

from assistant.profile.style import StyleProfile
from assistant.prompt.draft import drop_data_tags, fill_name

# Lines a chat model puts before the email: never part of it.
_META_WORD = r"[^\n]*\b(?:e-?mail|draft|message|reply|response|version)\b[^\n]*:"
_META = re.compile(r"^[*_#\s]*(?:subject\s*:.*|(?:sure|certainly|of course|absolutely)\b" + _META_WORD
                   + r"|(?:here(?:'s|’s| is)|below is)\b" + _META_WORD + r")[*_\s]*$", re.I)
# An opening greeting: the word, up to three words of whom it greets, and its punctuation.
_GREETING = re.compile(r"^[ \t]*(?:hi there|hi|hiya|hey|hello|dear|good morning|morning|greetings)\b"
                       r"(?:[ \t]+(?:(?:mr|mrs|ms|dr|prof)\.|[^\s,!:.?]+)){0,3}?[ \t]*(?:[,!:—]|$)", re.I)
_CLOSING = re.compile(r"^(?:best regards|kind regards|warm regards|warmest regards|regards|best wishes|all the best|"
                      r"best|many thanks|thanks|thank you|cheers|sincerely|yours sincerely|yours truly)\s*([,!.]?)$",
                      re.I)
# Stock pleasantries: the phrasings the person's own writing is searched for; a sentence starting with
# one ("I hope …", "Please let me know …") goes.
FILLERS = (
    ("hope this email finds you well", "hope this message finds you well", "hope this finds you well"),
    ("hope you're doing well", "hope you are doing well"),
    ("hope you're having a great day", "hope you are having a great day"),
    ("let me know if you have any questions", "let me know if you have any further questions"),
)
# A phrase taken out of its sentence: "I wanted to take a moment to thank you" → "I wanted to thank you".
PADDING = "take a moment to"
_NAME_PLACEHOLDER = re.compile(r"^\[(?:your|my) (?:full )?name\]$", re.I | re.M)
_LOOSE_FORMULA = re.compile(r"^(?:[^\s.!?:;,]+[ \t]+){0,3}[^\s.!?:;,]+,$")  # four words at most, then a comma
_NAME_LINE = re.compile(r"^\[?[A-Z][\w.'’-]*\]?(?:[ \t]+\[?[A-Z][\w.'’-]*\]?){0,2}$")  # "Kay", "[Your Name]"
_TAIL_WORDS = 8  # a filler sentence that goes on longer than this says something: it stays


def phrase_pattern(phrase: str) -> str:
    """`phrase` as a regex: any whitespace between words, either apostrophe."""
    return r"\s+".join(re.escape(word).replace("'", "['’]") for word in phrase.split())


def keep_to_habits(text: str, style: StyleProfile, to: str | None, own_uses: Callable[[str], bool],
                   own_names: tuple[str, ...] = (), reply: bool = False, tone=None,
                   first_name: str = "") -> tuple[str, list[str]]:
    """(`text` held to the person's habits with `to`, what was changed). `own_uses(phrase)`: whether
    the person's own writing holds `phrase` (`own_phrase_checker`); `own_names`: the words of their
    name, a bare last line of which is their own sign-off; `reply`: the draft answers a thread;
    `first_name`: whom it greets (`draft.fill_name`). A `tone.ToneGuide`'s greeting and sign-off
    (a register the request chose) stand for the profile's. The prompt's data tags, echoed, go
    (`draft.drop_data_tags`). A draft it would empty stays as it is."""
    habits = HabitStream(None, style, to, own_uses, own_names, reply, tone, first_name)
    habits(text)
    habits.close()
    return habits.text, habits.changes


class HabitStream:
    """`keep_to_habits` a line at a time, for a draft shown as it is written: a finished line goes on
    to `show` once nothing after it can change it, so nothing shown is taken back. Meta lines and the
    greeting are settled on the first line, stock phrases within each line; the last lines wait while
    they may be a closing (a formula, a name), which only the end of the draft decides. `keep_to_habits`
    is this stream fed the whole text, so the screen and the saved draft agree by construction."""

    def __init__(self, show: Callable[[str], None] | None, style: StyleProfile, to: str | None,
                 own_uses: Callable[[str], bool], own_names: tuple[str, ...] = (), reply: bool = False,
                 tone=None, first_name: str = "") -> None:
        greeting, signoff = style.habits(to, reply)
        self.greeting, self.signoff = (tone and tone.greeting) or greeting, (tone and tone.signoff) or signoff
        # with no email of theirs indexed, how they open and close one is unknown: nothing is dropped for it
        self.known = bool(style.contexts.get("email"))  # a tone's greeting, too, comes from their email
        self.greets_sometimes = style.greets_sometimes(to, reply)  # then a greeting is theirs to write or not
        self.own_signoffs = [s for s, _ in style.signoffs]
        self.own_names, self.own_uses, self.first_name, self.show = own_names, own_uses, first_name, show
        self.raw = ""  # all it was fed
        self.partial = ""  # the line being written
        self.lines: list[str] = []  # finished lines held to the habits; no leading blank, no blank runs
        self.started = False  # the first line of the email (past any meta lines) was read
        self.released = 0  # how many of `lines` went to `show`
        self.shown = ""  # what went to `show`
        self.text = ""  # the whole draft held to the habits, once closed
        self._changes: list[str] = []

    @property
    def changes(self) -> list[str]:
        return list(dict.fromkeys(self._changes))

    def __call__(self, piece: str) -> None:
        self.raw += piece
        done, newline, self.partial = (self.partial + piece).rpartition("\n")
        if newline:
            for line in done.split("\n"):
                self._add(line)
            self._release(self._held_from())

    def _add(self, line: str) -> None:
        line = drop_data_tags(line)
        first = not self.started
        if first:
            if not line.strip():
                return
            if _META.match(line):
                self._changes.append(f"line '{line.strip()}' dropped: not part of an email")
                return
            self.started = True
            line = fill_name(line.strip(), self.first_name, self.own_names)
        elif self.first_name and self._greeted_only():
            line = self._without_name_again(line)
        for part in self._greeting(line.strip()) if first else [line]:
            part = _drop_fillers(part + "\n", self.own_uses, self._changes).rstrip()
            if part or (self.lines and self.lines[-1]):
                self.lines.append(part)

    def _greeting(self, line: str) -> list[str]:
        """The first line, its greeting held to the person's habit: dropped, or on a line of its own."""
        match = _GREETING.match(line)
        if not match:
            return [line]
        rest = line[match.end():].strip()
        if not self.greeting and self.known and not self.greets_sometimes:
            self._changes.append(f"greeting '{match[0].strip()}' dropped: you rarely open with one")
            return [rest[:1].upper() + rest[1:]]
        if rest[:1].isupper():  # "Hi Jeff, I hope …": the greeting on a line of its own, as people write it
            return [match[0].strip(), "", rest]
        return [line]

    def _greeted_only(self) -> bool:
        """Whether the draft so far is only a greeting that names whom it greets."""
        filled = [line for line in self.lines if line]
        return len(filled) == 1 and _GREETING.match(filled[0]) is not None and self.first_name in filled[0]

    def _without_name_again(self, line: str) -> str:
        """The body's first line less a vocative the greeting just said ("Hiya Sam," then "Sam, could you …")."""
        match = re.match(rf"[ \t]*{re.escape(self.first_name)}[ \t]*,[ \t]*(?=\S)", line)
        if not match:
            return line
        self._changes.append(f"'{self.first_name},' dropped from the first sentence: the greeting already names them")
        rest = line[match.end():]
        return rest[:1].upper() + rest[1:]

    def _held_from(self) -> int:
        """The index of the first of `lines` that may yet be part of a closing (`_closing_block`)."""
        filled = [i for i, line in enumerate(self.lines) if line]
        if not filled:
            return len(self.lines)

        def closes(i: int) -> bool:  # the draft's first line ("Hi Sam,") opens it: only a known formula closes
            line = self.lines[i].strip()
            return bool(_is_formula(line) if i > filled[0] else _CLOSING.match(line))

        last = self.lines[filled[-1]].strip()
        if not (closes(filled[-1]) or _NAME_LINE.match(last)
                or _own_name_line(last, {name.lower() for name in self.own_names})):
            return len(self.lines)
        if len(filled) > 1 and closes(filled[-2]):
            return filled[-2]
        return filled[-1]

    def _release(self, upto: int) -> None:
        while upto > self.released and not self.lines[upto - 1]:
            upto -= 1  # a blank line waits for the line after it
        if upto > self.released:
            self._show("\n".join(self.lines[self.released:upto]) + "\n")
            self.released = upto

    def _show(self, text: str) -> None:
        self.shown += text
        if self.show:
            self.show(text)

    def close(self) -> None:
        """The end of the draft: the closing held to the person's sign-off, and the rest shown."""
        if self.partial:
            self._add(self.partial)
            self.partial = ""
        body = "\n".join(self.lines)
        if self.known:
            body = _closing(body, self.signoff, self.own_signoffs, self.own_names, self._changes)
        elif self.own_names:  # their sign-off unknown: a placeholder for their name becomes it
            body = _NAME_PLACEHOLDER.sub(" ".join(self.own_names), body)
        body = re.sub(r"\n{3,}", "\n\n", body).strip()
        if not re.search(r"\w", body):
            body, self._changes = self.raw.strip(), []
        self.text = body
        if body.startswith(self.shown):
            self._show(body[len(self.shown):])
        elif not self.shown.startswith(body):  # only a draft of formulas alone, kept as written
            self._show("\n" + body)


def _drop_fillers(text: str, own_uses: Callable[[str], bool], changes: list[str]) -> str:
    for phrases in FILLERS:
        start = re.compile(r"(?:^|(?<=[.!?] ))[ \t]*(?P<filler>(?:please\s+|I\s+)?(?:"
                           + "|".join(map(phrase_pattern, phrases)) + r"))(?P<tail>[^.!?\n]*)(?P<end>[.!?]*[ \t]*)",
                           re.I | re.M)
        if start.search(text) and not any(own_uses(phrase) for phrase in phrases):
            text = start.sub(lambda m: _without_filler(m, changes), text)
    if re.search(r"\bto " + phrase_pattern(PADDING) + r"\s", text, re.I) and not own_uses(PADDING):
        text = re.sub(r"(?<=\bto )" + phrase_pattern(PADDING) + r"\s+", "", text, flags=re.I)
        changes.append(f"'{PADDING}' dropped: you never write it")
    return text


def _without_filler(match: re.Match, changes: list[str]) -> str:
    """What is left of a sentence that opens with a stock pleasantry: nothing, the clause after
    it ("…, and I wanted to ask" → "I wanted to ask"), or all of it when it says more."""
    tail = match["tail"]
    clause = re.match(r"\s*,?\s*(?:and|so)?\s*(?=(?:I|we|We)\b)", tail)
    if clause and clause.end() < len(tail):
        changes.append(f"'{match['filler']}' dropped: you never write it")
        kept = tail[clause.end():]
        return kept[:1].upper() + kept[1:] + match["end"]
    if len(tail.split()) > _TAIL_WORDS:
        return match[0]
    changes.append(f"'{match[0].strip()}' dropped: you never write it")
    return ""


def _closing(text: str, signoff: str | None, own_signoffs: list[str], own_names: tuple[str, ...],
             changes: list[str]) -> str:
    """The draft's last lines held to the person's sign-off: a generic closing ("Best regards," and a
    name line) goes when they rarely sign off, and becomes theirs when they do; so does their own
    formula above a name not theirs ("Thanks,\nAdam": a name the model took from what it read)."""
    lines = text.rstrip().splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]
    names = {name.lower() for name in own_names}
    block = _closing_block([lines[i].strip() for i in filled], names)
    if not block:
        return text
    formula, kept = lines[filled[-block]].strip(), lines[:filled[-block]]
    closing = " / ".join(lines[i].strip() for i in filled[-block:])
    if signoff is None:
        changes.append(f"sign-off '{closing}' dropped: you rarely sign off")
        return "\n".join(kept)
    ours = any(formula.lower() == own.splitlines()[0].lower() for own in [signoff, *own_signoffs])
    signed = block == 1 or not names or _own_name_line(lines[filled[-1]].strip(), names)
    if _is_formula(formula) and not (ours and signed):
        changes.append(f"sign-off '{closing}' replaced with your '{' / '.join(signoff.splitlines())}'")
        return "\n".join(kept + signoff.splitlines())
    return text


def _closing_block(filled: list[str], names: set[str]) -> int:
    """How many of the draft's last non-empty lines (`filled`) are a closing: a formula ("Best," or
    "Thanks" above a name line), or a bare line of the person's own name; 0 when there is none."""
    if len(filled) < 2:
        return 0
    last = filled[-1]
    formula = _CLOSING.match(last)
    if formula and formula[1] == ",":
        return 1  # "Best," with no name under it
    above = _CLOSING.match(filled[-2])
    if (above and above[1] in ("", ",") or _LOOSE_FORMULA.match(filled[-2])) and _NAME_LINE.match(last):
        return 2  # "Thanks!" above a name is a sentence
    return 1 if _own_name_line(last, names) else 0


def _is_formula(line: str) -> bool:
    """A closing formula: a known one ("Best regards,", "Thanks"), or any short line ending in a comma
    ("Thank you very much,"), the way `style.signoff_of` reads the person's own."""
    return bool(_CLOSING.match(line) or _LOOSE_FORMULA.match(line))


def _own_name_line(line: str, names: set[str]) -> bool:
    """A line of three words at most, each a word of the person's name (`names`, lower case)."""
    words = re.findall(r"[^\W\d_]+", line.lower())
    return bool(words) and len(words) <= 3 and all(word in names for word in words)


def own_phrase_checker(db) -> Callable[[str], bool]:
    """`own_uses(phrase)` for a store: whether the text of anything the person wrote (documents with
    `author_is_me`) holds `phrase`, outside lines quoted from others. An FTS phrase query finds the
    candidates (its stemmer is loose); the phrase itself must be there. Answers are cached per checker."""
    seen: dict[str, bool] = {}

    def own_uses(phrase: str) -> bool:
        if phrase not in seen:
            words = re.findall(r"\w+", phrase.lower())
            pattern = re.compile(r"\b" + phrase_pattern(phrase) + r"\b", re.I)
            rows = db.execute(
                "SELECT c.text FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
                "JOIN documents d ON d.id = c.document_id WHERE chunks_fts MATCH ? AND d.author_is_me = 1 LIMIT 50",
                ['text : "' + " ".join(words) + '"']).fetchall()
            seen[phrase] = any(pattern.search(line) for (chunk,) in rows for line in chunk.splitlines()
                               if not line.lstrip().startswith(">"))
        return seen[phrase]

    return own_uses
