"""llama-cpp-python over a local GGUF, with every layer on the GPU when llama.cpp was built for one.

Every model is opened through `open_llama`, the one place that decides how llama.cpp loads
weights on this CPU (see `load_plan`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator

EXTRA_BUFFERS_ENV = "ASSISTANT_LLAMA_EXTRA_BUFFERS"


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


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as the kernel reports them (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


@cache
def llama_system_info() -> str:
    """What llama.cpp was built with and found on this CPU ("AVX2 = 1 | AMX_INT8 = 1 | REPACK = 1 | …")."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class LoadPlan:
    extra_buffers: bool  # llama.cpp's extra buffer types: weights repacked for AMX or AVX2/AVX-512 kernels
    threads: int
    reason: str


def load_plan() -> LoadPlan:
    """How to open a GGUF on this machine, decided once for every model.

    llama.cpp built natively on a CPU with AMX repacks weights into its AMX buffer type at load
    and then crashes in `llama_decode` (upstream "segfault in ggml_backend_amx_mul_mat"), so
    where the CPU or the build has AMX the extra buffer types stay off. Elsewhere they stay on:
    the AVX2/AVX-512 repack of Q4_0-family weights is safe there.
    `$ASSISTANT_LLAMA_EXTRA_BUFFERS=on|off` overrides the choice.
    """
    threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    forced = os.environ.get(EXTRA_BUFFERS_ENV, "").strip().lower()
    if forced in {"on", "off"}:
        return LoadPlan(forced == "on", threads, f"{EXTRA_BUFFERS_ENV}={forced}")
    amx = sorted(f for f in cpu_flags() if f.startswith("amx"))
    if amx or "AMX" in llama_system_info():
        found = ", ".join(amx) or "AMX in llama.cpp's build"
        return LoadPlan(False, threads, f"extra buffer types off: this CPU has {found}, whose llama.cpp "
                                        "repack crashes in llama_decode")
    return LoadPlan(True, threads, "extra buffer types on: no AMX on this CPU, so weight repacking is safe")


_params_lock = threading.Lock()


def open_llama(path: Path, **kwargs):
    """`llama_cpp.Llama(path, …)` loaded as `load_plan()` says; every model goes through here."""
    import llama_cpp
    from llama_cpp import Llama

    plan = load_plan()
    kwargs.setdefault("n_threads", plan.threads)
    kwargs.setdefault("n_threads_batch", plan.threads)
    kwargs.setdefault("verbose", False)
    # Llama() takes no argument for use_extra_bufts: it builds its params from this function.
    defaults = llama_cpp.llama_cpp.llama_model_default_params

    def planned_params():
        params = defaults()
        params.use_extra_bufts = plan.extra_buffers
        return params

    with _params_lock:
        llama_cpp.llama_cpp.llama_model_default_params = planned_params
        try:
            return Llama(model_path=str(path), **kwargs)
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = defaults


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

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))
