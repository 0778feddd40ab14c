"""Redaction before storage: secrets never reach a chunk, a vector, the FTS index or a log.

Runs on every item's text before chunking. The foundation covers the common key
formats; the sources issue widens the list.
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)),
    ("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GITHUB_TOKEN", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("SLACK_TOKEN", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("OPENAI_KEY", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b")),
    ("PASSWORD", re.compile(r"(?i)\b(password|passwd|pwd|passcode)\s*[:=]\s*\S+")),
]


def redact(text: str) -> str:
    for label, pattern in _PATTERNS:
        if label == "PASSWORD":
            text = pattern.sub(lambda m: f"{m.group(1)}: [REDACTED:{label}]", text)
        else:
            text = pattern.sub(f"[REDACTED:{label}]", text)
    return text
