"""The TUI's Profile, Suggestions and Sources areas, driven with textual's Pilot over the real store of
the sample person (facts read from her writing by the real facts refresh), plus their snapshots."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("textual")

from textual.command import CommandPalette  # noqa: E402
from textual.widgets import ContentSwitcher, DataTable, Input, ProgressBar, TabbedContent  # noqa: E402

from assistant.home import Home  # noqa: E402
from assistant.profile import facts  # noqa: E402
from assistant.tui.draft import DraftArea  # noqa: E402
from tests.test_tui import errors, sample_app, settle, still, text_of  # noqa: E402

pytestmark = pytest.mark.anyio
# Dates that would otherwise be when the test ran (indexing, the facts refresh) or when the sample
# was checked out (notes dated by their files' times), fixed so the snapshots are the same every run.
STAMP = "2026-11-20T09:00:00+00:00"


@pytest.fixture(scope="session")
def facts_sample(indexed_sample, tmp_path_factory, embedder):
    """The indexed sample person after the facts refresh, with one unreadable file, every volatile date fixed."""
    from assistant.config import Config
    from assistant.core import Assistant
    from assistant.ingest.pipeline import index_paths
    from assistant.profile.fact_refresh import refresh_facts
    from assistant.store.db import write_transaction

    root = tmp_path_factory.mktemp("facts-sample") / "home"
    shutil.copytree(indexed_sample, root)
    broken = tmp_path_factory.mktemp("broken")
    (broken / "scan.txt").write_bytes(b"\x00\xff" * 64)
    home = Home(root)
    assistant = Assistant(home, Config.load(home))
    assistant.__dict__["embedder"] = embedder
    index_paths(assistant, [broken])
    db = assistant.db
    with write_transaction(db):
        db.execute("UPDATE documents SET indexed_at = ?", [STAMP])
        db.execute("UPDATE documents SET created_at = ? WHERE created_at > ?", [STAMP, STAMP])
        db.execute("UPDATE sources SET added_at = ?", [STAMP])
        db.execute("UPDATE quarantine SET first_seen = ?, last_seen = ?", [STAMP, STAMP])
    assert refresh_facts(db, embedder).added > 10
    with write_transaction(db):
        db.execute("UPDATE fact_history SET at = ?", [STAMP])
    db.conn.close()
    return root


@pytest.fixture
def facts_home(facts_sample, tmp_path, monkeypatch) -> Home:
    target = tmp_path / "facts-home"
    shutil.copytree(facts_sample, target)
    monkeypatch.setenv("ASSISTANT_HOME", str(target))
    return Home(target)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def rows_of(app, selector: str) -> list[list[str]]:
    table = app.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def fact_ids(app) -> list[int]:
    table = app.query_one("#facts-table", DataTable)
    return [int(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def fact_id_at_cursor(app) -> int:
    table = app.query_one("#facts-table", DataTable)
    return int(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)


async def open_profile(pilot) -> None:
    await settle(pilot)
    await pilot.press("escape", "f3")
    await settle(pilot)


# -- profile: facts -----------------------------------------------------------------------------

async def test_facts_table_filters_sorts_and_shows_the_evidence(facts_home, embedder):
    app = sample_app(facts_home, embedder)
    db = app.assistant.db
    stored = facts.all_facts(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profile(pilot)
        rows = rows_of(app, "#facts-table")
        assert len(rows) == len(stored)
        first = stored[0]  # the most confident
        assert rows[0][0] == first.category and rows[0][1] == first.text
        long = next(r for r in rows if r[1].endswith("…"))  # a long fact is cut to the table's width
        assert any(f.text.startswith(long[1][:-1]) and len(f.text) > len(long[1]) for f in stored)
        assert rows[0][2:] == [f"{first.confidence:.2f}", first.last_seen[:10], first.status,
                               "yes" if first.sensitive else ""]
        assert {r[5] for r in rows} == {"yes", ""}  # the cashew allergy is sensitive

        # the evidence of the highlighted fact: its chunks' text, file and date
        shown = text_of(app, "#fact-evidence")
        evidence = facts.evidence(db, first.id)
        assert evidence and shown.startswith(f"#{first.id} {first.text}")
        for e in evidence:
            assert e["source"].rsplit("/", 1)[1] in shown and e["date"][:10] in shown
            assert " ".join(e["text"].split())[:60] in shown

        await pilot.press("down")
        await settle(pilot)
        assert text_of(app, "#fact-evidence").startswith(f"#{fact_id_at_cursor(app)} ")

        # filter: every word must appear in the category, text or status
        app.query_one("#facts-filter", Input).value = "family"
        await settle(pilot)
        family = [f for f in stored if f.category == "family" or "family" in f.text.lower()]
        assert sorted(fact_ids(app)) == sorted(f.id for f in family)
        assert f"{len(family)} of {len(stored)}" in text_of(app, "#facts-caption")
        app.query_one("#facts-filter", Input).value = "zzz-nothing"
        await settle(pilot)
        assert "No fact matches the filter" in text_of(app, "#fact-evidence")
        app.query_one("#facts-filter", Input).value = ""
        await settle(pilot)

        # sort: s moves to the next column; a header click on the same column turns the order round
        app.query_one("#facts-table", DataTable).focus()
        await pilot.press("s")  # confidence → last seen
        await pilot.pause()
        seen = [r[3] for r in rows_of(app, "#facts-table")]
        assert seen == sorted(seen, reverse=True) and "by last seen ↓" in text_of(app, "#facts-caption")
        await pilot.click("#facts-table", offset=(2, 0))  # the category header
        await pilot.pause()
        categories = [r[0] for r in rows_of(app, "#facts-table")]
        assert categories == sorted(categories)
        await pilot.click("#facts-table", offset=(2, 0))
        await pilot.pause()
        assert [r[0] for r in rows_of(app, "#facts-table")] == sorted(categories, reverse=True)
        assert not errors(app)


async def test_fact_actions_go_through_the_profile_functions(facts_home, embedder):
    app = sample_app(facts_home, embedder)
    db = app.assistant.db

    def history(fact_id: int) -> list[str]:
        return [r["action"] for r in db.query("SELECT action FROM fact_history WHERE fact_id = ? ORDER BY id",
                                              [fact_id])]

    async with app.run_test(size=(120, 40)) as pilot:
        await open_profile(pilot)
        target = fact_id_at_cursor(app)
        await pilot.press("p")
        await settle(pilot)
        assert facts.get(db, target).status == "pinned" and history(target)[-1] == "pinned"
        assert fact_id_at_cursor(app) == target  # the table is read again, the cursor stays on the fact
        assert rows_of(app, "#facts-table")[app.query_one("#facts-table", DataTable).cursor_row][4] == "pinned"
        assert app._notifications and list(app._notifications)[-1].title == "Fact pinned"

        await pilot.press("e")
        await pilot.pause()
        box = app.screen.query_one("#fact-text", Input)
        assert box.value == facts.get(db, target).text
        box.value = "Is vegetarian, mostly"
        await pilot.press("enter")
        await settle(pilot)
        edited = facts.get(db, target)
        assert (edited.text, edited.source, edited.confidence) == ("Is vegetarian, mostly", "stated", 1.0)
        assert "Is vegetarian, mostly" in text_of(app, "#fact-evidence")

        await pilot.press("down")
        await settle(pilot)
        other = fact_id_at_cursor(app)
        await pilot.press("r")
        await settle(pilot)
        assert facts.get(db, other).status == "rejected"
        assert db.execute("SELECT count(*) FROM rejected_evidence").fetchone()[0] >= 1

        await pilot.press("x")
        await pilot.pause()
        await pilot.press("n")  # asked first; no keeps it
        await settle(pilot)
        assert facts.get(db, other)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert not db.execute("SELECT count(*) FROM facts WHERE id = ?", [other]).fetchone()[0]
        assert other not in fact_ids(app)
        assert len(rows_of(app, "#facts-table")) == len(facts.all_facts(db))

        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#fact-text", Input).value = "I moved to Denver"
        await pilot.press("enter")
        await settle(pilot)
        added = next(f for f in facts.all_facts(db) if f.text == "Lives in Denver")
        assert (added.category, added.source, added.status) == ("home", "stated", "active")
        assert fact_id_at_cursor(app) == added.id
        assert list(app._notifications)[-1].message.startswith(f"#{added.id} Lives in Denver: added (home)")

        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#fact-text", Input).value = "I like mornings"
        app.screen.query_one("#fact-category", Input).value = "nonsense"
        await pilot.press("enter")
        await settle(pilot)
        assert "unknown category 'nonsense'" in errors(app)[-1].message
        assert "I like mornings" not in [f.text for f in facts.all_facts(db)]


async def palette(pilot, command: str) -> None:
    """Run `command` from the command palette (ctrl+p), typed in full."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await settle(pilot)


