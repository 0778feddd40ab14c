"""Contract test over every installed plugin, and the pin that chooses which load."""

import pytest

from assistant.errors import UserError
from assistant.plugins import installed_plugins, load_plugin_manager
from tests.conftest import run_cli


def test_first_party_plugins_are_installed_through_the_entry_point_group():
    names = {p.name for p in installed_plugins()}
    assert {"files", "draft", "mail", "chats"} <= names


@pytest.mark.parametrize("plugin", installed_plugins(), ids=lambda p: p.name)
def test_plugin_contract(plugin, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_PLUGINS", plugin.name)
    pm = load_plugin_manager()
    sources, skills = [], []
    pm.hook.register_sources(register=sources.append)
    pm.hook.register_skills(register=skills.append)
    import click

    group = click.Group()
    pm.hook.register_commands(cli=group)
    assert sources or skills or group.commands, f"{plugin.name} registers nothing"
    for source in sources:
        assert isinstance(source.name, str) and source.name
        assert source.claims(tmp_path) in (True, False)  # a folder: must not raise
        assert callable(source.read)
    for skill in skills:
        assert skill.name and skill.description and callable(skill.run)


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
