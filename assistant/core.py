"""`Assistant`: the one object the CLI, TUI and daemon share.

It holds the home, config, store and plugins, and loads the heavy parts (embedding
model, generator) only when first used.
"""

from __future__ import annotations

import threading
from functools import cached_property

from assistant.config import Config
from assistant.errors import UserError
from assistant.home import Home


class Assistant:
    def __init__(self, home: Home, config: Config | None = None) -> None:
        self.home = home.ensure()
        self.config = config or Config.load(home)
        # One search (and index refresh) at a time on the shared `Searcher`; threads that
        # search (the daemon's socket handlers, a draft picking exemplars) take turns here.
        self._search_lock = threading.Lock()

    @cached_property
    def db(self):
        """The store, its `author_is_me` flags brought in line with the configured `[me]`."""
        from assistant.attribution import sync_attribution
        from assistant.store import connect

        db = connect(self.home.db_path)
        sync_attribution(db, self.config.me)
        return db

    @cached_property
    def plugins(self):
        from assistant.plugins import load_plugin_manager

        return load_plugin_manager()

    @cached_property
    def sources(self) -> list:
        """Registered sources, highest `priority` first (default 0): the first whose `claims()` is
        True reads a path, so a specific shape (a WhatsApp `.txt`) wins over a generic one (`.txt`)."""
        found: list = []
        self.plugins.hook.register_sources(register=found.append)
        return sorted(found, key=lambda source: -getattr(source, "priority", 0))

    @cached_property
    def skills(self) -> dict:
        found: dict = {}
        self.plugins.hook.register_skills(register=lambda skill: found.__setitem__(skill.name, skill))
        return found

    def skill(self, name: str):
        if name not in self.skills:
            raise UserError(
                f"no skill named {name!r} is loaded; loaded: {', '.join(sorted(self.skills)) or 'none'} "
                "(check ASSISTANT_PLUGINS and `assistant plugins list`)"
            )
        return self.skills[name]

    @cached_property
    def embedder(self):
        """The model the store's codes were made with, which search embeds questions with: the
        configured one, or while a change of model is being re-embedded, the previous one."""
        from assistant.embedding.embedder import load_embedder
        from assistant.ingest.reembed import serving_model

        serving = serving_model(self.db)
        if serving is None or serving == self.configured_model:
            return load_embedder(self.config, self.home.cache_dir)
        return load_embedder(self.config, self.home.cache_dir, model=serving)

    @property
    def configured_model(self) -> str:
        from assistant.embedding.embedder import configured_model

        return configured_model(self.config)

    @cached_property
    def target_embedder(self):
        """The model `[embedding] backend` names (`reembed` moves the store's codes to it)."""
        from assistant.embedding.embedder import load_embedder

        if self.embedder.name == self.configured_model:
            return self.embedder
        return load_embedder(self.config, self.home.cache_dir)

    @cached_property
    def generator(self):
        from assistant.generation.catalog import load_generator
        from assistant.store.sealed import sealing

        # The saved prefix state holds the persona's text; an encrypted home keeps it in memory only.
        cache = None if sealing(self.home) else self.home.cache_dir / "prefix"
        return load_generator(self.config, cache_dir=cache)

    @cached_property
    def searcher(self):
        """One loaded index per process; each search first picks up what changed in the store."""
        from assistant.retrieval.search import Searcher

        return Searcher(self.db, self.embedder, self.config)

    def follow_store(self) -> None:
        """Drop the loaded embedder and index when the store's codes are now another model's: a
        re-embed finished since they were loaded (in this process, the daemon or another command)."""
        from assistant.ingest.reembed import serving_model

        loaded = self.__dict__.get("embedder")
        if loaded is not None and serving_model(self.db) not in (None, loaded.name):
            for name in ("searcher", "embedder", "target_embedder"):
                self.__dict__.pop(name, None)

    def refresh_search(self) -> None:
        """Load what changed in the store into the search index now, so the next query need not."""
        with self._search_lock:
            self.searcher.refresh()

    def search(self, query: str, k: int = 10, **filters):
        from assistant.retrieval.search import Filters

        if k < 1:  # the CLI checks too; this guards the daemon's socket and other callers
            raise UserError(f"k, the number of results, must be 1 or more, got {k}")
        with self._search_lock:
            self.follow_store()
            self.searcher.refresh()
            return self.searcher.search(query, k=k, filters=Filters(**filters))
