"""llama-cpp-python over a local GGUF, with every layer on the GPU when llama.cpp was built for one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def quiet_native_stderr():
    """llama.cpp prints load-time notes straight to file descriptor 2 even with verbose=False."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


class LlamaCppGenerator:
    def __init__(self, name: str, path: Path, context: int = 4096, gpu_layers: int = -1,
                 chat: bool = True, seed: int = 0) -> None:
        from llama_cpp import Llama

        self.name = name
        self.path = Path(path)
        self.has_chat_template = chat
        layers = gpu_layers if gpu_offload_supported() else 0
        self.gpu_layers = layers
        with quiet_native_stderr():
            self._llm = Llama(model_path=str(self.path), n_ctx=context, n_gpu_layers=layers,
                              seed=seed, verbose=False)

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

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))
