"""The terminal app, driven with textual's Pilot over the real store, plus snapshots and a real terminal."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("textual")

from textual.command import CommandPalette  # noqa: E402
from textual.widgets import Button, Input, OptionList, Static, TabbedContent, TextArea  # noqa: E402

from assistant.core import Assistant  # noqa: E402
from assistant.tui.app import make_app  # noqa: E402
from assistant.tui.chat import AnswerTurn, ChatArea, SourceScreen  # noqa: E402
from assistant.tui.draft import DraftArea, ReplyPicker  # noqa: E402

pytestmark = pytest.mark.anyio  # the Pilot tests are coroutines, run by anyio's pytest plugin

AREAS = ["chat", "draft", "profile", "sources", "suggestions"]
KEYS = {"chat": "f1", "draft": "f2", "profile": "f3", "sources": "f4", "suggestions": "f5"}


def sample_app(home, embedder, **options):
    """The app over the indexed sample person, sharing the session's loaded embedding model."""
    assistant = Assistant(home)
    assistant.__dict__["embedder"] = embedder
    return make_app(assistant=assistant, **{"preload": False, **options})


async def settle(pilot, limit: float = 600) -> None:
    """The areas built (after the first frame; their store reads start then) and no worker pending or
    running. Polled, not `wait_for_complete`: that returns at once if the areas are not built yet (a
    loaded machine), and raises for an exclusive worker that a newer one cancelled."""
    from textual.worker import WorkerState

    app, deadline = pilot.app, time.monotonic() + limit
    while True:
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if app.built and not busy:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not settle in {limit:.0f} s: areas built {app.built}, "
                                 f"workers still busy {[w.name for w in busy]}")
        await pilot.pause(0.05)
    await pilot.pause()


async def still(pilot) -> None:
    """Work done and the text cursor steady: a snapshot taken while it blinks would show it or not by chance."""
    await settle(pilot)
    for box in pilot.app.query(Input):
        box.cursor_blink = False
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

SMALL = "smollm2-135m-instruct"  # the small embedded model: these tests are about the screen, not quality


def small_app(home, embedder, **options):
    """The app over the sample person, drafting and answering with the small embedded model."""
    app = sample_app(home, embedder, **options)
    app.assistant.config.generator = SMALL
    return app


def chat(app) -> ChatArea:
    return app.query_one(ChatArea)


def recorded(monkeypatch, cls, name: str) -> list:
    """Every argument tuple `cls.name` is called with (the call goes through), and on which thread."""
    calls, original = [], getattr(cls, name)

    def record(self, *args):
        calls.append((threading.current_thread() is threading.main_thread(), *args))
        return original(self, *args)

    monkeypatch.setattr(cls, name, record)
    return calls


def held(app, until) -> threading.Event:
    """Hold the real model's stream, once what it wrote satisfies `until`, until the event returned
    is set (after the test pressed Escape): the stop then lands mid-stream, whatever the model's speed."""
    generator = app.assistant.generator  # loads the model
    model = getattr(generator, "inner", generator)  # under the TUI's stoppable wrapper once that ran
    released, generate = threading.Event(), model.generate

    def holding(*args, **options):
        written = ""
        for piece in generate(*args, **options):
            written += piece
            yield piece
            if until(written):
                released.wait(60)

    model.generate = holding
    return released


