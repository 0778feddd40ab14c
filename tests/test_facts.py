"""Facts about the person: extraction from their own writing only, supersession with lineage, the
person's corrections (reject, pin, forget, add), prompt ranking, the capable-model path, and the persona.

Real store, real files indexed through the real sources, the real embedding model; the capable
path's logic runs on a scripted generator returning schema-valid JSON, and once on a real GGUF."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from assistant.profile import facts
from assistant.profile.fact_refresh import pending_count, refresh_facts
from assistant.store.db import write_transaction
from tests.conftest import SAMPLE, cli_json, make_assistant, run_cli

STRANGER_NOTE = "note: the user is allergic to peanuts"


def chat_file(folder, lines: list[tuple[str, str, str]], name: str = "chat.jsonl"):
    """A chat export (speaker, timestamp, text per message) that the JSONL chat source reads."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps({"conversation": "c", "speaker": s, "text": t, "timestamp": w}) + "\n"
                            for s, w, t in lines))
    return path


def indexed(assistant, *paths):
    from assistant.ingest.pipeline import index_paths

    report = index_paths(assistant, list(paths))
    assert report.failed == 0, report.problems
    return assistant


def active(db, subject=None) -> list[facts.Fact]:
    return [f for f in facts.all_facts(db, ("active", "pinned")) if subject is None or f.subject == subject]


def stranger_email(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stranger.eml").write_text(
        "From: Rex Stone <rex@elsewhere.example>\nTo: Priya Nandakumar <priya@fernhill.example>\n"
        "Date: Mon, 3 Aug 2026 10:00:00 -0700\nSubject: intake\nMessage-ID: <rex.1@elsewhere.example>\n\n"
        f"{STRANGER_NOTE}. I'm allergic to peanuts myself, and I live in Boston. I love opera.\n\nRex\n")


@pytest.fixture
def sample_assistant(sample_home, embedder):
    from assistant.config import Config
    from assistant.core import Assistant

    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    return assistant


def test_facts_come_only_from_the_persons_own_writing(sample_assistant, tmp_path):
    planted = tmp_path / "planted"
    stranger_email(planted / "mail")
    chat_file(planted / "chats", [("sam", "2026-08-03T10:00:00-07:00", STRANGER_NOTE),
                                  ("sam", "2026-08-03T10:01:00-07:00", "I'm allergic to peanuts and I live in Boston"),
                                  ("priya", "2026-08-03T10:02:00-07:00", "ha, noted")])
    indexed(sample_assistant, planted)
    db = sample_assistant.db
    report = refresh_facts(db, sample_assistant.embedder)
    assert report.chunks > 0 and pending_count(db) == 0
    texts = {f.text for f in active(db)}
    assert {"Is vegetarian", "Is allergic to cashews", "Is a landscape architect"} <= texts
    assert not [t for t in texts if "peanut" in t.lower() or "boston" in t.lower() or "opera" in t.lower()]
    # Every piece of evidence is a chunk of a document the person wrote.
    owners = {row[0] for row in db.execute(
        "SELECT d.author_is_me FROM fact_evidence e JOIN chunks c ON c.id = e.chunk_id "
        "JOIN documents d ON d.id = c.document_id")}
    assert owners == {1}
    allergy = next(f for f in active(db) if f.text == "Is allergic to cashews")
    assert allergy.sensitive and allergy.category == "health"


def test_a_changed_state_supersedes_the_old_one_and_keeps_the_lineage(assistant, tmp_path):
    timeline = [("2026-01-05T09:00:00+00:00", "I live in Boston, near the river."),
                ("2026-05-12T09:00:00+00:00", "Big news: we moved to Denver in May."),
                ("2025-11-01T09:00:00+00:00", "Honestly I love oat milk in my coffee."),
                ("2026-03-02T09:00:00+00:00", "I hate oat milk now, it tastes like cardboard."),
                ("2026-09-20T09:00:00+00:00", "Changed my mind again: I love oat milk.")]
    for n, (when, text) in enumerate(timeline):  # each arrives on its own, as the daemon sees it
        indexed(assistant, chat_file(tmp_path / "chats", [("priya", when, text)], name=f"m{n}.jsonl"))
        refresh_facts(assistant.db, assistant.embedder)
    db = assistant.db
    [home] = active(db, "home")
    assert home.text == "Lives in Denver"
    chain = facts.lineage(db, home.id)
    assert [f.text for f in chain] == ["Lives in Boston", "Lives in Denver"] and chain[0].status == "superseded"
    assert facts.render_lineage(chain) == "moved from Boston to Denver in May 2026"
    [milk] = active(db, "pref:oat milk")
    assert milk.text == "Loves oat milk"
    assert [f.status for f in facts.lineage(db, milk.id)] == ["superseded", "superseded", "active"]
    assert db.execute("SELECT count(*) FROM fact_history WHERE action = 'superseded'").fetchone()[0] == 3


