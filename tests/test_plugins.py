"""Contract test over every installed plugin, and the pin that chooses which load."""

from pathlib import Path

import pytest

from assistant.errors import UserError
from assistant.plugins import installed_plugins, load_plugin_manager
from assistant.sources import Item
from tests.conftest import PRIYA, SAMPLE, run_cli


def test_first_party_plugins_are_installed_through_the_entry_point_group():
    names = {p.name for p in installed_plugins()}
    assert {"files", "draft", "mail", "chats"} <= names


FIXTURES = Path(__file__).parent / "fixtures"
# One file (or folder) per source, in the shape that source exists to read.
SAMPLES = {
    "files": SAMPLE / "notes" / "reading-list.md",
    "documents": FIXTURES / "documents" / "swale-sections.pdf",
    "mail": SAMPLE / "mail" / "inbox" / "01-sam-alder-budget.eml",
    "chats": SAMPLE / "chats" / "priya-sam.jsonl",
    "sessions": FIXTURES / "chats" / "sessions" / "2024-05-02-morning.jsonl",
    "whatsapp": FIXTURES / "chats" / "whatsapp-android.txt",
    "telegram": FIXTURES / "chats" / "telegram" / "result.json",
    "slack": FIXTURES / "chats" / "slack-export",
    "chatgpt": FIXTURES / "chats" / "chatgpt" / "conversations.json",
}


@pytest.mark.parametrize("plugin", installed_plugins(), ids=lambda p: p.name)
def test_plugin_contract(plugin, monkeypatch, tmp_path):
    """Each source claims its own kind of file, reads it into items, and leaves other sources' files
    alone (a generic source may also claim a more specific, higher-priority source's file: that one wins)."""
    monkeypatch.setenv("ASSISTANT_PLUGINS", plugin.name)
    pm = load_plugin_manager()
    sources, skills = [], []
    pm.hook.register_sources(register=sources.append)
    pm.hook.register_skills(register=skills.append)
    import click

    group = click.Group()
    pm.hook.register_commands(cli=group)
    jobs = []
    pm.hook.register_jobs(register=lambda *job: jobs.append(job))
    listens = pm.hook.after_ingest.get_hookimpls()
    assert sources or skills or group.commands or jobs or listens, f"{plugin.name} registers nothing"
    monkeypatch.delenv("ASSISTANT_PLUGINS")
    everyone: list = []
    load_plugin_manager().hook.register_sources(register=everyone.append)
    priority = {source.name: getattr(source, "priority", 0) for source in everyone}
    for source in sources:
        assert source.name in SAMPLES, f"add a sample file for source {source.name!r} to SAMPLES"
        assert source.claims(SAMPLES[source.name]), f"{source.name} does not claim its own sample"
        assert source.claims(tmp_path) is False  # an empty folder: not claimed, and no exception
        for other, path in SAMPLES.items():
            if other != source.name and priority[other] <= priority[source.name]:
                assert not source.claims(path), f"{source.name} claims {other}'s file {path.name}"
        items = [item for item in source.read(SAMPLES[source.name], PRIYA) if isinstance(item, Item)]
        assert items and all(item.kind in ("doc", "mail", "attachment", "chat") and item.uri for item in items)
    for skill in skills:
        assert skill.name and skill.description and callable(skill.run)


def test_every_sample_is_read_by_its_own_source_when_all_plugins_load(temp_home):
    from assistant.core import Assistant

    ordered = Assistant(temp_home).sources  # highest priority first, as the index tries them
    for name, path in SAMPLES.items():
        assert next(source.name for source in ordered if source.claims(path)) == name, path


def test_pin_limits_what_loads(monkeypatch):
    monkeypatch.setenv("ASSISTANT_PLUGINS", "files")
    sources = []
    load_plugin_manager().hook.register_sources(register=sources.append)
    assert [s.name for s in sources] == ["files"]
    monkeypatch.setenv("ASSISTANT_PLUGINS", "")
    sources = []
    load_plugin_manager().hook.register_sources(register=sources.append)
    assert sources == []


def test_unknown_plugin_names_what_is_installed(monkeypatch):
    monkeypatch.setenv("ASSISTANT_PLUGINS", "files,nope")
    with pytest.raises(UserError, match="nope.*installed: .*files"):
        load_plugin_manager()


def test_plugins_list_cli():
    result = run_cli("plugins", "list")
    assert result.returncode == 0 and "draft" in result.stdout and "files" in result.stdout


def test_a_broken_plugin_is_set_aside_and_the_rest_load(monkeypatch, tmp_path):
    """A third-party plugin that fails to import must not take the CLI or the other plugins down."""
    import importlib.metadata as md

    from assistant import plugins as plugin_module

    broken = tmp_path / "broken_plugin.py"
    broken.write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugin_module.entry_points

    def with_broken(group):
        eps = list(real(group=group))
        return eps + [md.EntryPoint(name="broken", value="broken_plugin", group=group)]

    monkeypatch.setattr(plugin_module, "entry_points", with_broken)
    pm = load_plugin_manager()
    assert "boom at import" in pm.failed_plugins["broken"]
    sources = []
    pm.hook.register_sources(register=sources.append)
    assert "files" in [s.name for s in sources]