async def test_palette_acts_on_the_highlighted_fact_and_switches_areas(facts_home, embedder):
    from assistant.store.db import write_transaction
    from assistant.tui.dialogs import Confirm, FactInput

    app = sample_app(facts_home, embedder)
    db = app.assistant.db
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)  # in Chat: the palette takes the fact highlighted in Profile
        target = fact_id_at_cursor(app)
        await palette(pilot, "Profile: pin the highlighted fact")
        assert app.query_one(TabbedContent).active == "profile"
        assert facts.get(db, target).status == "pinned" and list(app._notifications)[-1].title == "Fact pinned"

        await palette(pilot, "Profile: reject the highlighted fact")
        assert facts.get(db, target).status == "rejected"

        await palette(pilot, "Profile: edit the highlighted fact")
        assert isinstance(app.screen, FactInput)
        app.screen.query_one("#fact-text", Input).value = "Is vegetarian, mostly"
        await pilot.press("enter")
        await settle(pilot)
        assert facts.get(db, target).text == "Is vegetarian, mostly"

        await palette(pilot, "Profile: add a fact")
        assert isinstance(app.screen, FactInput)
        await pilot.press("escape")
        await pilot.pause()

        await palette(pilot, "Profile: forget the highlighted fact")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot)
        assert not db.execute("SELECT count(*) FROM facts WHERE id = ?", [target]).fetchone()[0]

        other = fact_id_at_cursor(app)
        with write_transaction(db):  # changed outside the app (another window, the CLI)
            db.execute("UPDATE facts SET text = 'Keeps bees on the roof' WHERE id = ?", [other])
        assert "Keeps bees on the roof" not in [row[1] for row in rows_of(app, "#facts-table")]
        await palette(pilot, "Profile: refresh")
        assert "Keeps bees on the roof" in [row[1] for row in rows_of(app, "#facts-table")]

        await palette(pilot, "Go to Suggestions")
        assert app.query_one(TabbedContent).active == "suggestions"
        assert not errors(app)