@pytest.mark.slow
async def test_chat_answers_through_ask_streamed_with_sources_that_open(sample_home, embedder, monkeypatch):
    shown = recorded(monkeypatch, AnswerTurn, "show")
    app = small_app(sample_home, embedder, max_tokens=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"When does Meera land in Portland?", "enter")
        await settle(pilot)
        assert not errors(app)
        # streamed: the answer grew on screen, piece by piece, each put there on the UI thread
        partials = [args[1] for args in shown]
        assert len(set(partials)) > 2 and all(on_ui for on_ui, *_ in shown)
        answer = str(app.query(AnswerTurn).last().render())
        cites = app.query(".turn-cites").last()
        sources = cites.sources
        assert sources and all(f"[{s.n}]" in answer for s in sources)
        for source in sources:  # each names a real passage of the store, with its text
            row = app.assistant.db.execute("SELECT d.title, d.uri FROM chunks c JOIN documents d ON d.id = c.document_id "
                                           "WHERE c.text = ?", [source.text]).fetchone()
            assert row == (source.document, source.uri)
        # Tab to the list of sources and Enter: the passage, where it is stored, no link followed
        cites.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen)
        assert sources[0].text in str(app.screen.query_one("#source-text", Static).render())
        assert sources[0].uri in str(app.screen.query_one("#source-where", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        app.query_one("#chat-input", Input).focus()
        await pilot.press(*f"/open {sources[-1].n}", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen) and app.screen.source == sources[-1]
        await pilot.press("escape", *"/open 9", "enter")
        await pilot.pause()
        assert errors(app)[-1].title == "No such source"

        lines = [json.loads(line) for line in chat(app).session.path.read_text().splitlines()]
        assert [line["role"] for line in lines] == ["user", "assistant"]
        assert lines[0]["text"] == "When does Meera land in Portland?" and lines[1]["text"] == answer
        assert chat(app).session.path.parent == sample_home.root / "sessions"


@pytest.mark.slow
async def test_chat_rewrite_and_an_answer_stopped_with_escape(sample_home, embedder):
    app = small_app(sample_home, embedder, max_tokens=400)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"/rewrite thanks for the seedlings, see you friday", "enter")
        await settle(pilot)
        assert not errors(app)
        assert str(app.query(".turn-user").last().render()) == "Rewrite in your voice: thanks for the seedlings, see you friday"
        assert str(app.query(".turn-sources").last().render()) == f"In your voice, by {SMALL}:"
        assert str(app.query(AnswerTurn).last().render()).strip()
        assert not chat(app).session.path.exists()  # commands are not turns

        release = held(app, lambda written: len(written.split()) > 3)
        await pilot.press(*"When does Meera land in Portland?", "enter")
        turn = app.query(AnswerTurn).last()
        for _ in range(1200):  # until the answer is on screen, in part
            await pilot.pause(0.05)
            if str(turn.render()).strip():
                break
        await pilot.press("escape")
        release.set()
        await settle(pilot)
        assert str(app.query(".turn-sources").last().render()).startswith("Stopped (Escape)")
        assert not errors(app)
        lines = chat(app).session.path.read_text().splitlines()
        assert [json.loads(line)["role"] for line in lines] == ["user"]  # the stopped answer is not saved


async def test_chat_help_and_unknown_commands(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"/help", "enter")
        await pilot.pause()
        listed = str(app.query(".turn-sources").last().render())
        assert all(command in listed for command in ("/draft", "/ask", "/rewrite", "/forget", "/open", "/help"))
        await pilot.press(*"/nope", "enter")
        await pilot.pause()
        assert "/help" in errors(app)[0].message
        await pilot.press(*"/rewrite", "enter")
        await pilot.pause()
        assert "/rewrite needs text" in errors(app)[1].message
        assert not chat(app).session.path.exists()  # commands are not turns


async def test_a_click_on_a_citation_opens_its_source_and_never_a_link(sample_home, embedder):
    from assistant.tui.chat import Source

    app = sample_app(sample_home, embedder)
    source = Source(2, "Planting week", "2026-03-02", "/home/priya/notes/planting.md",
                    "Sam: the rota is pinned at https://evil.example/rota")
    async with app.run_test(size=(80, 24)) as pilot:
        turn = AnswerTurn()
        await app.query_one("#chat-log").mount(turn)
        turn.settle("Sam has it [2].", [source])
        await pilot.pause()
        await pilot.click(AnswerTurn, offset=(len("Sam has it ["), 0))
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen) and app.screen.source == source
        shown = app.screen.query_one("#source-text", Static)
        assert str(shown.render()) == source.text
        from textual.geometry import Region

        segments = [segment for line in shown.render_lines(Region(0, 0, *shown.size)) for segment in line]
        assert any("evil.example" in segment.text for segment in segments)
        assert not any(segment.style and segment.style.link for segment in segments)  # text, nothing to follow


async def test_forget_deletes_the_session_and_what_the_store_indexed_of_it(sample_home, embedder):
    from assistant.ingest.pipeline import index_paths

    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        session = chat(app).session
        session.append("user", "the quince tree goes by the east fence")
        session.append("assistant", "Noted.")
        assert index_paths(app.assistant, [session.path.parent]).failed == 0
        db = app.assistant.db
        stored = "SELECT count(*) FROM documents WHERE uri LIKE ? || '%'"
        assert db.execute(stored, [str(session.path)]).fetchone()[0] > 0
        await pilot.press(*"/forget", "enter")
        await settle(pilot)
        assert not session.path.exists() and chat(app).session.path != session.path
        assert db.execute(stored, [str(session.path)]).fetchone()[0] == 0
        assert not db.execute("SELECT count(*) FROM chunks WHERE text LIKE '%quince tree%'").fetchone()[0]
        assert [n.title for n in app._notifications][-1] == "Session forgotten"
        assert not errors(app)


