"""`assistant doctor`: what this installation talks to, where its data lives, and how models run here."""

from __future__ import annotations

import tomllib

from assistant.config import Config
from assistant.home import Home

CPU_FLAGS_SHOWN = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
                   "amx_bf16")


def network_endpoints(home: Home) -> list[dict]:
    """Every server the config tells the assistant to reach; nothing by default."""
    if not home.config_path.exists():
        return []
    try:
        raw = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    return [{"kind": "imap", "name": str(account.get("name", "")), "host": str(account.get("host", "")),
             "port": account.get("port", 993)}
            for account in raw.get("imap", []) if isinstance(account, dict)]


def offline_settings() -> dict:
    """The variables that hold the Hugging Face libraries offline and silent, as this process has them."""
    import os

    from assistant.embedding import OFFLINE_ENV

    return {name: os.environ.get(name) for name in OFFLINE_ENV}


def report(home: Home, config: Config) -> dict:
    from assistant.generation.catalog import find_model
    from assistant.llamacpp import cpu_flags, gpu_offload_supported, llama_system_info, load_plan

    generator = find_model(config, config.generator)
    plan = load_plan()
    gpu = gpu_offload_supported()
    return {
        "home": str(home.root),
        "store": {"path": str(home.db_path), "exists": home.db_path.exists(),
                  "bytes": home.db_path.stat().st_size if home.db_path.exists() else 0, "encrypted": False},
        "network": network_endpoints(home),
        "offline": offline_settings(),
        "generator": {"name": generator.name, "origin": generator.origin, "installed": generator.installed(),
                      "role": generator.role},
        "embedding": {"backend": config.embedding_backend},
        "llama_cpp": {
            "extra_buffer_types": plan.extra_buffers, "threads": plan.threads, "why": plan.reason,
            "gpu_offload": gpu, "gpu_layers": config.gpu_layers if gpu else 0,
            "system_info": llama_system_info(),
        },
        "cpu_flags": [flag for flag in CPU_FLAGS_SHOWN if flag in cpu_flags()],
    }


def render(facts: dict) -> list[str]:
    network = facts["network"]
    llama = facts["llama_cpp"]
    store = facts["store"]
    lines = [
        f"home        {facts['home']}",
        f"store       {store['path']} ({store['bytes'] / 1e6:.1f} MB, "
        f"{'encrypted' if store['encrypted'] else 'not encrypted'})" if store["exists"]
        else f"store       {store['path']} (not created yet: run `assistant index PATH`)",
        "network     " + (", ".join(f"{e['kind']} {e['name']} → {e['host']}:{e['port']}" for e in network)
                          or "nothing is configured to use the network"),
        "offline     model libraries held offline, telemetry off: "
        + " ".join(f"{k}={v}" for k, v in facts["offline"].items()),
        f"drafting    {facts['generator']['name']} ({facts['generator']['origin']}, "
        f"{'installed' if facts['generator']['installed'] else 'NOT installed'})",
        f"embedding   {facts['embedding']['backend']}",
        "GPU         " + (f"offload on, {llama['gpu_layers']} layers (-1 = all)" if llama["gpu_offload"]
                           else "none: llama.cpp was built for the CPU only"),
        f"CPU         {' '.join(facts['cpu_flags']) or 'no flags read'}; {llama['threads']} threads",
        f"llama.cpp   {llama['why']}",
        f"            {llama['system_info']}",
    ]
    return lines
