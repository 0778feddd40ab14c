"""The safety guard every draft passes after generation, whatever the model wrote.

The system reads mail written by strangers, so nothing a stranger wrote may steer where a
draft goes or what it links to. Recipients, links (URLs, markdown and HTML links, bare
domains), email addresses and phone numbers in a draft are kept only when they come from
one of three trusted places:

- the person's request (the instruction and whom it is for);
- the headers of the thread being answered (From, To, Cc, Reply-To), not its body;
- the person's own past writing: mail they sent (its text and its recipients) and their own
  chat messages. Files found in their folders are not counted: a downloaded page or a file
  someone sent lands there too, and nothing says the person wrote it.

Anything else is removed and reported as `Removed(kind, value, reason)`. Images (markdown or
HTML) are always removed, since opening a draft must never load a remote resource, and so
are header-like lines in the body ("Bcc: x@evil.example"). Invisible characters (zero-width,
bidirectional controls, soft hyphens) are dropped first, and fullwidth look-alikes ("＠", "．")
are read as what they mimic, so neither can hide a value from the checks. Nothing is ever
fetched: the guard only compares text.

It lives in `generation` because it judges what a generator produced; it reads the store
(below it) and every skill that writes for the person (above it) calls it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# One character for one: fullwidth ASCII and dot look-alikes read as ASCII, so spans line up.
_FOLD = {**{cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)},
         0x3002: ord("."), 0xFF61: ord("."), 0x2024: ord("."), 0xFE52: ord("."), 0xFE6B: ord("@")}

_HEADER_LINE = re.compile(
    r"(?im)^[ \t>*_#]*(bcc|cc|to|from|reply-to|sender|subject|return-path|delivered-to|x-[\w-]+)[ \t*_]*:[^\n]*(\n|\Z)")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_HTML_IMAGE = re.compile(r"<\s*img\b[^>]*>", re.I)
_MD_LINK = re.compile(r"\[(?P<text>[^\]\n]*)\]\(\s*<?(?P<url>[^)\s>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_HTML_LINK = re.compile(r"<\s*a\b[^>]*?href\s*=\s*[\"']?(?P<url>[^\"'\s>]+)[^>]*>(?P<text>.*?)<\s*/\s*a\s*>",
                        re.I | re.S)
_URL = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`‹›\[\]{}|\\^]+")
_ADDRESS = re.compile(r"(?i)(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Top-level domains a mail client turns into a link; file suffixes that are also ccTLDs (.md, .py,
# .sh, .rs) are left out so that "notes.md" is not taken for a domain.
_TLDS = ("com|net|org|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|us|uk|de|fr|nl|eu|ca|au|in|jp|cn|ru|br|"
         "es|it|ch|se|no|dk|fi|pl|be|at|cz|nz|ie|za|mx|ar|kr|tk|xyz|top|site|online|link|click|shop|store|"
         "zip|mov|ly|gl|to|cc|tv|ws|su|pw|gg|example|test|invalid|local|onion")
# Labels may hold any letter, so a look-alike ("fernhіll" with a Cyrillic і) is still a domain.
_DOMAIN = re.compile(rf"(?i)(?<![\w@.-])(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:{_TLDS})\b(?![\w-]|\.\w)")
# International (+44 20 7946 0999) or North American (503-555-0123, (503) 555 0123) numbers.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}|(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4})"
                    r"(?![\w-])")
MIN_PHONE_DIGITS = 7
_TRAILING = ".,;:!?)'\"»”’"

NOT_TRUSTED = "not in your request, the thread's headers or your own past writing"


@dataclass
class Removed:
    kind: str  # recipient, link, image, address, domain, phone, header, invisible
    value: str
    reason: str


@dataclass
class Guarded:
    text: str
    removed: list[Removed] = field(default_factory=list)

    def report(self) -> list[dict]:
        return [asdict(r) for r in self.removed]


def fold(text: str) -> str:
    return text.translate(_FOLD)


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def _host_of(url: str) -> str:
    rest = re.sub(r"(?i)^(?:https?|ftp)://", "", url)
    return re.split(r"[/?#:]", rest.split("@")[-1], 1)[0].lower()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _mentions(haystack: str, needle: str) -> bool:
    """Whether `needle` is in `haystack` as a whole value: `am@x.example` is not in `sam@x.example`,
    nor `hill.example` in `fernhill.example`; a domain may follow `@` or a subdomain's dot."""
    before = r"[\w-]" if "@" not in needle and "/" not in needle else r"[\w.@+-]"
    return re.search(rf"(?<!{before}){re.escape(needle)}(?![\w@-]|\.\w)", haystack) is not None