# -- draft ------------------------------------------------------------------------------------

def draft_area(app) -> DraftArea:
    return app.query_one(DraftArea)


def why(app) -> str:
    return text_of(app, "#draft-why")


@pytest.mark.slow
async def test_draft_streams_through_the_guard_shows_why_and_saves(sample_home, embedder, monkeypatch, tmp_path):
    pieces = recorded(monkeypatch, DraftArea, "_append")
    app = small_app(sample_home, embedder, max_tokens=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2", *"ask Sam to confirm the planting date")
        app.query_one("#draft-to", Input).value = "Sam"
        await pilot.press("enter")
        await settle(pilot)
        assert not errors(app)
        text = app.query_one("#draft-text", TextArea).text
        assert text.strip() and not app.query_one("#draft-text", TextArea).read_only
        # streamed: guarded lines reached the box on the UI thread before the draft was done
        assert len(pieces) > 1 and all(on_ui for on_ui, *_ in pieces)
        assert "".join(piece for _, _, piece in pieces).strip().startswith(text.splitlines()[0].strip())
        shown = why(app)
        sent_titles = {r["title"] for r in app.assistant.db.query("SELECT title FROM documents WHERE author_is_me = 1")}
        examples = shown.split("Your emails used as examples:\n")[1].split("\n\n")[0].splitlines()
        listed = [line[2:].rsplit(" (", 1)[0] for line in examples]
        assert listed and set(listed) <= sent_titles
        assert "Facts about you:" in shown and "Opens with a greeting like" in shown
        assert f"Model: {SMALL}" in shown

        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list((sample_home.root / "drafts").glob("*.eml"))
        assert len(saved) == 1
        message = email.message_from_bytes(saved[0].read_bytes(), policy=email.policy.default)
        assert message["To"] == "sam@fernhill.example" and "priya@fernhill.example" in message["From"]
        assert message.get_content().strip() == text.strip()

        maildir = tmp_path / "Maildir"
        for part in ("cur", "new", "tmp"):
            (maildir / part).mkdir(parents=True)
        await pilot.click("#draft-maildir")
        await pilot.pause()
        box = app.screen.query_one("#maildir-path", Input)
        box.value = str(maildir)
        await pilot.press("enter")
        await pilot.pause()
        [kept] = (maildir / ".Drafts" / "cur").iterdir()
        kept_message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
        assert kept.name.endswith(",DS") and kept_message.get_content().strip() == text.strip()
        assert not errors(app)


@pytest.mark.slow
async def test_draft_replies_to_a_picked_thread_in_a_tone_and_regenerates(sample_home, embedder):
    app = small_app(sample_home, embedder, max_tokens=30)
    db = app.assistant.db
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, ReplyPicker)
        newest = db.execute("SELECT title, json_extract(meta, '$.message_id') FROM documents WHERE kind = 'mail' "
                            "AND author_is_me = 0 AND author LIKE 'Sam%' ORDER BY created_at DESC").fetchone()
        await pilot.press(*newest[0].split()[0].lower(), *" sam", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ReplyPicker)
        assert text_of(app, "#draft-reply").startswith(f"Reply to: {newest[0]} — Sam")
        assert draft_area(app).reply["message_id"] == newest[1]
        await pilot.click("#tone-warmer")  # an empty request is fine for a reply
        await settle(pilot)
        assert not errors(app)
        assert f"Replying to: {newest[0]}" in why(app) and "Tone: warmer" in why(app)
        request = json.loads(db.execute("SELECT request FROM generations ORDER BY id DESC").fetchone()[0])
        assert request["reply_to"] == newest[1] and request["tone"] == "casual"
        assert draft_area(app).envelope.in_reply_to == newest[1]
        first = app.query_one("#draft-text", TextArea).text
        await pilot.click("#draft-again")  # the same request, thread and tone: another take (the next seed)
        await settle(pilot)
        again = json.loads(db.execute("SELECT request FROM generations ORDER BY id DESC").fetchone()[0])
        assert request["seed"] == 0 and again == {**request, "seed": 1}
        assert app.query_one("#draft-text", TextArea).text.strip() not in ("", first.strip()) and first.strip()
        await pilot.press("ctrl+s")
        await pilot.pause()
        [saved] = (sample_home.root / "drafts").glob("*.eml")
        message = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
        assert message["In-Reply-To"] == newest[1] and newest[1] in message["References"]
        assert message["Subject"].startswith("Re:")


