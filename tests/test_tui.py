"""The terminal app, driven with textual's Pilot over the real store, plus snapshots and a real terminal."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

pytest.importorskip("textual")

from textual.command import CommandPalette  # noqa: E402
from textual.widgets import DataTable, Input, ProgressBar, Static, TabbedContent, TextArea  # noqa: E402

from assistant.core import Assistant  # noqa: E402
from assistant.tui.app import make_app  # noqa: E402
from assistant.tui.chat import ChatArea  # noqa: E402

pytestmark = pytest.mark.anyio  # the Pilot tests are coroutines, run by anyio's pytest plugin

AREAS = ["chat", "draft", "profile", "sources", "suggestions"]
KEYS = {"chat": "f1", "draft": "f2", "profile": "f3", "sources": "f4", "suggestions": "f5"}


def sample_app(home, embedder, **options):
    """The app over the indexed sample person, sharing the session's loaded embedding model."""
    assistant = Assistant(home)
    assistant.__dict__["embedder"] = embedder
    return make_app(assistant=assistant, **{"preload": False, **options})


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def errors(app) -> list:
    return [n for n in app._notifications if n.severity == "error"]


# -- first screen, empty store, missing model ----------------------------------------------------

async def test_every_area_is_reachable_from_the_first_screen(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tabs = app.query_one(TabbedContent)
        labels = [str(tab.label) for tab in tabs.query("ContentTab")]
        assert labels == ["Chat", "Draft", "Profile", "Sources", "Suggestions"]
        for area in AREAS:
            await pilot.press("escape", KEYS[area])
            await pilot.pause()
            assert tabs.active == area


async def test_an_empty_store_says_what_to_index_and_how(assistant):
    app = make_app(assistant=assistant, preload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        hint = text_of(app, "#chat-hint")
        assert "Nothing is indexed yet" in hint and "assistant index" in hint
        assert "0 documents" in text_of(app, "#sources-daemon")


async def test_a_missing_model_is_a_notification_and_the_rest_works(sample_home, embedder):
    app = sample_app(sample_home, embedder, preload=True)
    app.assistant.config.generator = "no-such-model"
    async with app.run_test(size=(80, 24)) as pilot:
        # drawn and answering keys before the models have loaded
        await pilot.press("f3")
        assert app.query_one(TabbedContent).active == "profile"
        await settle(pilot)
        failed = errors(app)
        assert [n.title for n in failed] == ["Drafting model unavailable: chat answers and drafts will not work"]
        assert "no-such-model" in failed[0].message
        assert "From 40 emails you sent" in text_of(app, "#profile-style")


# -- chat -------------------------------------------------------------------------------------

@pytest.mark.slow
async def test_chat_cites_passages_answers_and_saves_the_session(sample_home, embedder):
    app = sample_app(sample_home, embedder, max_tokens=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"what did I tell Sam about planting week?", "enter")
        await settle(pilot)
        turns = [str(w.render()) for w in app.query(".turn-sources")]
        assert turns[0].startswith("[1] ")
        first = turns[0].splitlines()[0]  # "[1] TITLE — YYYY-MM-DD"
        title, _, date = first[4:].rpartition(" — ")
        assert app.assistant.db.execute("SELECT count(*) FROM documents WHERE title = ?", [title]).fetchone()[0]
        assert len(date) == 10 and date[4] == "-"
        answer = str(app.query(".turn-answer").last().render())
        assert answer
        lines = [json.loads(line) for line in app.query_one(ChatArea).session.path.read_text().splitlines()]
        assert [line["role"] for line in lines] == ["user", "assistant"]
        assert lines[0]["text"] == "what did I tell Sam about planting week?" and lines[1]["text"] == answer
        assert app.query_one(ChatArea).session.path.parent == sample_home.root / "sessions"
        saved = app.query_one(ChatArea).session.path
        await pilot.press(*"/forget", "enter")
        await pilot.pause()
        assert not saved.exists() and app.query_one(ChatArea).session.path != saved
        assert not errors(app)


async def test_chat_help_and_unknown_commands(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"/help", "enter")
        await pilot.pause()
        assert "/forget" in str(app.query(".turn-sources").last().render())
        await pilot.press(*"/nope", "enter")
        await pilot.pause()
        assert "/help" in errors(app)[0].message
        assert not app.query_one(ChatArea).session.path.exists()  # commands are not turns


# -- draft ------------------------------------------------------------------------------------

@pytest.mark.slow
async def test_draft_shows_why_and_saves_an_eml(sample_home, embedder):
    app = sample_app(sample_home, embedder, max_tokens=24)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2", *"ask Sam to confirm the planting date")
        app.query_one("#draft-to", Input).value = "Sam"
        await pilot.press("enter")
        await settle(pilot)
        text = app.query_one("#draft-text", TextArea).text
        assert text.strip()
        why = text_of(app, "#draft-why")
        assert "Your emails used as examples" in why and "• none found" not in why
        mine = app.assistant.db.query("SELECT title FROM documents WHERE author_is_me = 1")
        sent_titles = {r["title"] for r in mine}
        examples = why.split("Your emails used as examples:\n")[1].split("\n\n")[0].splitlines()
        listed = [line[2:].rsplit(" (", 1)[0] for line in examples]
        assert listed and set(listed) <= sent_titles
        assert "Opens with a greeting like" in why
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list((sample_home.root / "drafts").glob("*.eml"))
        assert len(saved) == 1
        message = email.message_from_bytes(saved[0].read_bytes(), policy=email.policy.default)
        assert message["To"] == "Sam" and message["From"] == "priya@fernhill.example"
        assert message.get_content().strip() == text.strip()
        assert not errors(app)


async def test_draft_recipient_completes_from_correspondents(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "tab", *"jan", "right")
        value = app.query_one("#draft-to", Input).value
        assert value.lower().startswith("jan") and len(value) > 3
        people = app.assistant.db.execute("SELECT group_concat(recipients) || group_concat(author) FROM documents")
        assert value in people.fetchone()[0]


async def test_draft_without_a_request_warns(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2", "enter", "ctrl+s")
        await pilot.pause()
        titles = [n.title for n in app._notifications]
        assert titles == ["No request", "Nothing to save"]
        assert not app.workers._workers or all(w.group != "draft" for w in app.workers._workers)


# -- profile, sources, suggestions --------------------------------------------------------------

async def test_profile_lists_style_per_correspondent_and_no_invented_facts(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        table = app.query_one("#profile-people", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        from assistant.profile.style import stored_style

        style = stored_style(app.assistant.db)
        assert [r[0] for r in rows] == [address for address, _ in style.correspondents]
        sam = next(r for r in rows if r[0].startswith("sam"))
        assert sam[2] == style.by_correspondent[sam[0]]["greeting"]
        assert "not learned yet" in text_of(app, "#profile-facts")


async def test_sources_counts_errors_and_reindex(sample_home, embedder, tmp_path):
    app = sample_app(sample_home, embedder)
    db = app.assistant.db
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        counts = app.query_one("#sources-counts", DataTable)
        rows = {counts.get_row_at(i)[0]: counts.get_row_at(i) for i in range(counts.row_count)}
        mail = db.execute("SELECT count(*), sum(author_is_me) FROM documents d JOIN sources s ON s.id = d.source_id "
                          "WHERE s.name = 'mail'").fetchone()
        assert tuple(rows["mail"][2:4]) == mail
        quarantined = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        assert app.query_one("#sources-errors", DataTable).row_count == quarantined
        assert "Daemon: stopped" in text_of(app, "#sources-daemon")

        folder = tmp_path / "new-notes"
        folder.mkdir()
        (folder / "bees.md").write_text("# Bees\n\nThe hive by the swale needs a second super by June.\n")
        (folder / "broken.txt").write_bytes(b"\x00\xff" * 64)
        app.query_one("#index-path", Input).value = str(folder)
        await pilot.click("#index-go")
        await settle(pilot)
        await settle(pilot)  # the overview reloads after indexing
        assert db.execute("SELECT count(*) FROM documents WHERE title = 'Bees'").fetchone()[0] == 1
        bar = app.query_one("#index-progress", ProgressBar)
        assert bar.total == 2 and bar.progress == 2
        assert [n.title for n in app._notifications][-1] == "Indexed"
        assert app.query_one("#sources-errors", DataTable).row_count == quarantined + 1
        from assistant.config import Config

        assert str(folder.resolve()) in Config.load(sample_home).source_paths


async def test_reindex_of_a_missing_path_names_it(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4", *"/no/such/folder", "enter")
        await settle(pilot)
        assert "/no/such/folder does not exist" in errors(app)[0].message


async def test_suggestions_list_only_mail_without_a_reply(sample_home, embedder, tmp_path):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        assert text_of(app, "#suggestions-note").startswith("No replies owed")  # she answered all of it
        assert not app.query_one("#suggestions-owed", DataTable).display

    from assistant.ingest.pipeline import index_paths

    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "sam-gravel.eml").write_text(
        "From: Sam Okoye <sam@fernhill.example>\nTo: priya@fernhill.example\nSubject: gravel for the paths?\n"
        "Date: Mon, 03 Aug 2026 09:00:00 +0000\nMessage-ID: <gravel.0803@fernhill.example>\n\n"
        "Which gravel did we settle on for the paths?\n")
    (tmp_path / "inbox" / "stranger.eml").write_text(
        "From: Someone New <new@elsewhere.example>\nTo: priya@fernhill.example\nSubject: hello\n"
        "Date: Tue, 04 Aug 2026 09:00:00 +0000\nMessage-ID: <hello.0804@elsewhere.example>\n\nHi there.\n")
    assert index_paths(app.assistant, [tmp_path / "inbox"]).failed == 0
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#suggestions-owed", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [["Sam Okoye <sam@fernhill.example>", "gravel for the paths?", "2026-08-03"]]
        assert text_of(app, "#suggestions-note").startswith("Replies you may owe")


# -- keys, palette, resize ----------------------------------------------------------------------

async def test_question_mark_shows_keys_and_palette_runs_our_commands(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to sources")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "sources"


async def test_resizing_to_60x20_does_not_crash(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for area in AREAS:
            await pilot.press("escape", KEYS[area])
            await pilot.resize_terminal(60, 20)
            await pilot.pause()
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
        assert app.is_running and app.size == (80, 24)


# -- snapshots: each area at 80x24 and 120x40 ---------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("area", AREAS)
def test_snapshot(area, size, sample_home, embedder, snap_compare):
    async def show(pilot):
        await settle(pilot)
        await pilot.press("escape", KEYS[area])
        await settle(pilot)

    assert snap_compare(sample_app(sample_home, embedder), terminal_size=size, run_before=show)


# -- a real terminal --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_assistant_tui_in_a_real_terminal_searches(sample_home):
    session = f"assistant-tui-test-{os.getpid()}"
    # A running tmux server starts commands in its own environment, so the command carries its own.
    env = {"ASSISTANT_HOME": str(sample_home.root), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "assistant", "tui"])
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command], check=True)

    def screen_shows(needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{screen}")

    try:
        screen_shows("Suggestions", 60)
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "the planting rota for Sam"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        screen = screen_shows("[1] ", 240)
        assert "You: the planting rota for Sam" in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@pytest.fixture
def anyio_backend():
    return "asyncio"


# -- the command --------------------------------------------------------------------------------

def test_assistant_help_lists_tui_without_importing_textual():
    from tests.conftest import run_cli

    assert "tui" in run_cli("--help").stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, assistant.cli.main; print('textual' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"


def test_native_output_goes_to_the_log_and_the_screen_keeps_its_own_handle(tmp_path, capfd):
    from assistant.cli.tui import screen_apart_from_native_output
    from assistant.generation.llama import quiet_native_stderr

    log = tmp_path / "logs" / "tui.log"
    with screen_apart_from_native_output(log):
        os.write(2, b"native note\n")
        with quiet_native_stderr():  # what a model load does to descriptor 2
            sys.__stderr__.write("frame drawn during a load\n")
            sys.__stderr__.flush()
    os.write(2, b"after\n")
    assert log.read_text() == "native note\n"
    assert capfd.readouterr().err == "frame drawn during a load\nafter\n"
