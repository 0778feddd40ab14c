"""Which extraction path runs, and the one call the CLI, `index` and the daemon make to refresh facts.

The capable-model path (schema-constrained JSON from the drafting model) runs when the
configured generator is a model the person added (`assistant models add`) whose file is at
least `CAPABLE_MIN_BYTES` (a 3B model at 4 bits and up): the embedded models (135M–1.5B)
return JSON that fits the schema but rarely says anything true about the writer, so for
them the patterns of the embedded path do better. The environment variable
`ASSISTANT_FACTS_PATH=embedded|capable` overrides the choice.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

CAPABLE_MIN_BYTES = 1_800_000_000
PATH_ENV = "ASSISTANT_FACTS_PATH"


def extraction_path(config) -> str:
    """"capable" or "embedded", for the configured generator (see the module docstring)."""
    forced = os.environ.get(PATH_ENV, "").strip().lower()
    if forced in ("capable", "embedded"):
        return forced
    from assistant.generation.catalog import find_model

    try:
        entry = find_model(config, config.generator)
    except Exception:  # an unknown model name is reported by whatever drafts with it, not here
        return "embedded"
    if entry.origin == "added" and entry.role != "embedding" and Path(entry.path).is_file() \
            and Path(entry.path).stat().st_size >= CAPABLE_MIN_BYTES:
        return "capable"
    return "embedded"


def refresh(assistant, limit: int | None = None, on_progress: Callable[[int], None] | None = None):
    """Read the person's writing not yet read for facts, with the path `extraction_path` picks."""
    from assistant.profile.fact_refresh import refresh_facts

    generator = assistant.generator if extraction_path(assistant.config) == "capable" else None
    report = refresh_facts(assistant.db, assistant.embedder, generator, limit=limit, on_progress=on_progress)
    log.info("facts: %s", report.summary())
    return report
