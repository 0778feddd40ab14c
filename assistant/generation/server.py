"""A model on the person's own hardware behind an OpenAI-compatible server: llama.cpp's `llama-server`
(which can spread one model over several machines with its RPC backend) or `python -m llama_cpp.server`.
How it is reached, and each failure's message, is `assistant.model_server`.
"""

from __future__ import annotations

import json
from typing import Callable, Iterator

from assistant.config import ServerSettings
from assistant.generation.base import sampling_seed
from assistant.model_server import MAX_REPLY_BYTES, ServerClient, choice

CHARS_PER_TOKEN = 4  # the estimate when the server has no tokenize endpoint (English, BPE vocabularies)


class ServerGenerator:
    """The `Generator` protocol over `[server]` (see `assistant.generation.base`)."""

    has_chat_template = True  # the server applies its model's chat template

    def __init__(self, settings: ServerSettings) -> None:
        self.client = ServerClient(settings)
        self.name = f"server:{settings.model}" if settings.model else "server"
        self.context = settings.context
        self._counter: Callable[[str], int] | None = None

    @property
    def n_ctx(self) -> int:
        return self.context

    def generate(self, prompt: str | list[dict], max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None, prefix: str = "", avoid: list[str] | None = None,
                 seed: int = 0) -> Iterator[str]:
        """Chat messages stream; raw text comes whole. `prefix` is the server's to cache (llama.cpp's
        servers reuse the longest matching prompt prefix in their slot by themselves). `avoid` goes
        unused: a server's sampling cannot be steered per token from here (the copy guard trims).
        The server samples with `base.sampling_seed` (llama.cpp's servers honour `seed`)."""
        seed = sampling_seed(prompt, seed)
        if isinstance(prompt, list):
            yield from self.stream(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed)
        else:
            yield self.complete(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop, seed=seed)

    def render(self, messages: list[dict]) -> str:
        """What the prompt budget counts: the messages' text (the server applies the template, whose
        few tokens per message the budget's margin covers)."""
        return "\n".join(f"{message['role']}: {message['content']}" for message in messages)

    def _body(self, seed: int | None = None, **fields) -> dict:
        model = self.client.settings.model
        return {**({"model": model} if model else {}), **({"seed": seed} if seed is not None else {}),
                "repeat_penalty": 1.15, **fields}

    def _chat(self, **fields) -> str:
        reply = self.client.post("/chat/completions", self._body(**fields))
        message = choice(self.client, self.client.url + "/chat/completions", reply).get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content") or "", str):
            raise self.client.garbage(self.client.url + "/chat/completions", json.dumps(reply))
        return message.get("content") or ""

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None, seed: int | None = None) -> str:
        url = self.client.url + "/completions"
        reply = self.client.post("/completions", self._body(prompt=prompt, max_tokens=max_tokens,
                                                            temperature=temperature, stop=stop or [], seed=seed))
        text = choice(self.client, url, reply).get("text")
        if not isinstance(text, str):
            raise self.client.garbage(url, json.dumps(reply))
        return text

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        return self._chat(messages=messages, max_tokens=max_tokens, temperature=temperature)

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7,
               seed: int | None = None) -> Iterator[str]:
        """Server-sent events: `data: {chunk}` lines up to `data: [DONE]`. Closing the generator (Ctrl-C)
        closes the connection, and the server stops generating."""
        url = self.client.url + "/chat/completions"
        response = self.client.open("/chat/completions", self._body(messages=messages, max_tokens=max_tokens,
                                                                    temperature=temperature, seed=seed, stream=True))
        with response:
            while True:
                try:
                    raw = response.readline(MAX_REPLY_BYTES)
                except OSError as exc:
                    raise self.client.unreachable(exc) from exc
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith(":"):  # event separators and keep-alive comments
                    continue
                if not line.startswith("data:"):
                    raise self.client.garbage(url, line)
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return
                delta = choice(self.client, url, self.client.decode(url, data.encode())).get("delta") or {}
                piece = delta.get("content") if isinstance(delta, dict) else None
                if piece:
                    yield piece

    def json(self, messages: list[dict], schema: dict, max_tokens: int = 256) -> str:
        """Constrained by the server's grammar: llama.cpp's servers turn `response_format`'s schema into one."""
        return self._chat(messages=messages, max_tokens=max_tokens, temperature=0.0,
                          response_format={"type": "json_object", "schema": schema})

    def count_tokens(self, text: str) -> int:
        """The server's own tokenizer when it has one (llama-server's /tokenize, llama_cpp.server's
        /extras/tokenize/count); else about one token per `CHARS_PER_TOKEN` characters."""
        if self._counter is None:
            self._counter = self._find_counter()
        return self._counter(text)

    def _find_counter(self) -> Callable[[str], int]:
        client = self.client
        if client.post("/tokenize", {"content": ""}, at_root=True, missing_ok=True) is not None:
            return lambda text: len(self._field(client.post("/tokenize", {"content": text}, at_root=True), "tokens"))
        counted = client.post("/extras/tokenize/count", {"input": ""}, at_root=True, missing_ok=True)
        if counted is not None:
            begin = self._field(counted, "count")  # llama_cpp.server adds the BOS token; the embedded count does not
            return lambda text: self._field(client.post("/extras/tokenize/count", {"input": text}, at_root=True),
                                            "count") - begin
        return lambda text: -(-len(text) // CHARS_PER_TOKEN)

    def _field(self, reply: dict, key: str):
        value = reply.get(key)
        if not isinstance(value, (int, list)) or isinstance(value, bool):
            raise self.client.garbage(self.client.root, json.dumps(reply))
        return value
