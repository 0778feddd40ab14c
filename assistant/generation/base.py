"""The `Generator` protocol every text generator implements."""

from __future__ import annotations

import json
import zlib
from typing import Iterator, Protocol


class Generator(Protocol):
    name: str
    n_ctx: int  # the context size, in tokens, that prompts are fitted to
    has_chat_template: bool

    def generate(self, prompt: str | list[dict], max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None, prefix: str = "", avoid: list[str] | None = None,
                 seed: int = 0) -> Iterator[str]:
        """Stream the continuation of raw text, or of chat messages through the chat template.
        `prefix`, the stable start of a raw-text prompt, may be served from a cache. `avoid`: texts
        whose long runs of words the continuation should not repeat, where the backend can steer
        its decoding (the embedded model does; a server cannot, and the copy guard trims afterwards).
        Sampling is seeded by `sampling_seed`: the same prompt and `seed` give the same text; another
        `seed` another take."""
        ...

    def render(self, messages: list[dict]) -> str:
        """The text a chat model reads for `messages` (to count its tokens)."""
        ...

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None) -> str:
        """Continue raw text (no chat template)."""
        ...

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        """Answer a list of {role, content} messages through the model's chat template."""
        ...

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> Iterator[str]:
        """Like `chat`, yielding text pieces as they are generated."""
        ...

    def json(self, messages: list[dict], schema: dict, max_tokens: int = 256) -> str:
        """A reply constrained to JSON matching `schema`."""
        ...

    def count_tokens(self, text: str) -> int:
        ...

    # Optional (a local llama.cpp model has it; a server may not): the summed log-probability of
    # `continuation` after `context` and its token count. Persona verification needs it.
    # def logprob(self, context: str, continuation: str) -> tuple[float, int]: ...


def sampling_seed(prompt: str | list[dict], seed: int = 0, base: int = 0) -> int:
    """The sampler's seed for one generation: a function of the prompt, the caller's `seed` (which
    take this is: a second candidate passes 1) and the model's own `base` seed only. llama-cpp-python
    left to itself draws each call's seed from the one before, so a draft depended on everything the
    process had generated earlier; with this, one request drafts the same text in any process."""
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)
    return zlib.crc32(f"{base}:{seed}:{text}".encode("utf-8"))
