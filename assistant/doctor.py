"""`assistant doctor`: what this installation talks to, where its data lives, and how models run here."""

from __future__ import annotations

import tomllib

from assistant.config import Config
from assistant.errors import UserError
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
    peers = [{"kind": "imap", "name": str(account.get("name", "")), "host": str(account.get("host", "")),
              "port": account.get("port", 993)}
             for account in raw.get("imap", []) if isinstance(account, dict)]
    server = raw.get("server")
    if isinstance(server, dict):
        peers += [{"kind": "model server", "name": f"[server] {key}", "url": str(server[key])}
                  for key in ("url", "embedding_url") if server.get(key)]
    return peers


def store_facts(home: Home) -> dict:
    """Where the store is, and whether it is encrypted: by the home's marker (which says where the key
    comes from) and by the file's own first bytes (no key is read for this)."""
    from assistant.store.db import looks_encrypted, looks_plain
    from assistant.store.keys import read_marker

    path = home.db_path
    exists = path.exists()
    try:
        marker = read_marker(home.root)
        source, problem = (marker.describe() if marker else None), ""
    except UserError as exc:
        marker, source, problem = None, None, str(exc)
    if marker is not None and exists and looks_plain(path):
        problem = "encryption.json says the store is encrypted but the file is plain SQLite; it will not open"
    elif marker is None and not problem and looks_encrypted(path):
        problem = "the store file looks encrypted (or damaged) but the home has no encryption.json"
    return {"path": str(path), "exists": exists, "bytes": path.stat().st_size if exists else 0,
            "encrypted": marker is not None, "key_source": marker.source if marker else None,
            "key": source, "problem": problem}


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
        "store": store_facts(home),
        "network": network_endpoints(home),
        "offline": offline_settings(),
        "generator": {"name": generator.name, "origin": generator.origin, "installed": generator.installed(),
                      "role": generator.role, **({"url": generator.path} if generator.origin == "server" else {})},
        "embedding": {"backend": config.embedding_backend},
        "llama_cpp": {
            "extra_buffer_types": plan.extra_buffers, "threads": plan.threads, "why": plan.reason,
            "gpu_offload": gpu, "gpu_layers": config.gpu_layers if gpu else 0,
            "system_info": llama_system_info(),
        },
        "cpu_flags": [flag for flag in CPU_FLAGS_SHOWN if flag in cpu_flags()],
    }


def _address(peer: dict) -> str:
    return peer.get("url") or f"{peer['host']}:{peer['port']}"


def render(facts: dict) -> list[str]:
    network = facts["network"]
    llama = facts["llama_cpp"]
    store = facts["store"]
    lines = [
        f"home        {facts['home']}",
        f"store       {store['path']} ({store['bytes'] / 1e6:.1f} MB, "
        f"{'encrypted, key from ' + store['key'] if store['encrypted'] else 'not encrypted: assistant encrypt'})"
        if store["exists"] else f"store       {store['path']} (not created yet: run `assistant index PATH`"
        f"{'; it will be encrypted, key from ' + store['key'] if store['encrypted'] else ''})",
        *([f"            PROBLEM: {store['problem']}"] if store["problem"] else []),
        "network     " + (", ".join(f"{e['kind']} {e['name']} → {_address(e)}" for e in network)
                          or "nothing is configured to use the network"),
        "offline     model libraries held offline, telemetry off: "
        + " ".join(f"{k}={v}" for k, v in facts["offline"].items()),
        f"drafting    {facts['generator']['name']} ({facts['generator']['origin']}, "
        f"{'installed' if facts['generator']['installed'] else 'NOT installed'})"
        if facts["generator"]["origin"] != "server" else f"drafting    the [server] model at {facts['generator']['url']}",
        f"embedding   {facts['embedding']['backend']}",
        "GPU         " + (f"offload on, {llama['gpu_layers']} layers (-1 = all)" if llama["gpu_offload"]
                           else "none: llama.cpp was built for the CPU only"),
        f"CPU         {' '.join(facts['cpu_flags']) or 'no flags read'}; {llama['threads']} threads",
        f"llama.cpp   {llama['why']}",
        f"            {llama['system_info']}",
    ]
    return lines