async def test_style_per_context_and_correspondent_and_persona_versions(facts_home, embedder):
    from assistant.profile.persona import build_persona, current_persona
    from assistant.profile.refresh import current_style
    from assistant.profile.style import stored_style
    from assistant.store.db import write_transaction

    app = sample_app(facts_home, embedder)
    db = app.assistant.db
    with write_transaction(db):  # two versions, unverified (no model scores them)
        for _ in range(2):
            build_persona(db, embedder, None, "Priya", current_style(db).notes())
    style = stored_style(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profile(pilot)
        await pilot.click("#tab-style")
        await pilot.pause()
        assert app.query_one("#profile-views", ContentSwitcher).current == "view-style"
        notes = text_of(app, "#profile-style")
        assert notes.startswith(f"From {style.emails} emails you sent")
        for context in ("email", "chat", "document"):
            for note in style.contexts[context]["notes"]:
                assert note in notes
        people = rows_of(app, "#profile-people")
        assert [r[0] for r in people] == [address for address, _ in style.correspondents]
        table = app.query_one("#profile-people", DataTable)
        table.focus()
        janet = [r[0] for r in people].index("jliu@portland.example")
        table.move_cursor(row=janet)
        await pilot.pause()
        person = text_of(app, "#person-notes")
        assert person.startswith("To Janet Liu (5 emails)")
        assert all(n in person for n in style.by_correspondent["jliu@portland.example"]["notes"])
        assert "Dear NAME" in person

        await pilot.click("#tab-persona")
        await pilot.pause()
        assert current_persona(db) in text_of(app, "#persona-text")
        versions = rows_of(app, "#persona-versions")
        ids = [r[0] for r in db.execute("SELECT id FROM persona_versions ORDER BY id DESC")]
        assert [r[0] for r in versions] == [f"v{i}" for i in ids] and all(r[2] == "unverified" for r in versions)
        assert text_of(app, "#persona-version").startswith(f"v{ids[0]}:")
        await pilot.press("p")  # the fact keys are for the facts view only
        await pilot.pause()
        assert not db.execute("SELECT count(*) FROM facts WHERE status = 'pinned'").fetchone()[0]


async def test_an_empty_store_shows_how_facts_arrive(assistant):
    from assistant.tui.app import make_app

    app = make_app(assistant=assistant, preload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_profile(pilot)
        assert "No facts about you yet" in text_of(app, "#fact-evidence")
        await pilot.click("#tab-persona")
        await pilot.pause()
        assert "No persona yet" in text_of(app, "#persona-text")
        assert not errors(app), [n.message for n in errors(app)]


# -- suggestions --------------------------------------------------------------------------------

def recording_app(home, embedder):
    """The app, also keeping each draft request the Suggestions area hands it."""
    from textual import on

    from assistant.core import Assistant
    from assistant.tui.app import AssistantApp
    from assistant.tui.suggestions import SuggestionsPane

    class Recording(AssistantApp):
        @on(SuggestionsPane.DraftRequested)
        def record(self, request: SuggestionsPane.DraftRequested) -> None:
            self.requests.append(request)

    assistant = Assistant(home)
    assistant.__dict__["embedder"] = embedder
    app = Recording(assistant, preload=False)
    app.requests = []
    return app


async def test_suggestions_show_the_skill_list_and_enter_opens_the_draft(facts_home, embedder, tmp_path):
    from assistant.ingest.pipeline import index_paths

    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "sam-gravel.eml").write_text(
        "From: Sam Okoye <sam@fernhill.example>\nTo: priya@fernhill.example\nSubject: gravel for the paths?\n"
        "Date: Mon, 30 Nov 2026 09:00:00 +0000\nMessage-ID: <gravel.1130@fernhill.example>\n\n"
        "Hiya Priya,\n\nWhich gravel did we settle on for the paths? The supplier needs to know.\n\nSam\n")
    app = recording_app(facts_home, embedder)
    assert index_paths(app.assistant, [tmp_path / "inbox"]).failed == 0
    skill = app.assistant.skill("suggest")
    items = skill.run(app.assistant)
    assert items[0].kind == "unanswered" and any(i.kind == "commitment" for i in items)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "f5")
        await settle(pilot)
        rows = rows_of(app, "#suggestions-table")
        assert rows == [[{"unanswered": "reply", "commitment": "promise"}[i.kind], i.person, i.document, i.date]
                        for i in items]
        shown = text_of(app, "#suggestion-evidence")
        assert "Which gravel did we settle on for the paths?" in shown
        assert f"Suggested reply: {items[0].suggested_reply}" in shown and items[0].id in shown
        await pilot.press("down")
        await pilot.pause()
        assert f"“{items[1].evidence}”" in text_of(app, "#suggestion-evidence")
        await pilot.press("up", "enter")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "draft"
        instruction, to, reply_to = skill.draft_request(app.assistant, items[0].id)  # what draft --from-suggestion uses
        assert app.query_one("#draft-instruction", Input).value == instruction
        assert app.query_one("#draft-to", Input).value == to == "sam@fernhill.example"
        # the message the app is handed carries the email to answer; a promise has none
        assert [(r.instruction, r.to, r.reply_to) for r in app.requests] == [
            (instruction, to, "<gravel.1130@fernhill.example>")]
        assert app.query_one(DraftArea).reply["message_id"] == reply_to == "<gravel.1130@fernhill.example>"
        await pilot.press("escape", "f5", "down", "d")
        await settle(pilot)
        assert app.requests[-1].reply_to is None and app.requests[-1].to == items[1].address
        assert app.query_one("#draft-to", Input).value == items[1].address
        assert app.query_one(DraftArea).reply == {}  # a promise is a new email
        assert not errors(app)