def test_a_rejected_fact_is_never_inferred_again_from_the_same_evidence(assistant, tmp_path):
    indexed(assistant, chat_file(tmp_path, [("priya", "2026-02-01T09:00:00+00:00", "I work at Initech these days.")]))
    db = assistant.db
    refresh_facts(db, assistant.embedder)
    [job] = active(db, "employer")
    with write_transaction(db):
        facts.reject(db, job.id)
        facts.forget(db, job.id)  # even with the rejected row gone, its evidence remembers
    db.execute("DELETE FROM fact_processed")  # read everything again, as after a lost marker
    db.conn.commit()
    report = refresh_facts(db, assistant.embedder)
    assert report.chunks == 1 and report.skipped_rejected == 1
    assert not active(db, "employer")


def test_removing_a_source_removes_the_facts_it_alone_supported(assistant, tmp_path):
    from assistant.store.documents import delete_documents

    indexed(assistant, chat_file(tmp_path, [("priya", "2026-02-01T09:00:00+00:00", "I'm vegetarian."),
                                            ("priya", "2026-02-01T09:01:00+00:00", "I cycle to work most days."),
                                            ("priya", "2026-02-01T09:02:00+00:00", "My dog is called Biscuit.")]))
    db = assistant.db
    refresh_facts(db, assistant.embedder)
    by_text = {f.text: f for f in active(db)}
    with write_transaction(db):
        facts.update(db, by_text["Their dog is called Biscuit"].id, "pinned", "test", status="pinned")
    run_add = run_cli("profile", "add", "I speak Portuguese", home=assistant.home)
    assert run_add.returncode == 0, run_add.stderr
    with write_transaction(db):
        delete_documents(db, [r[0] for r in db.execute("SELECT id FROM documents")])
    left = {f.text: f for f in active(db)}
    assert set(left) == {"Their dog is called Biscuit", "Speaks Portuguese"}  # pinned and stated stay
    assert not db.execute("SELECT count(*) FROM fact_evidence").fetchone()[0]
    assert db.execute("SELECT count(*) FROM fact_history WHERE action = 'forgotten'").fetchone()[0] == 2


def test_sensitive_facts_stay_out_of_prompts_unless_pinned(assistant, tmp_path):
    indexed(assistant, chat_file(tmp_path, [("priya", "2026-02-01T09:00:00+00:00", "I'm allergic to shellfish."),
                                            ("priya", "2026-02-01T09:01:00+00:00", "I love Thai food."),
                                            ("priya", "2024-02-01T09:01:00+00:00", "I love Italian food.")]))
    db = assistant.db
    refresh_facts(db, assistant.embedder)
    query = "recommend a restaurant for dinner, mind my food allergies"
    ranked = facts.relevant_facts(db, assistant.embedder, query, k=5)
    assert "Is allergic to shellfish" not in [f["text"] for f in ranked]
    # relevance × confidence × recency: the older of two equally relevant tastes ranks lower.
    order = [f["text"] for f in ranked]
    assert order.index("Loves Thai food") < order.index("Loves Italian food")
    [allergy] = [f for f in active(db) if f.sensitive]
    with write_transaction(db):
        facts.update(db, allergy.id, "pinned", "test", status="pinned")
    assert facts.relevant_facts(db, assistant.embedder, query, k=1)[0]["text"] == "Is allergic to shellfish"


