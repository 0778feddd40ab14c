"""Pieces of the draft prompt (assembled by `assistant.prompt.builder`) and of its answer.

Text from sources is made inert before it enters a prompt: for chat models wrapped in
<email> tags with angle brackets neutralised (`quote_data`); for base models, which
continue an email file best, each quoted line that would read as a separator or a header
is marked as a quote (`_quoted_block`), so none can end its block or start an email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_EXEMPLAR_WORDS = 160


@dataclass
class Exemplar:
    chunk_id: int
    recipients: str
    subject: str
    text: str
    points: list[str] = field(default_factory=list)  # its content words: the request it would answer


def quote_data(text: str) -> str:
    """Untrusted text made inert inside our tags: it cannot close or open one."""
    return text.replace("<", "‹").replace(">", "›")


def _clip(text: str, words: int = MAX_EXEMPLAR_WORDS) -> str:
    parts = text.split(" ")
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"


def _email_block(recipients: str, subject: str, text: str) -> str:
    return f'<email to="{quote_data(recipients)}" subject="{quote_data(subject)}">\n{quote_data(_clip(text))}\n</email>'


_HEADER_LIKE = re.compile(r"(?im)^(?=###|to:|subject:)")


def _quoted_block(text: str) -> str:
    """Past email text made inert in the email-file prompt: no tag, separator or header line of its own."""
    return _HEADER_LIKE.sub("> ", quote_data(_clip(text)))


# Where a base model's email ends: the separator, or the headers of another one.
COMPLETION_STOPS = ["###", "\nTo:", "\nSubject:"]


ECHOED_TAG = re.compile(r"\A\s*<email\b[^>\n]*>\s*\n(?P<body>.*?)\s*(</email>\s*)?\Z", re.S)


def unwrap_echo(text: str) -> str:
    """A chat model that copies the exemplars' shape wraps its draft in an <email …> tag of its own
    (Qwen2.5 does): the draft is what is inside."""
    match = ECHOED_TAG.match(text)
    return match["body"] if match else text


class EchoFilter:
    """`unwrap_echo` for a draft shown as it is written: passes pieces on to `show`, less an
    <email …> line that opens the draft and a </email> that ends it."""

    def __init__(self, show) -> None:
        self.show = show
        self.head: str | None = ""  # the start, held until it cannot be an <email …> line; None once decided
        self.tail = ""  # the last line, held while it could be the closing tag

    def __call__(self, piece: str) -> None:
        if self.head is not None:
            self.head += piece
            stripped = self.head.lstrip()
            if "<email".startswith(stripped[:6]) and "\n" not in stripped:
                return  # could still be the opening tag
            piece, self.head = self.head, None
            match = re.match(r"\s*<email\b[^>\n]*>\s*\n", piece)
            if match:
                piece = piece[match.end():]
        text = self.tail + piece
        cut = text.rfind("\n") + 1
        last = text[cut:].strip()
        if last and "</email>".startswith(last):
            text, self.tail = text[:cut], text[cut:]
        else:
            self.tail = ""
        if text:
            self.show(text)

    def close(self) -> None:
        rest = (self.head or "") + self.tail
        if rest.strip() != "</email>" and not ECHOED_TAG.match(rest + "\n"):
            self.show(rest)


_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*(?=\s|$)")


def end_at_sentence(text: str) -> str:
    """A draft the token budget cut off, back to its last whole sentence. A last line
    of three words or fewer is a sign-off or a name, and stays."""
    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    if not last or len(last.split()) <= 3 or _SENTENCE_END.search(last[-3:] + " ") or last[-1] in ":;,":
        return text
    ends = list(_SENTENCE_END.finditer(text))
    return text[:ends[-1].end()].rstrip() if ends else text


# "Hi NAME," as the notes write it, or a template's "Dear [Recipient's Name],"
_PLACEHOLDER = re.compile(r"^(\s*\S[^\n]*?) (?:NAME\b|\[(?i:(?:recipient(?:'s)? |first |full )?name|recipient)\])")
_GREETING = re.compile(r"^(\s*(?:hi|hello|hey|hiya|dear|good morning|morning)\b[^\n]{0,20}?) (\w+)(?=[,!:]?[ \t]*$)",
                       re.I | re.M)
_SUBJECT_LINE = re.compile(r"\A\s*subject[ \t]*:[^\n]*\n", re.I)  # a model's own, above the greeting
_DATA_TAGS = re.compile(r"[ \t]*</?(?:email|passage|fact|incoming)\b[^>\n]*>")


def fill_name(text: str, first_name: str, own_names: tuple[str, ...] = ()) -> str:
    """The style notes' "Hi NAME," as a model may copy it (or a template's "Dear [Recipient's Name],"):
    the placeholder becomes whom the draft is for, or goes ("Hi,") when it is for no one in particular
    (a bare "Dear," reads as a blank left unfilled: it becomes "Hello,"). An opening greeting to the
    person themself ("Hey Sara," in Sara's draft: told it writes for Sara, a small model greets her)
    is treated the same. A "Subject:" line the model put above the greeting is passed over (the
    guard removes it later)."""
    subject = _SUBJECT_LINE.match(text)
    if subject:
        return subject[0] + fill_name(text[subject.end():], first_name, own_names)
    text = _PLACEHOLDER.sub(lambda m: f"{m[1]} {first_name}" if first_name else _unnamed(m[1]), text, count=1)
    own = {name.lower() for name in own_names} - {first_name.lower()}
    match = _GREETING.match(text)
    if match and match[2].lower() in own:
        greeting = f"{match[1]} {first_name}" if first_name else _unnamed(match[1])
        text = greeting + text[match.end(2):]
    return text


def _unnamed(greeting: str) -> str:
    """A greeting whose name is taken out; a bare "Dear," reads as a blank left unfilled."""
    return re.sub(r"(?i)^(\s*)dear$", r"\1Hello", greeting)


def drop_data_tags(text: str) -> str:
    """The prompt's quoting tags (<passage>, </email>, …) that a small model echoes mid-draft: never part of an email."""
    return _DATA_TAGS.sub("", text)


def drop_repeats(text: str) -> str:
    """A paragraph that says again, word for word, what an earlier one said (a small model that writes
    its draft out twice, once per tag it imitates) goes; punctuation and case aside."""
    kept, seen = [], []
    for paragraph in re.split(r"\n\s*\n", text):
        said = " ".join(re.findall(r"\w+", paragraph.lower()))
        if said and any(said in earlier for earlier in seen):
            continue
        seen.append(said)
        kept.append(paragraph)
    return "\n\n".join(kept)
