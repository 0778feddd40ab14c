"""Plugin discovery: pluggy over the `assistant` entry-point group.

`ASSISTANT_PLUGINS` pins which plugins load: a comma-separated list of entry-point
names (`files,draft`), or empty for none. Unset, every installed plugin loads.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

import pluggy

from assistant import hookspecs
from assistant.errors import UserError

ENTRY_POINT_GROUP = "assistant"
PLUGINS_ENV = "ASSISTANT_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None


def installed_plugins() -> list[PluginInfo]:
    """Every plugin in the entry-point group, listed without importing it."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        found.append(PluginInfo(ep.name, ep.value, dist))
    return sorted(found, key=lambda p: p.name)


def pinned_names() -> list[str] | None:
    raw = os.environ.get(PLUGINS_ENV)
    if raw is None:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def load_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("assistant")
    pm.add_hookspecs(hookspecs)
    available = {p.name: p for p in installed_plugins()}
    wanted = pinned_names()
    if wanted is None:
        chosen = list(available.values())
    else:
        missing = [name for name in wanted if name not in available]
        if missing:
            raise UserError(
                f"{PLUGINS_ENV} names plugin(s) {', '.join(missing)} that are not installed; "
                f"installed: {', '.join(available) or 'none'}"
            )
        chosen = [available[name] for name in wanted]
    # A plugin that fails to import is set aside with its reason; the others still load.
    pm.failed_plugins = {}
    for info in chosen:
        try:
            module = importlib.import_module(info.module)
        except Exception as exc:
            pm.failed_plugins[info.name] = f"{type(exc).__name__}: {exc}"
            continue
        pm.register(module, name=info.name)
    return pm


def call_each(hook, **kwargs) -> dict[str, str]:
    """Call every implementation of `hook` one plugin at a time, so one plugin's error costs only
    its own contribution. Returns {plugin name: error} for those that raised."""
    failed = {}
    for impl in hook.get_hookimpls():
        try:
            impl.function(**kwargs)
        except Exception as exc:
            failed[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
    return failed