class Trusted:
    """The values a draft may carry: from the request, the thread's headers and the person's own writing."""

    def __init__(self, db=None, request: list[str] | None = None, addresses: list[str] | None = None) -> None:
        self.db = db
        self.request = fold(" ".join(r for r in (request or []) if r)).lower()
        self.addresses = {a.strip().lower() for a in addresses or [] if a and "@" in a}
        self._own: dict[str, bool] = {}

    def _own_text(self, needle: str) -> bool:
        """Whether `needle` (lower-case) is in the person's sent mail or own chat messages, or among
        the recipients of their sent mail (SQL finds candidates, `_mentions` decides)."""
        if self.db is None or not needle:
            return False
        if needle not in self._own:
            rows = self.db.execute(
                "SELECT lower(d.recipients) FROM documents d WHERE d.author_is_me = 1 AND d.kind = 'mail' "
                "AND instr(lower(d.recipients), ?) > 0 LIMIT 200", [needle]).fetchall() + self.db.execute(
                "SELECT lower(c.text) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.author_is_me = 1 "
                "AND d.kind IN ('mail', 'chat') AND instr(lower(c.text), ?) > 0 LIMIT 200", [needle]).fetchall()
            self._own[needle] = any(_mentions(row[0], needle) for row in rows)
        return self._own[needle]

    def _trusts(self, needle: str) -> bool:
        return _mentions(self.request, needle) or self._own_text(needle)

    def address(self, value: str) -> bool:
        address = value.lower().removeprefix("mailto:")
        return address in self.addresses or self._trusts(address)

    def url(self, value: str) -> bool:
        return self._trusts(value.lower().rstrip("/"))

    def domain(self, value: str) -> bool:
        domain = value.lower()
        if self._trusts(domain):
            return True
        return any(_domain_of(a) == domain or _domain_of(a).endswith("." + domain) for a in self.addresses)

    def phone(self, value: str) -> bool:
        digits = _digits(value)
        if digits in _digits(self.request):
            return True
        if self.db is None:
            return False
        rows = self.db.execute(
            "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.author_is_me = 1 "
            "AND d.kind IN ('mail', 'chat') AND instr(c.text, ?) > 0 LIMIT 200", [digits[-4:]]).fetchall()
        return any(digits in _digits(row[0]) for row in rows)


def _replace(text: str, pattern: re.Pattern, decide) -> str:
    """`text` with each match of `pattern` (found in its folded form) replaced by what `decide`
    returns for it: None keeps the original characters."""
    folded = fold(text)
    out, last = [], 0
    for match in pattern.finditer(folded):
        replacement = decide(match)
        if replacement is None:
            continue
        out.append(text[last:match.start()])
        out.append(replacement)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _strip_trailing(value: str) -> str:
    while value and value[-1] in _TRAILING:
        value = value[:-1]
    return value


def guard_text(text: str, trusted: Trusted, contacts: bool = True) -> Guarded:
    """`text` with every untrusted image, link, address, domain, phone number and header line removed.
    `contacts=False` leaves email addresses and phone numbers be: an answer read by the person (`ask`)
    may quote them from their mail; a draft, which goes to someone, may not."""
    removed: list[Removed] = []

    def drop(kind: str, value: str, reason: str = NOT_TRUSTED) -> str:
        removed.append(Removed(kind, value, reason))
        return ""

    hidden = INVISIBLE.findall(text)
    if hidden:
        codes = sorted({f"U+{ord(c):04X}" for c in hidden})
        removed.append(Removed("invisible", " ".join(codes), f"{len(hidden)} invisible character(s) that can "
                                                             "hide text from a reader"))
        text = INVISIBLE.sub("", text)
    text = _replace(text, _HEADER_LINE, lambda m: drop(
        "header", m.group(0).strip(), "a header line in the body; recipients are set by the draft's own headers"))
    for pattern in (_MD_IMAGE, _HTML_IMAGE):
        text = _replace(text, pattern, lambda m: drop(
            "image", m.group(0), "a draft never embeds an image: opening it would load a remote resource"))

    def link(match: re.Match) -> str | None:
        url = match["url"]
        if trusted.url(url) or url.lower().startswith("mailto:") and trusted.address(url):
            return None
        removed.append(Removed("link", url, NOT_TRUSTED))
        return match["text"]

    text = _replace(text, _MD_LINK, link)
    text = _replace(text, _HTML_LINK, link)

    def bare_url(match: re.Match) -> str | None:
        url = _strip_trailing(match.group(0))
        if trusted.url(url):
            return None
        return drop("link", url) + match.group(0)[len(url):]

    text = _replace(text, _URL, bare_url)
    if contacts:
        text = _replace(text, _ADDRESS, lambda m: None if trusted.address(m.group(0)) else drop("address", m.group(0)))

    def bare_domain(match: re.Match) -> str | None:
        start = match.start()
        if any(s <= start < e for s, e in kept_spans):
            return None
        return None if trusted.domain(match.group(0)) else drop("domain", match.group(0))

    folded = fold(text)
    kept_spans = [m.span() for pattern in (_URL, _ADDRESS) for m in pattern.finditer(folded)]
    text = _replace(text, _DOMAIN, bare_domain)
    if contacts:
        text = _replace(text, _PHONE, lambda m: None if len(_digits(m.group(0))) < MIN_PHONE_DIGITS
                        or trusted.phone(m.group(0)) else drop("phone", m.group(0).strip()))
    return Guarded(_tidy(text) if removed else text, removed)


def _tidy(text: str) -> str:
    """What removal leaves behind: empty brackets, doubled spaces, runs of blank lines."""
    text = re.sub(r"\(\s*\)|\[\s*\]|<\s*>|‹\s*›", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+(?=[,.;:!?]|\n|\Z)", "", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def guard_recipients(addresses: list[str], trusted: Trusted) -> tuple[list[str], list[Removed]]:
    """The recipients that are trusted, and a `Removed` for each that is not."""
    kept, removed = [], []
    for address in addresses:
        if trusted.address(address):
            kept.append(address)
        else:
            removed.append(Removed("recipient", address, NOT_TRUSTED))
    return kept, removed


class GuardedStream:
    """A draft shown as it is written, a line at a time through `guard_text`: nothing the guard
    would remove reaches the screen. Pieces go on to `show`; `close` passes on the last line."""

    def __init__(self, show, trusted: Trusted) -> None:
        self.show = show
        self.trusted = trusted
        self.line = ""

    def __call__(self, piece: str) -> None:
        self.line += piece
        done, newline, self.line = self.line.rpartition("\n")
        if newline:
            self.show("\n".join(self._checked(line) for line in done.split("\n")) + "\n")

    def _checked(self, line: str) -> str:
        return guard_text(line, self.trusted).text if line.strip() else line

    def close(self) -> None:
        if self.line:
            self.show(self._checked(self.line))
        self.line = ""
