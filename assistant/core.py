"""`Assistant`: the one object the CLI, TUI and daemon share.

It holds the home, config, store and plugins, and loads the heavy parts (embedding
model, generator) only when first used.
"""

from __future__ import annotations

from functools import cached_property

from assistant.config import Config
from assistant.errors import UserError
from assistant.home import Home


class Assistant:
    def __init__(self, home: Home, config: Config | None = None) -> None:
        self.home = home.ensure()
        self.config = config or Config.load(home)

    @cached_property
    def db(self):
        from assistant.store import connect

        return connect(self.home.db_path)

    @cached_property
    def plugins(self):
        from assistant.plugins import load_plugin_manager

        return load_plugin_manager()

    @cached_property
    def sources(self) -> list:
        found: list = []
        self.plugins.hook.register_sources(register=found.append)
        return found

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
        from assistant.embedding.embedder import MiniLMEmbedder

        return MiniLMEmbedder()

    @cached_property
    def generator(self):
        from assistant.generation.catalog import load_generator

        return load_generator(self.config, self.home)

    def search(self, query: str, k: int = 10, **filters):
        from assistant.retrieval.search import Filters, search

        return search(self.db, self.embedder, query, k=k, filters=Filters(**filters), config=self.config)
