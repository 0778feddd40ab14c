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
_NOT_REDACTED = r"(?!\[REDACTED:)"
_VALUE = r"[^\s\"',;<>]+"
_TOKEN_VALUE = r"[A-Za-z0-9_\-./+=~]{8,}"


def _assignment(keys: str, value: str = _VALUE) -> re.Pattern[str]:
    """`key: value`, `key=value`, `"key": "value"`: the key and separator stay, the value goes."""
    return re.compile(rf"(?i)(\b(?:{keys})\b[\"']?\s*[:=]\s*[\"']?){_NOT_REDACTED}({value})")


# (kind, pattern, group to replace: 0 = whole match, 2 = the value after a kept prefix)
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("PRIVATE_KEY", re.compile(
        r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----.*?-----END \1PRIVATE KEY\2-----", re.S), 0),
    # A key block cut off before its END line (a pasted fragment, a truncated file).
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
                               r"(?:\r?\n(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+: [^\n]*|=[A-Za-z0-9+/]{4}|))*"), 0),
    ("AWS_SECRET_KEY", _assignment(r"aws_secret_access_key|aws_secret_key|secret_access_key",
                                   r"[A-Za-z0-9/+=]{40}"), 2),
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
    ("BEARER_TOKEN", re.compile(rf"(?i)(\bauthorization\s*:\s*bearer\s+){_NOT_REDACTED}(\S+)"), 2),
    ("BEARER_TOKEN", re.compile(rf"(\bBearer\s+){_NOT_REDACTED}([A-Za-z0-9_\-.~+/]{{16,}}=*)"), 2),
    ("PASSWORD", _assignment(r"password|passwd|pwd|passcode|passphrase"), 2),
    ("SECRET", _assignment(r"secret|client_secret|secret_key", _TOKEN_VALUE), 2),
    ("API_KEY", _assignment(r"api[_-]?key|apikey|access[_-]?key", _TOKEN_VALUE), 2),
    ("TOKEN", _assignment(r"token|access_token|auth_token|refresh_token|api_token", _TOKEN_VALUE), 2),
]

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


def redact(text: str) -> str:
    """`text` with every recognised secret replaced by `[REDACTED:KIND]`."""
    if not text:
        return text
    for kind, pattern, group in _PATTERNS:
        placeholder = PLACEHOLDER.format(kind)
        if group:
            text = pattern.sub(lambda m, p=placeholder: m.group(1) + p, text)
        else:
            text = pattern.sub(placeholder, text)
    text = _CARD.sub(_checked("CREDIT_CARD", _card_valid), text)
    return _IBAN.sub(_checked("IBAN", iban_valid), text)


def redact_item(item) -> None:
    """Redact, in place, everything of an `Item` that is stored as text: text, title, author, metadata."""
    item.text = redact(item.text)
    item.title = redact(item.title)
    item.author = redact(item.author)
    item.context = redact(item.context)
    item.meta = {key: redact(value) if isinstance(value, str) else value for key, value in item.meta.items()}
