"""Redaction before storage: secrets never reach a chunk, a vector, the FTS index or a log.

Runs on every item's text and title (and its string metadata) before chunking. Each
secret becomes a typed placeholder `[REDACTED:KIND]`, so a search still shows that
something was there and what it was. Patterns are ordered most specific first; the
generic `key = value` forms run last and leave values already redacted alone.
Digit runs that look like card numbers are redacted only when the Luhn checksum
passes, and IBANs only when their mod-97 check does, so order numbers survive.
"""

from __future__ import annotations

import re
from typing import Callable

PLACEHOLDER = "[REDACTED:{}]"
_NOT_REDACTED = r"(?![\"']?\[REDACTED:)"
_VALUE = r"[^\s\"'`,;<>&]+"

# Key names that say their value is a secret. A key is an identifier (letters, digits, `_`, `.`,
# `-`) ending in the keyword, so `DB_PASSWORD`, `spring.datasource.password`, `_authToken`,
# `X-API-Key` count; SECRET may also carry a suffix (`SECRET_KEY_BASE`). A key never starts
# inside another identifier, and `tokenizer`, `max_tokens`, `secretary` are not keys.
_KEY_START = r"(?<![\w.-])[\w.-]*?"
_PASSWORD_KEYS = r"pass(?:word|wd|phrase|code)|pwd|(?<=[_.-])pass"
_SECRET_KEYS = r"secrets?(?:_?key|_?value)?(?:[_.-][A-Za-z0-9]+)*"
_API_KEY_KEYS = r"(?:api|access|auth|private|signing|encryption|master)[ _.-]?key"
_TOKEN_KEYS = r"token"
# The end of a key: a closing quote and bracket (JSON, `$config['key']`), then `=`, `:`, `:=` or `=>`.
_SEPARATOR = r"[\"']?\]?[ \t]*(?::=|=>|[:=])[ \t]*"
_QUOTED = r"\"(?:[^\"\\\n]|\\.)+\"|'[^'\n]+'"


def _assignment(kind: str, keys: str) -> list[tuple[str, re.Pattern[str], int]]:
    """`key = value` in every form: `.env`, `export`, YAML, JSON, INI, code and prose.

    A quoted value goes whole, spaces and all. An unquoted password on a line of its own
    (YAML, INI: `password: correct horse battery staple`) runs to the end of the line;
    elsewhere an unquoted value ends at the first space or delimiter.
    """
    key = rf"{_KEY_START}(?:{keys})"
    rest_of_line = r"[^\s\"'][^\n]*?(?=[ \t]*$)" if kind == "PASSWORD" else r"[^\s\"']\S*"
    line = re.compile(rf"(?im)^([ \t]*(?:export[ \t]+)?[\"']?{key}{_SEPARATOR}){_NOT_REDACTED}({_QUOTED}|{rest_of_line})")
    inline = re.compile(rf"(?i)({key}{_SEPARATOR}){_NOT_REDACTED}({_QUOTED}|{_VALUE})")
    return [(kind, line, 2), (kind, inline, 2)]


def looks_random(value: str) -> bool:
    """A value that is a credential rather than a word: at least 8 characters mixing two of
    lower case, upper case, digits and symbols (`-_.` aside), or 20 and more characters.
    `token: deprecated` and `tokenizer: bert-base-uncased` stay; `Zq8Xw3Lp6Vm1Kt4R` goes."""
    value = value.strip("\"'")
    if len(value) < 8 or " " in value:
        return False
    classes = (any(c.islower() for c in value) + any(c.isupper() for c in value)
               + any(c.isdigit() for c in value) + any(not c.isalnum() and c not in "-_." for c in value))
    return classes >= 2 or len(value) >= 20