async def test_no_suggestions_says_so(assistant):
    from assistant.tui.app import make_app

    app = make_app(assistant=assistant, preload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "f5", "d")
        await settle(pilot)
        assert text_of(app, "#suggestions-note").startswith("Nothing to suggest")
        assert not app.query_one("#suggestions-table", DataTable).display
        assert app.query_one(TabbedContent).active == "suggestions" and not errors(app)


# -- sources ------------------------------------------------------------------------------------

async def test_sources_counts_last_sync_errors_daemon_and_reindex(facts_home, embedder, tmp_path):
    from assistant.config import Config
    from assistant.daemon.runtime import DaemonFiles

    DaemonFiles(facts_home).ensure().write_status({"last_error": "imap: login refused", "queue": 0})
    app = sample_app(facts_home, embedder)
    db = app.assistant.db
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "f4")
        rows = {r[0]: r for r in rows_of(app, "#sources-counts")}
        mail = db.execute("SELECT count(*), sum(author_is_me) FROM documents d JOIN sources s ON s.id = d.source_id "
                          "WHERE s.name = 'mail'").fetchone()
        assert (int(rows["mail"][2]), int(rows["mail"][3])) == tuple(mail)
        assert rows["mail"][6] == STAMP[:16].replace("T", " ")
        quarantined = {r["source"]: r for r in db.query("SELECT source, count(*) AS n FROM quarantine GROUP BY source")}
        assert quarantined and all(rows[s][5] == str(q["n"]) for s, q in quarantined.items())
        assert rows["mail"][5] == "0"
        daemon = text_of(app, "#sources-daemon")
        assert daemon.startswith("Daemon: stopped (start it: assistant daemon start); last error: imap: login refused")
        assert [r[0] for r in rows_of(app, "#sources-errors")] == ["scan.txt"]

        folder = tmp_path / "new-notes"
        folder.mkdir()
        (folder / "bees.md").write_text("# Bees\n\nThe hive by the swale needs a second super by June.\n")
        (folder / "broken.txt").write_bytes(b"\x00\xff" * 64)
        app.query_one("#index-path", Input).value = str(folder)
        await pilot.click("#index-go")
        await settle(pilot)
        await settle(pilot)  # every area reads the store again after indexing
        assert db.execute("SELECT count(*) FROM documents WHERE title = 'Bees'").fetchone()[0] == 1
        bar = app.query_one("#index-progress", ProgressBar)
        assert bar.total == 2 and bar.progress == 2
        assert [n.title for n in app._notifications][-1] == "Indexed"
        assert sorted(r[0] for r in rows_of(app, "#sources-errors")) == ["broken.txt", "scan.txt"]
        assert str(folder.resolve()) in Config.load(facts_home).source_paths


