"""The hooks a plugin may implement. Each takes a `register` callback (or the CLI group).

A plugin is a module with `@hookimpl` functions, found through the `assistant`
entry-point group; the first-party ones under `plugins/` use exactly these hooks.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("assistant")
hookimpl = pluggy.HookimplMarker("assistant")


@hookspec
def register_sources(register):
    """Call `register(source)` for each `assistant.sources.Source` this plugin provides."""


@hookspec
def register_skills(register):
    """Call `register(skill)` for each `assistant.skills.Skill` this plugin provides."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the `assistant` CLI group `cli`."""


@hookspec
def register_jobs(register):
    """Call `register(name, interval_seconds, run)` for periodic work the daemon should do.

    `run(assistant)` is called on the daemon's writer thread with the daemon's
    `Assistant`; an exception is logged and the job is retried with exponential backoff.
    """


@hookspec
def after_ingest(assistant, report):
    """Called after a batch of documents was stored (profile building hangs here)."""
