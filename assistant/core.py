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
        from assistant.embedding.embedder import load_embedder

        return load_embedder(self.config.embedding_backend, self.home.cache_dir)

    @cached_property
    def generator(self):
        from assistant.generation.catalog import load_generator

        return load_generator(self.config, self.home)

    @cached_property
    def searcher(self):
        """One loaded index per process; each search first picks up what changed in the store."""
        from assistant.retrieval.search import Searcher

        return Searcher(self.db, self.embedder, self.config)

    def refresh_search(self) -> None:
        """Load what changed in the store into the search index now, so the next query need not."""
        with self._search_lock:
            self.searcher.refresh()

    def search(self, query: str, k: int = 10, **filters):
        from assistant.retrieval.search import Filters

        with self._search_lock:
            self.searcher.refresh()
            return self.searcher.search(query, k=k, filters=Filters(**filters))
