"""How llama.cpp runs on this machine, decided in one place for every model it loads.

Both the drafting models (`assistant.generation`) and embedding GGUFs (`assistant.embedding`)
open their files through `open_llama`, so the load options (`load_plan`) cannot differ
between them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

EXTRA_BUFFERS_ENV = "ASSISTANT_LLAMA_EXTRA_BUFFERS"
THREADS_ENV = "ASSISTANT_LLAMA_THREADS"


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


def llama_threads(background: bool = False) -> int:
    """Threads for llama.cpp: `$ASSISTANT_LLAMA_THREADS`, else half the CPUs this process may use
    (llama-cpp-python's own default), but at least 2 for work a person waits on.

    On this project's 2-core machines, idle otherwise, Qwen2.5 1.5B with 2 threads read prompts
    1.9x and generated 1.45x as fast as with 1; but llama.cpp's threads spin while they wait for
    each other, and on cores busy with other work 2 threads embedded 3-5x slower than 1. So
    background work (the daemon's embedding) keeps to half, and a draft takes two.
    """
    forced = os.environ.get(THREADS_ENV, "").strip()
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    half = max(1, available // 2)
    return half if background else min(available, max(2, half))


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
    threads = llama_threads()
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


@contextlib.contextmanager
def planned_load_params(plan: LoadPlan):
    """While open, every `llama_cpp.Llama` built in this process loads weights as `plan` says.

    Llama() takes no argument for use_extra_bufts: it builds its params from
    `llama_model_default_params`, which is swapped here (under a lock: it is process-wide)."""
    import llama_cpp

    defaults = llama_cpp.llama_cpp.llama_model_default_params

    def planned_params():
        params = defaults()
        params.use_extra_bufts = plan.extra_buffers
        return params

    with _params_lock:
        llama_cpp.llama_cpp.llama_model_default_params = planned_params
        try:
            yield
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = defaults


def open_llama(path: Path, **kwargs):
    """`llama_cpp.Llama(path, …)` loaded as `load_plan()` says; every model goes through here."""
    from llama_cpp import Llama

    plan = load_plan()
    kwargs.setdefault("n_threads", plan.threads)
    kwargs.setdefault("n_threads_batch", plan.threads)
    kwargs.setdefault("verbose", False)
    with planned_load_params(plan):
        return Llama(model_path=str(path), **kwargs)