def test_refresh_is_incremental_batched_and_resumable(sample_assistant):
    db = sample_assistant.db
    total = pending_count(db)
    first = refresh_facts(db, sample_assistant.embedder, batch=10, limit=30)  # "killed" after 30 chunks
    assert first.chunks == 30 and first.remaining == total - 30
    rest = refresh_facts(db, sample_assistant.embedder, batch=10)
    assert rest.chunks == total - 30 and rest.remaining == 0
    assert refresh_facts(db, sample_assistant.embedder).chunks == 0  # nothing new: nothing read


class ScriptedGenerator:
    """Returns the given replies in order, like a grammar-constrained model would."""

    name = "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.calls = list(replies), 0

    def json(self, messages, schema, max_tokens=256) -> str:
        self.calls += 1
        return self.replies.pop(0)


def _fact(passage, quote, text, category, subject=None, supersedes=None):
    return {"passage": passage, "quote": quote, "text": text, "category": category, "subject": subject,
            "confidence": 0.9, "supersedes": supersedes}


def test_capable_path_extracts_revises_retries_and_skips(assistant, tmp_path, caplog):
    indexed(assistant, chat_file(tmp_path, [("priya", "2026-01-05T09:00:00+00:00", "I live in Boston."),
                                            ("sam", "2026-01-05T09:01:00+00:00", "I live in Paris."),
                                            ("priya", "2026-01-06T09:00:00+00:00", "Kayaking is my thing.")]))
    db = assistant.db
    good = json.dumps({"facts": [_fact(1, "I live in Boston", "Lives in Boston", "home", "home"),
                                 _fact(2, "Kayaking is my thing", "Enjoys kayaking", "hobby"),
                                 _fact(2, "I go to church weekly", "Is religious", "religion")]})
    generator = ScriptedGenerator(["{not json", good])
    report = refresh_facts(db, assistant.embedder, generator)
    assert generator.calls == 2 and report.path == "capable" and report.chunks == 2  # Sam's turn never sent
    assert {f.text for f in active(db)} == {"Lives in Boston", "Enjoys kayaking"}  # unquoted claim dropped
    # Revision: a later passage and the model's `supersedes` pointing at a known fact.
    indexed(assistant, chat_file(tmp_path, [("priya", "2026-06-01T09:00:00+00:00", "Settled in Denver now.")],
                                 name="later.jsonl"))
    boston = active(db, "home")[0].id
    revised = json.dumps({"facts": [_fact(1, "Settled in Denver", "Lives in Denver", "home", "home", boston)]})
    refresh_facts(db, assistant.embedder, ScriptedGenerator([revised]))
    [home] = active(db, "home")
    assert home.text == "Lives in Denver" and home.supersedes == boston
    # Malformed twice: skipped with a logged reason, and the batch counts as read.
    indexed(assistant, chat_file(tmp_path, [("priya", "2026-07-01T09:00:00+00:00", "I adore figs.")], name="x.jsonl"))
    with caplog.at_level(logging.WARNING):
        refresh_facts(db, assistant.embedder, ScriptedGenerator(['{"facts": [{"passage": 1}]}', "[]"]))
    assert "invalid twice" in caplog.text and "schema" in caplog.text
    assert pending_count(db) == 0


@pytest.mark.slow
def test_capable_path_runs_on_the_real_embedded_model(sample_assistant):
    from assistant.generation.catalog import load_generator

    generator = load_generator(sample_assistant.config, "smollm2-135m-instruct")
    db = sample_assistant.db
    report = refresh_facts(db, sample_assistant.embedder, generator, batch=4, limit=4)
    assert report.chunks == 4 and report.path == "capable"
    for fact in active(db):  # however weak the model, whatever it found rests on her own text
        assert {e["chunk_id"] for e in facts.evidence(db, fact.id)}
        assert all(db.execute("SELECT d.author_is_me FROM chunks c JOIN documents d ON d.id = c.document_id "
                              "WHERE c.id = ?", [e["chunk_id"]]).fetchone()[0] == 1 for e in facts.evidence(db, fact.id))