# (kind, pattern, group to replace: 0 = whole match, 2 = the value after a kept prefix)
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("PRIVATE_KEY", re.compile(
        r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----.*?-----END \1PRIVATE KEY\2-----", re.S), 0),
    # A key block cut off before its END line (a pasted fragment, a truncated file).
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
                               r"(?:\r?\n(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+: [^\n]*|=[A-Za-z0-9+/]{4}|))*"), 0),
    ("AWS_SECRET_KEY", re.compile(rf"(?i)(\b(?:aws_secret_access_key|aws_secret_key|secret_access_key)\b"
                                  rf"{_SEPARATOR}[\"']?){_NOT_REDACTED}([A-Za-z0-9/+=]{{40}})"), 2),
    ("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"), 0),
    ("GITHUB_TOKEN", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), 0),
    ("GITHUB_TOKEN", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"), 0),
    ("GITLAB_TOKEN", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), 0),
    ("SLACK_WEBHOOK", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,}"), 0),
    ("SLACK_TOKEN", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0),
    ("ANTHROPIC_KEY", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), 0),
    ("OPENAI_KEY", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), 0),
    ("STRIPE_KEY", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"), 0),
    ("GOOGLE_API_KEY", re.compile(r"\bAIza[0-9A-Za-z_-]{30,40}"), 0),
    ("GOOGLE_OAUTH_SECRET", re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{20,}"), 0),
    ("SENDGRID_KEY", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"), 0),
    ("TWILIO_KEY", re.compile(r"\bSK[0-9a-f]{32}\b"), 0),
    ("NPM_TOKEN", re.compile(r"\bnpm_[A-Za-z0-9]{36,}\b"), 0),
    ("HUGGINGFACE_TOKEN", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    ("URL_CREDENTIALS", re.compile(r"(\b[a-z][a-z0-9+.-]*://)(?!\[REDACTED:)([^\s/:@]+:[^\s/@]+)(?=@)"), 2),
    ("BEARER_TOKEN", re.compile(rf"(?i)(\bauthorization[ \t]*:[ \t]*(?:bearer|token)[ \t]+){_NOT_REDACTED}(\S+)"), 2),
    ("BASIC_AUTH", re.compile(rf"(?i)(\bauthorization[ \t]*:[ \t]*basic[ \t]+){_NOT_REDACTED}(\S+)"), 2),
    ("BEARER_TOKEN", re.compile(rf"(\bBearer\s+){_NOT_REDACTED}([A-Za-z0-9_\-.~+/]{{16,}}=*)"), 2),
]
_ASSIGNMENTS = [*_assignment("PASSWORD", _PASSWORD_KEYS), *_assignment("SECRET", _SECRET_KEYS),
                *_assignment("API_KEY", _API_KEY_KEYS), *_assignment("TOKEN", _TOKEN_KEYS)]
# One scan that says whether any `key = value` pattern can match: most text holds none.
_ASSIGNMENT_HINT = re.compile(rf"(?i)(?:pass|pwd|secret|key|token)[\w.-]*{_SEPARATOR}")
# Only a password is taken whatever it looks like; a secret, key or token must look random.
_ANY_VALUE = {"PASSWORD", "URL_CREDENTIALS", "BEARER_TOKEN", "BASIC_AUTH", "AWS_SECRET_KEY"}

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _checked(kind: str, valid: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return PLACEHOLDER.format(kind) if valid(match.group(0)) else match.group(0)

    return replace


def _card_valid(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _replace_value(kind: str) -> Callable[[re.Match[str]], str]:
    """Keep the prefix (key, separator) and the quotes around a quoted value; replace the value."""
    placeholder = PLACEHOLDER.format(kind)

    def replace(match: re.Match[str]) -> str:
        value = match.group(2)
        if kind not in _ANY_VALUE and not looks_random(value):
            return match.group(0)
        quote = value[0] if len(value) > 1 and value[0] in "\"'" and value[-1] == value[0] else ""
        return match.group(1) + quote + placeholder + quote

    return replace


def redact(text: str) -> str:
    """`text` with every recognised secret replaced by `[REDACTED:KIND]`."""
    if not text:
        return text
    patterns = _PATTERNS + _ASSIGNMENTS if _ASSIGNMENT_HINT.search(text) else _PATTERNS
    for kind, pattern, group in patterns:
        text = pattern.sub(_replace_value(kind) if group else PLACEHOLDER.format(kind), text)
    text = _CARD.sub(_checked("CREDIT_CARD", _card_valid), text)
    return _IBAN.sub(_checked("IBAN", iban_valid), text)


def redact_item(item) -> None:
    """Redact, in place, everything of an `Item` that is stored as text: text, title, author, metadata."""
    item.text = redact(item.text)
    item.title = redact(item.title)
    item.author = redact(item.author)
    item.context = redact(item.context)
    item.meta = {key: redact(value) if isinstance(value, str) else value for key, value in item.meta.items()}
