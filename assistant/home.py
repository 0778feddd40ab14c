"""The one directory that holds all state: config, the SQLite store, caches and logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "persona-assistant"
HOME_ENV = "ASSISTANT_HOME"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike | None = None) -> "Home":
        """`--home` wins, then `$ASSISTANT_HOME`, then the platform's user data dir."""
        chosen = explicit or os.environ.get(HOME_ENV) or platformdirs.user_data_dir(APP_NAME)
        return cls(Path(chosen).expanduser().resolve())

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "profile.db"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> "Home":
        for folder in (self.root, self.cache_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self