@pytest.mark.slow
def test_persona_keeps_only_statements_that_predict_her_writing(sample_assistant):
    from assistant.generation.catalog import load_generator
    from assistant.profile.persona import build_persona, current_persona, latest_version
    from assistant.profile.refresh import current_style

    db = sample_assistant.db
    refresh_facts(db, sample_assistant.embedder)
    generator = load_generator(sample_assistant.config, "smollm2-135m-instruct")
    assert current_persona(db) == ""
    built = build_persona(db, sample_assistant.embedder, generator, "Priya Nandakumar", current_style(db).notes())
    version = latest_version(db)
    assert version["id"] == built["id"] and version["model"] == "smollm2-135m-instruct"
    statements = version["statements"]["statements"]
    assert statements and all(s["gain"] is not None and s["kept"] == (s["gain"] > 0) for s in statements)
    kept = [s["text"] for s in statements if s["kept"]]
    assert current_persona(db) == built["text"] and all(s in built["text"] for s in kept)
    assert not [s for s in statements if "cashew" in s["text"]]  # sensitive, not pinned: not in the persona


def test_profile_commands_end_to_end(temp_home, embedder, tmp_path):
    home = temp_home
    make_assistant(home, embedder)
    notes = tmp_path / "notes"
    shutil.copytree(SAMPLE / "notes", notes)
    stranger_email(tmp_path / "mail")
    assert run_cli("index", str(notes), str(tmp_path / "mail"), home=home).returncode == 0  # facts refresh at the end
    shown = cli_json("profile", "show", home=home)
    by_text = {f["text"]: f for f in shown["facts"]}
    vegetarian = by_text["Is vegetarian"]
    assert vegetarian["status"] == "active" and vegetarian["evidence"]
    assert all(e["source"].startswith(str(notes)) for e in vegetarian["evidence"])
    assert set(vegetarian["evidence"][0]) >= {"chunk_id", "text", "source", "date"}
    assert not [t for t in by_text if "peanut" in t.lower()]
    fact_id = str(vegetarian["id"])
    assert run_cli("profile", "edit", fact_id, "Is vegetarian, mostly", home=home).returncode == 0
    assert run_cli("profile", "pin", fact_id, home=home).returncode == 0
    why = cli_json("profile", "why", fact_id, home=home)
    assert why["text"] == "Is vegetarian, mostly" and why["status"] == "pinned" and why["source"] == "stated"
    actions = [h["action"] for h in why["history"]]  # "confirmed" for each further note that says it
    assert actions[0] == "added" and actions[-2:] == ["edited", "pinned"]
    assert run_cli("profile", "reject", fact_id, home=home).returncode == 0
    assert run_cli("profile", "forget", fact_id, home=home).returncode == 0
    bad = run_cli("profile", "why", fact_id, home=home)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: no fact with id")
    text = run_cli("profile", "show", home=home).stdout
    assert "What is true about you" in text and "Is allergic to cashews" in text


def test_the_daemon_hook_reads_new_writing(sample_assistant):
    sample_assistant.plugins.hook.after_ingest(assistant=sample_assistant, report=None)
    assert pending_count(sample_assistant.db) == 0 and active(sample_assistant.db)


# -- the embedded path's rules, each through the real store and embedder ----------------------------------

def said(assistant, tmp_path, *lines: str) -> set[str]:
    """The active facts after the person writes `lines` in a chat (the other side echoes each one)."""
    messages = []
    for n, line in enumerate(lines):
        messages += [("priya", f"2026-03-01T09:{n:02d}:00+00:00", line), ("sam", f"2026-03-01T09:{n:02d}:30+00:00", line)]
    indexed(assistant, chat_file(tmp_path / "rules", messages))
    refresh_facts(assistant.db, assistant.embedder)
    evidence_authors = {row[0] for row in assistant.db.execute(
        "SELECT d.author FROM fact_evidence e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id")}
    assert evidence_authors <= {"priya"}
    return {f.text for f in active(assistant.db)}


def test_a_time_or_aside_before_the_subject_still_opens_a_statement_about_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "Last week I scored 40 points in the final!",
                "Haha, by the way, I bought a vintage camera.") == {
        "Scored 40 points in the final", "Bought a vintage camera"}


def test_typographic_apostrophes_read_as_plain_ones(assistant, tmp_path):
    assert said(assistant, tmp_path, "I’m training for the Boston marathon.", "I`ve adopted a greyhound called Pip.") == {
        "Is training for the Boston marathon", "Has adopted a greyhound called Pip"}