async def test_sources_show_a_running_daemon_and_its_queue(tmp_path, embedder):
    """The daemon's own answer on its socket (what `assistant daemon status` prints), read in a worker."""
    from assistant.core import Assistant
    from assistant.tui.app import make_app
    from tests.daemon_support import DaemonProcess, make_home

    src = tmp_path / "src"
    home = make_home(tmp_path / "home", [src])
    (src / "hello.md").write_text("# Hello\n\nThe swale planting starts in March.\n")
    daemon = DaemonProcess(home).start()
    try:
        daemon.wait_ready()
        assistant = Assistant(home)
        assistant.__dict__["embedder"] = embedder
        app = make_app(assistant=assistant, preload=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("escape", "f4")
            shown = text_of(app, "#sources-daemon")
            status = daemon.status()
            assert shown.startswith(f"Daemon: running (pid {daemon.pid}), {status['activity']}; queue: "
                                    f"{status['queue']} path(s); last reconciliation ")
            assert shown.split("\n")[0].endswith("s ago; no errors.")
            assert not errors(app)
    finally:
        daemon.stop()


async def test_reindex_of_a_missing_path_names_it(sample_home, embedder):
    app = sample_app(sample_home, embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4", *"/no/such/folder", "enter")
        await settle(pilot)
        assert "/no/such/folder does not exist" in errors(app)[0].message


# -- sizes and snapshots ------------------------------------------------------------------------

MINE = {"profile": "f3", "sources": "f4", "suggestions": "f5"}


async def test_my_areas_survive_60x20(facts_home, embedder):
    app = sample_app(facts_home, embedder)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        for key in MINE.values():
            await pilot.press("escape", key)
            await settle(pilot)
        await pilot.press("escape", "f3")
        await pilot.pause()
        for tab in ("#tab-style", "#tab-persona", "#tab-facts"):
            await pilot.click(tab)
            await pilot.pause()
        assert app.is_running and not errors(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("area", list(MINE))
def test_snapshot(area, size, facts_home, embedder, snap_compare):
    async def show(pilot):
        await settle(pilot)
        await pilot.press("escape", MINE[area])
        await still(pilot)

    assert snap_compare(sample_app(facts_home, embedder), terminal_size=size, run_before=show)
