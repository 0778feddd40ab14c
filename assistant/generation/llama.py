"""llama-cpp-python over a local GGUF, with every layer on the GPU when llama.cpp was built for one.

Models are opened through `assistant.llamacpp.open_llama`, which decides how llama.cpp loads
weights on this CPU (`load_plan`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from assistant.llamacpp import gpu_offload_supported, open_llama, quiet_native_stderr


class LlamaCppGenerator:
    def __init__(self, name: str, path: Path, context: int = 4096, gpu_layers: int = -1,
                 chat: bool = True, seed: int = 0) -> None:
        self.name = name
        self.path = Path(path)
        self.has_chat_template = chat
        layers = gpu_layers if gpu_offload_supported() else 0
        self.gpu_layers = layers
        with quiet_native_stderr():
            self._llm = open_llama(self.path, n_ctx=context, n_gpu_layers=layers, seed=seed)

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7,
                 stop: list[str] | None = None) -> str:
        out = self._llm.create_completion(prompt, max_tokens=max_tokens, temperature=temperature,
                                          stop=stop or [], repeat_penalty=1.15)
        return out["choices"][0]["text"]

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        out = self._llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=temperature,
                                               repeat_penalty=1.15)
        return out["choices"][0]["message"]["content"] or ""

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> Iterator[str]:
        for part in self._llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=temperature,
                                                     repeat_penalty=1.15, stream=True):
            piece = part["choices"][0]["delta"].get("content")
            if piece:
                yield piece

    def json(self, messages: list[dict], schema: dict, max_tokens: int = 256) -> str:
        out = self._llm.create_chat_completion(
            messages, max_tokens=max_tokens, temperature=0.0,
            response_format={"type": "json_object", "schema": schema},
        )
        return out["choices"][0]["message"]["content"] or ""

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
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))