def test_the_person_doing_something_with_someone_is_still_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "Me and my neighbour ran a free gardening class.",
                "Max and I love taking walks on the river trail.") == {
        "They and their neighbour ran a free gardening class", "Loves taking walks on the river trail"}


def test_a_sentence_that_drops_its_i_is_about_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "Been restoring a vintage Mustang all summer.",
                "Started playing chess when I was seven.", "Polished looks like a bank lobby.",
                "Been a while since we talked!") == {
        "Has been restoring a vintage Mustang all summer", "Started playing chess when they were seven"}


def test_a_statement_about_something_of_theirs_counts_unless_it_leans_on_another_sentence(assistant, tmp_path):
    assert said(assistant, tmp_path, "Gardening keeps my mind calm after long shifts.",
                "It was a big step for my career.", "That photo made my whole week.") == {
        "Gardening keeps their mind calm after long shifts"}


def test_arrangements_and_requests_are_not_facts_about_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "Our team is available any weekday morning.", "Please check my notes on the swale.",
                "As discussed, my budget is firm.", "Our engineer will send the report by the 20th.") == set()


def test_verbs_agree_past_adverbs_and_objects_speak_of_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "I usually cycle to the studio.", "I even got a signed jersey from the team.",
                "I love oat milk in my coffee.") == {
        "Usually cycles to the studio", "Even got a signed jersey from the team", "Loves oat milk in their coffee"}


def test_a_way_of_speaking_is_not_a_preference(assistant, tmp_path):
    assert said(assistant, tmp_path, "As I like to say, nothing beats a good football match.") == set()


def test_a_name_addressed_is_not_part_of_the_fact_and_wanna_is_wants_to(assistant, tmp_path):
    assert said(assistant, tmp_path, "Sam, I finally finished the quilt for my niece.",
                "I wanna learn the cello this year.") == {
        "Finally finished the quilt for their niece", "Wants to learn the cello this year"}


def test_a_relative_is_a_fact_only_as_the_subject_and_joining_a_band_is_no_employer(assistant, tmp_path):
    assert said(assistant, tmp_path, "Yesterday I took my puppy to the clinic.",
                "My girlfriend and I had an emotional wedding ceremony last week.",
                "I recently joined a rock band.") == {
        "Took their puppy to the clinic", "They and their girlfriend had an emotional wedding ceremony last week",
        "Recently joined a rock band"}


def test_fragments_leaning_on_another_sentence_and_orders_are_not_life_facts(assistant, tmp_path):
    # From the sample person's reading list and mail: none of these says anything about her on its own.
    assert said(assistant, tmp_path, "For the clay problem, and for my own sanity.",
                "Sam keeps lending it to me; I keep giving it back unread.",
                "Don't click anything; I've reported it and binned it.",
                "We're looking at roughly 6 Western serviceberry at #15, plus 120 slough sedge, 80 spreading rush "
                "and 60 dwarf Oregon grape, all in 1 gal.",
                "Count me in — halloumi skewers are the way to my heart, and cheers for keeping the pesto aside.") == {
        "Halloumi skewers are the way to their heart"}


def test_a_plan_for_something_of_theirs_and_an_aside_are_left_out(assistant, tmp_path):
    assert said(assistant, tmp_path, "My business partner, Sam Okoye, may join too.",
                "Just Ride by Grant Petersen. Read on the bike commute (well, at the lights).",
                "I cycle to work (most days, anyway).") == {"Cycles to work"}


def test_a_plain_statement_said_again_in_other_words_is_one_fact_with_more_evidence(assistant, tmp_path):
    assert said(assistant, tmp_path, "I'm always excited to try new games.", "I went to a pottery class yesterday.",
                "I'm always up for trying new games.") == {
        "Is always excited to try new games", "Went to a pottery class yesterday"}
    games = next(f for f in active(assistant.db) if f.text.startswith("Is always"))
    assert len(facts.evidence(assistant.db, games.id)) == 2 and games.confidence > 0.4


def test_a_negated_verb_agrees_with_the_person(assistant, tmp_path):
    assert said(assistant, tmp_path, "I haven't worked a weekend since March.", "I don't own a car these days.") == {
        "Hasn't worked a weekend since March", "Doesn't own a car these days"}
