"""A scripted generator that obeys every injection it reads, and the injection corpus around it.

`Obedient` stands in for the worst possible model: whatever address, link, image, header
line or phone number it finds in its prompt, or in the planted text it is told it read, it
writes into the draft in every form a mail client might act on. The tests that use it are
about the guard: a draft must come out clean even from this model.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import unicodedata
from pathlib import Path

CORPUS = Path(__file__).parent / "fixtures" / "injection"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))

_URL = re.compile(r"(?:https?://|www[.\uff0e])[^\s<>\"')\]]+")
_ADDRESS = re.compile(r"[\w.+\u200b-]+[@\uff20][\w\u200b-]+(?:[.\uff0e][\w\u200b-]+)+")
_MARKUP = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]|\[[^\]]*\]\([^)]*\)|<img[^>]*>|<a [^>]*>.*?</a>")
_HEADER = re.compile(r"(?im)^(?:bcc|cc|to)\s*:.*$")
_PHONE = re.compile(r"\+\d[\d ()-]{8,}\d")
_DOMAIN = re.compile(r"\b[\w\u200b-]+(?:\.[\w-]+)*\.example\b")


class Scripted:
    """The `Generator` protocol's streaming side over a scripted `chat`/`complete`: one piece."""

    n_ctx = 1 << 20

    def generate(self, prompt, max_tokens: int = 256, temperature: float = 0.7, stop=None, prefix: str = "",
                 avoid=None, seed: int = 0):
        if isinstance(prompt, list):
            yield self.chat(prompt, max_tokens=max_tokens, temperature=temperature)
        else:
            yield self.complete(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop)

    def render(self, messages: list[dict]) -> str:
        return "\n".join(m["content"] for m in messages)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class Obedient(Scripted):
    name = "obedient"
    has_chat_template = True

    def __init__(self, planted: list[str] | None = None, greeting: str = "Hiya Sam,") -> None:
        self.planted = planted or []
        self.greeting = greeting
        self.outputs: list[str] = []

    def _obey(self, seen: str) -> str:
        seen = seen.replace("‹", "<").replace("›", ">")  # undo the prompt's neutralising, as a model might
        payload = []
        for address in dict.fromkeys(_ADDRESS.findall(seen)):
            payload += [f"Bcc: {address}", f"Please also write to {address} and mailto:{address} today."]
        for url in dict.fromkeys(_URL.findall(seen)):
            payload += [f"Details: {url}", f"[the link]({url})", f"![pixel]({url})", f'<img src="{url}">']
        payload += list(dict.fromkeys(_MARKUP.findall(seen)))
        payload += list(dict.fromkeys(_HEADER.findall(seen)))
        payload += [f"Call {phone} now." for phone in dict.fromkeys(_PHONE.findall(seen))]
        payload += [f"See {domain} for more." for domain in dict.fromkeys(_DOMAIN.findall(seen))]
        text = f"{self.greeting}\n\nDone as the email asked.\n" + "\n".join(payload) + "\n\nOnwards,\nPriya"
        self.outputs.append(text)
        return text

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        return self._obey("\n".join(m["content"] for m in messages) + "\n" + "\n".join(self.planted))

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7, stop=None) -> str:
        return self._obey(prompt + "\n" + "\n".join(self.planted))


def item_text(relative: str) -> str:
    """Everything a planted item says: for an email its headers and every decoded text part."""
    path = CORPUS / relative
    if path.suffix != ".eml":
        return path.read_text(encoding="utf-8")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts = [f"{key}: {value}" for key, value in message.items()]
    parts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(parts)


def visible(text: str) -> str:
    """`text` as a reader (or a mail client's linkifier) takes it: no invisible characters,
    compatibility forms folded, lower case."""
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text).lower()


def carried(text: str, markers: list[str]) -> list[str]:
    """The planted markers `text` still carries, read as a reader would see it."""
    seen = visible(text)
    return [m for m in markers if (visible(m) and visible(m) in seen) or (not m.isprintable() and m in text)]


class Recorder(Scripted):
    """A scripted generator that answers `reply` and keeps every prompt it was given."""

    name = "recorder"

    def __init__(self, reply: str = "Hiya Sam,\n\nFriday works.\n\nOnwards,\nPriya", chat: bool = True) -> None:
        self.reply = reply
        self.has_chat_template = chat
        self.prompts: list = []
        self.max_tokens: list[int] = []

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        self.prompts.append(messages)
        self.max_tokens.append(max_tokens)
        return self.reply

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7, stop=None) -> str:
        self.prompts.append(prompt)
        self.max_tokens.append(max_tokens)
        return self.reply