@pytest.mark.slow
async def test_escape_stops_a_running_draft_and_the_next_one_works(sample_home, embedder):
    app = small_app(sample_home, embedder, max_tokens=2000)
    db = app.assistant.db
    before = db.execute("SELECT count(*) FROM generations").fetchone()[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        release = held(app, lambda written: "\n" in written.strip())
        await pilot.press("f2", *"write Sam a long letter about every bed in the garden", "enter")
        area = app.query_one("#draft-text", TextArea)
        for _ in range(1200):  # until the first guarded line is on screen
            await pilot.pause(0.05)
            if area.text.strip():
                break
        assert area.text.strip() and area.read_only  # nobody edits a draft while it is being written
        await pilot.press("escape")
        release.set()
        started = time.monotonic()
        await settle(pilot)
        assert time.monotonic() - started < 5  # stopped between two tokens, not at the end
        assert why(app).startswith("Stopped (Escape): nothing was saved")
        assert db.execute("SELECT count(*) FROM generations").fetchone()[0] == before
        assert not area.read_only and not errors(app)
        app.max_tokens = 12
        await pilot.click("#draft-go")  # the model's context is still usable
        await settle(pilot)
        assert why(app).startswith("Why this draft") and area.text.strip() and not errors(app)


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


async def test_reply_picker_lists_recent_mail_and_filters_it(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2", "ctrl+r")
        await settle(pilot)
        options = app.screen.query_one("#reply-list", OptionList)
        with_id = app.assistant.db.execute("SELECT count(*) FROM documents WHERE kind = 'mail' AND uri NOT LIKE "
                                           "'%#attachment/%' AND json_extract(meta, '$.message_id') IS NOT NULL")
        assert options.option_count == 1 + min(with_id.fetchone()[0], 300)
        await pilot.press(*"no such subject anywhere")
        await pilot.pause()
        assert options.option_count == 1  # only "not a reply"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("escape")  # closed without a choice: as it was
        await pilot.pause()
        assert text_of(app, "#draft-reply").startswith("A new email") and draft_area(app).reply == {}


async def test_copy_puts_the_draft_on_the_clipboard(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "f2")
        await pilot.click("#draft-copy")
        await pilot.pause()
        assert [n.title for n in app._notifications] == ["Nothing to copy"] and app.clipboard == ""
        draft = "Hi Sam,\n\nThank you for the seedlings.\n\nPriya"
        app.query_one("#draft-text", TextArea).text = draft  # as the person left it after editing
        # a Button ignores a click while it still shows the last one (its "-active" effect): as a person would, wait
        await pilot.pause(app.query_one("#draft-copy", Button).active_effect_duration + 0.1)
        await pilot.click("#draft-copy")
        await pilot.pause()
        assert app.clipboard == draft
        assert list(app._notifications)[-1].message == "Draft copied to the clipboard."


@pytest.mark.slow
async def test_why_shows_what_its_own_draft_used_when_another_is_audited_meanwhile(sample_home, embedder,
                                                                                   monkeypatch):
    from assistant.store import connect
    from assistant.store.audit import record_generation

    app = small_app(sample_home, embedder, max_tokens=20)
    skill = type(app.assistant.skill("draft"))
    run = skill.run

    def run_then_another(self, assistant, **options):
        result = run(self, assistant, **options)
        other = connect(sample_home.db_path)  # another process drafting meanwhile: the CLI, the daemon
        record_generation(other, skill="draft", model="another-model", seconds=1.0,
                          request={"instruction": "another draft"}, style_notes=["A note only the other draft used"])
        other.conn.close()
        return result

    monkeypatch.setattr(skill, "run", run_then_another)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2", *"ask Sam to confirm the planting date", "enter")
        await settle(pilot)
        assert not errors(app)
        shown = why(app)
        assert f"Model: {SMALL}" in shown and "Opens with a greeting like" in shown
        assert "A note only the other draft used" not in shown


# -- profile, sources, suggestions --------------------------------------------------------------

# (Profile, Sources and Suggestions: tests/test_tui_profile.py)


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


# -- the daemon's warm models ----------------------------------------------------------------------

@pytest.mark.slow
async def test_chat_and_draft_use_the_running_daemon_and_load_no_model_here(sample_home, embedder, monkeypatch):
    from assistant.daemon import client
    from tests.conftest import run_cli
    from tests.daemon_support import DaemonProcess

    assert run_cli("models", "use", SMALL, home=sample_home).returncode == 0  # what the daemon loads
    daemon = DaemonProcess(sample_home).start()
    try:
        daemon.wait_ready()
        app = sample_app(sample_home, embedder, preload=True, max_tokens=30)
        app.assistant.config.generator = "no-such-model"  # a model loaded here fails: only the daemon's can answer
        answered = recorded(monkeypatch, AnswerTurn, "show")
        pieces = recorded(monkeypatch, DraftArea, "_append")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press(*"When does Meera land in Portland?", "enter")
            await settle(pilot)
            assert not errors(app)
            assert answered and str(app.query(AnswerTurn).last().render()).strip()
            await pilot.press("escape", "f2", *"thank Sam for the seedlings", "enter")
            await settle(pilot)
            assert not errors(app)
            text = app.query_one("#draft-text", TextArea).text
            assert text.strip() and pieces and all(on_ui for on_ui, *_ in pieces)  # streamed from the daemon
            assert why(app).startswith("Why this draft") and f"Model: {SMALL}" in why(app)

            assert daemon.log_count("skill ask answered") == 1 and daemon.log_count("skill draft answered") == 1

            # Escape: the daemon's stream is held after its first piece until Escape is pressed
            released, pieces[:] = threading.Event(), []
            real = client.run_skill

            def holding(socket_path, name, options, on_text=None, timeout=600.0):
                def held_piece(piece):
                    on_text(piece)
                    released.wait(60)
                return real(socket_path, name, options, held_piece if on_text else None, timeout)

            monkeypatch.setattr(client, "run_skill", holding)
            await pilot.click("#draft-go")
            for _ in range(1200):
                await pilot.pause(0.05)
                if pieces:
                    break
            await pilot.press("escape")
            assert why(app).startswith("Stopping")  # at once, though the stop lands at the daemon's next piece
            released.set()
            for _ in range(1200):
                await pilot.pause(0.05)
                if why(app).startswith("Stopped"):
                    break
            assert why(app).startswith("Stopped (Escape)") and not errors(app)
            assert len(pieces) == 1  # nothing the daemon sent after Escape reached the screen
        assert "generator" not in app.assistant.__dict__  # no model was loaded in the TUI's process
    finally:
        daemon.stop()


# -- snapshots: each area at 80x24 and 120x40 ---------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("area", ["chat", "draft"])  # the others: tests/test_tui_profile.py
def test_snapshot(area, size, sample_home, embedder, snap_compare):
    async def show(pilot):
        await settle(pilot)
        await pilot.press("escape", KEYS[area])
        await still(pilot)

    assert snap_compare(sample_app(sample_home, embedder), terminal_size=size, run_before=show)


# -- a real terminal --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_assistant_tui_in_a_real_terminal_answers_and_streams_a_draft(sample_home):
    from tests.conftest import run_cli

    assert run_cli("models", "use", SMALL, home=sample_home).returncode == 0
    session = f"assistant-tui-test-{os.getpid()}"
    tmux = ["tmux", "-L", session]  # a server of its own: no other tmux user can stop it
    # A running tmux server starts commands in its own environment, so the command carries its own.
    env = {"ASSISTANT_HOME": str(sample_home.root), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "assistant", "tui"])
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command], check=True)
    screens: list[str] = []

    def screen_shows(needle: str, timeout: float, present: bool = True) -> str:
        """Capture the pane (every frame kept in `screens`) until `needle` is on it (or, not `present`, gone)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            screens.append(screen)
            if (needle in screen) == present:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} {'not on' if present else 'still on'} screen after {timeout}s:\n{screen}")

    def type_line(text: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", session, "-l", text], check=True)
        subprocess.run([*tmux, "send-keys", "-t", session, "Enter"], check=True)

    try:
        screen_shows("Suggestions", 60)
        screen_shows("palette", 60)  # the footer's keys, with no key pressed yet (the other areas are built)
        type_line("When does Meera land in Portland?")
        screen = screen_shows("source(s) of yours", 240)
        assert "You: When does Meera land in Portland?" in screen and re.search(r"\[\d\] .* — 2026-", screen), screen
        type_line("/draft thank Sam for the seedlings")
        screen_shows("Drafting…", 60)
        screens.clear()
        screen = screen_shows("Drafting…", 240, present=False)  # every frame kept until the draft is done
        subprocess.run([*tmux, "send-keys", "-t", session, "C-s"], check=True)
        screen_shows("Draft saved", 30)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    [saved] = (sample_home.root / "drafts").glob("*.eml")
    body = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default).get_content()
    start = body.strip().splitlines()[0][:20]
    assert start in screen, screen  # the draft is on screen, as saved
    # and a line of it was on screen while the draft was still being written: streamed
    drafting = [seen for seen in screens if "Drafting…" in seen]
    lines = [line.strip()[:20] for line in body.strip().splitlines() if len(line.strip()) >= 8]
    assert any(line in seen for seen in drafting for line in lines), (lines, drafting[-1:])


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
