"""llama-cpp-python over a local GGUF, with every layer on the GPU when llama.cpp was built for one.

Models are opened through `assistant.llamacpp.open_llama`, which decides how llama.cpp loads
weights on this CPU (`load_plan`).

Every generation goes through `generate`, which streams text and reuses the KV state of the
prompt's stable prefix (the system message of a chat, the header of a completion prompt):
llama-cpp-python already keeps the longest common token prefix with the previous call inside
one `Llama`, and `generate` adds the state persisted on disk (`prefix_cache`) so a fresh
process starts warm too. A llama.cpp context is not thread-safe: one lock per model guards it.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from assistant.generation.base import sampling_seed
from assistant.generation.prefix_cache import PrefixStore, prefix_key
from assistant.llamacpp import gpu_offload_supported, open_llama, quiet_native_stderr

REPEAT_PENALTY = 1.15
MIN_SAVED_PREFIX = 32  # tokens: a shorter prefix is quicker to evaluate than to load


@dataclass
class PrefixReport:
    """What the last generation did with its stable prefix."""

    tokens: int = 0  # tokens in the prefix
    source: str = ""  # "memory" (still in the context), "disk" (persisted state), "evaluated", or "" (none)
    evaluated: int = 0  # prefix tokens evaluated for this generation


class LlamaCppGenerator:
    def __init__(self, name: str, path: Path, context: int = 4096, gpu_layers: int = -1,
                 chat: bool = True, seed: int = 0, sha256: str = "", cache_dir: Path | None = None) -> None:
        self.name = name
        self.path = Path(path)
        self.sha256 = sha256
        self.seed = seed
        self.has_chat_template = chat
        self.n_ctx = context
        layers = gpu_layers if gpu_offload_supported() else 0
        self.gpu_layers = layers
        self.lock = threading.Lock()
        self.prefixes = PrefixStore(cache_dir) if cache_dir else None
        self.last_prefix = PrefixReport()
        self._stable: dict[str, str] = {}
        with quiet_native_stderr():
            self._llm = open_llama(self.path, n_ctx=context, n_gpu_layers=layers, seed=seed)
        self._formatter = self._chat_formatter() if chat else None

    # -- prompts -----------------------------------------------------------------------------

    def _chat_formatter(self):
        """The GGUF's own chat template, rendered the way `create_chat_completion` renders it."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        model = self._llm._model
        eos, bos = self._llm.token_eos(), self._llm.token_bos()
        return Jinja2ChatFormatter(template=template, eos_token=model.token_get_text(eos) if eos != -1 else "",
                                   bos_token=model.token_get_text(bos) if bos != -1 else "",
                                   stop_token_ids=[eos])

    def render(self, messages: list[dict]) -> str:
        """The text the model reads for `messages`: its chat template applied."""
        if self._formatter is None:
            raise ValueError(f"model {self.name!r} has no chat template")
        return self._formatter(messages=messages).prompt

    def stable_prefix(self, messages: list[dict]) -> str:
        """The start of `render(messages)` that any request with the same system message shares."""
        if not messages or messages[0]["role"] != "system":
            return ""
        system = messages[0]["content"]
        if system not in self._stable:
            a, b = (self.render([messages[0], {"role": "user", "content": probe}]) for probe in ("A", "B"))
            self._stable = {system: os.path.commonprefix([a, b])}
        return self._stable[system]

    def _tokens(self, text: str, chat: bool) -> list[int]:
        # a rendered chat template carries its own BOS; raw completion text gets one added
        return self._llm.tokenize(text.encode("utf-8"), add_bos=not chat, special=chat)

    def logprob(self, context: str, continuation: str) -> tuple[float, int]:
        """The summed log-probability of `continuation` after `context` (raw text), and its token count.

        llama.cpp keeps logits for every position only when asked (`logits_all`); it is switched
        on for this one evaluation. The two texts together are cut to one batch (`n_batch` tokens),
        the size of the score buffer a model opened without `logits_all` has.
        """
        import numpy as np

        llm = self._llm
        head = llm.tokenize(context.encode("utf-8"), add_bos=True)
        tokens = (head + llm.tokenize(continuation.encode("utf-8"), add_bos=False))[: llm.n_batch]
        if len(tokens) <= len(head):
            return 0.0, 0
        saved = llm._logits_all
        llm._logits_all = True
        try:
            llm.reset()
            llm.eval(tokens)
            logits = np.array(llm.scores[len(head) - 1 : len(tokens) - 1], dtype=np.float64)
        finally:
            llm._logits_all = saved
            llm.reset()
        top = logits.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        targets = np.array(tokens[len(head):])
        return float((logits[np.arange(len(targets)), targets] - log_z).sum()), len(targets)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=self.has_chat_template))

    # -- generation --------------------------------------------------------------------------

    def generate(self, prompt: str | list[dict], max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None, prefix: str = "", avoid: list[str] | None = None,
                 seed: int = 0) -> Iterator[str]:
        """Stream the continuation of `prompt`: raw text, or chat messages through the template.

        `prefix` (for raw text; a chat's is its system message) is the stable start whose KV
        state is reused from this context or from disk, and saved when it had to be evaluated.
        `avoid`: texts the continuation may not paste from (`no_paste.NoPaste`).
        `seed`: which take of this prompt (`base.sampling_seed`).
        Closing the iterator stops generation; the context stays usable."""
        seed = sampling_seed(prompt, seed, self.seed)
        if not isinstance(prompt, str) and self._formatter is None:  # no template in the GGUF
            yield from self._untemplated_chat(prompt, max_tokens, temperature, seed)
            return
        tokens, prefix_tokens, prefix, stop, criteria = self.prepare(prompt, stop, prefix)
        processors = None
        if avoid:
            from llama_cpp import LogitsProcessorList

            from assistant.generation.no_paste import NoPaste

            processors = LogitsProcessorList([NoPaste(self._llm, avoid)])
        with self.lock:
            self._warm_prefix(tokens, prefix_tokens, prefix)
            parts = self._llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature, stop=stop,
                                                stopping_criteria=criteria, repeat_penalty=REPEAT_PENALTY,
                                                logits_processor=processors, seed=seed, stream=True)
            try:
                for part in parts:
                    piece = part["choices"][0]["text"]
                    if piece:
                        yield piece
            finally:
                parts.close()

    def prepare(self, prompt: str | list[dict], stop: list[str] | None = None, prefix: str = ""):
        """What llama.cpp is given for `prompt`: (tokens, prefix tokens, prefix text, stop strings,
        stopping criteria); a chat's prefix is the stable start of its rendered template."""
        stop = list(stop or [])
        if isinstance(prompt, str):
            return self._tokens(prompt, False), self._tokens(prefix, False) if prefix else [], prefix, stop, None
        rendered = self._formatter(messages=prompt)
        prefix = self.stable_prefix(prompt)
        stop += rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
        return (self._tokens(rendered.prompt, True), self._tokens(prefix, True) if prefix else [], prefix, stop,
                rendered.stopping_criteria)

    def _warm_prefix(self, tokens: list[int], prefix_tokens: list[int], prefix: str) -> None:
        """Have the context hold the prompt's stable prefix: still there, loaded from disk, or evaluated
        now (and saved). Records what happened in `last_prefix`."""
        n = _common(prefix_tokens, tokens)
        if prefix_tokens and n < len(prefix_tokens):
            n = max(0, n - 1)  # the prefix's last token merges with what follows: stop before it
        wanted = tokens[:n]
        if n < MIN_SAVED_PREFIX:
            self.last_prefix = PrefixReport(n, "" if not n else "evaluated", n - _common(self._llm._input_ids, wanted))
            return
        held = _common(self._llm._input_ids, wanted)
        if held == n:
            self.last_prefix = PrefixReport(n, "memory", 0)
            return
        key = prefix_key(prefix, self.name, self.sha256, self.n_ctx) if self.prefixes else ""
        if key and self._load_state(key, wanted):
            self.last_prefix = PrefixReport(n, "disk", 0)
            return
        self._llm.n_tokens = held
        self._llm.eval(wanted[held:])
        self.last_prefix = PrefixReport(n, "evaluated", n - held)
        if key:
            self.prefixes.save(key, wanted, self._state_bytes())

    def _state_bytes(self) -> bytes:
        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        return bytes(buffer)[:written]

    def _load_state(self, key: str, wanted: list[int]) -> bool:
        """Put the persisted state of `wanted` into the context; False (and the file dropped) when
        there is none, or it is for other tokens, or llama.cpp refuses it."""
        import llama_cpp

        found = self.prefixes.load(key)
        if found is None:
            return False
        tokens, state = found
        if tokens != wanted:
            self.prefixes.discard(key)
            return False
        llm = self._llm
        llm._ctx.kv_cache_clear()
        llm.n_tokens = 0
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(state), 0) != len(state):
            llm._ctx.kv_cache_clear()
            self.prefixes.discard(key)
            return False
        llm.input_ids[:len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True
        return True

    def _untemplated_chat(self, messages: list[dict], max_tokens: int, temperature: float,
                          seed: int) -> Iterator[str]:
        with self.lock:
            self.last_prefix = PrefixReport()
            parts = self._llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=temperature,
                                                     repeat_penalty=REPEAT_PENALTY, seed=seed, stream=True)
            try:
                for part in parts:
                    if piece := part["choices"][0]["delta"].get("content"):
                        yield piece
            finally:
                parts.close()

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None, prefix: str = "") -> str:
        return "".join(self.generate(prompt, max_tokens, temperature, stop, prefix=prefix))

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        return "".join(self.generate(messages, max_tokens, temperature))

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> Iterator[str]:
        return self.generate(messages, max_tokens, temperature)

    def json(self, messages: list[dict], schema: dict, max_tokens: int = 256) -> str:
        with self.lock:
            out = self._llm.create_chat_completion(
                messages, max_tokens=max_tokens, temperature=0.0,
                response_format={"type": "json_object", "schema": schema},
            )
        return out["choices"][0]["message"]["content"] or ""


def _common(a, b) -> int:
    """How many leading items `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
