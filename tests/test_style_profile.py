"""The stored style profile: rows after `assistant index`, incremental refresh, removal, notes, exemplars."""

import json
import shutil

import numpy as np
import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.ingest.pipeline import index_paths
from assistant.profile.exemplars import TARGET, exemplar_set
from assistant.profile.refresh import refresh_style
from assistant.profile.style import (GENERAL_ENGLISH_ZIPF, TOPICAL_ZIPF, distinctive_phrases, english_zipf,
                                     greeting_of, signoff_of, stored_style)
from assistant.profile.stylometry import Stylometer
from assistant.store.documents import delete_documents
from assistant_plugins.draft import build_prompt
from tests.conftest import SAMPLE, run_cli

NEW_EMAIL = """From: Priya Nandakumar <priya@fernhill.example>
To: =?utf-8?q?Tom=C3=A1s_Reyes?= <tomas@reyesbuild.example>
Date: Tue, 03 Nov 2026 09:00:00 -0800
Subject: Tiles
Message-ID: <20261103.tiles@fernhill.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hiya Tomás,

Quick one: the splashback tiles arrive Thursday — could your crew take them in? No rush on fitting them; the
week after is fine.

Onwards,
Priya
"""


@pytest.fixture
def sample_assistant(sample_home, embedder):
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    return assistant


def _groups(db) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r[0], r[1]): (r[2], r[3]) for r in db.execute(
        "SELECT context, correspondent, data, updated_at FROM style_profile")}


def _counts(db, context: str, correspondent: str) -> dict:
    return dict(db.execute("SELECT key, value FROM style_counts WHERE context = ? AND correspondent = ?",
                           [context, correspondent]).fetchall())


def test_index_stores_a_feature_row_per_document_and_a_profile_per_context(assistant, tmp_path):
    sample = tmp_path / "priya"
    shutil.copytree(SAMPLE, sample)
    result = run_cli("index", str(sample), home=assistant.home)
    assert result.returncode == 0, result.stderr
    db = assistant.db
    documents = db.execute("SELECT count(*) FROM documents WHERE kind IN ('mail', 'chat', 'doc')").fetchone()[0]
    assert db.execute("SELECT count(*) FROM style_features").fetchone()[0] == documents
    assert db.execute("SELECT count(*) FROM style_features f JOIN documents d ON d.id = f.document_id "
                      "WHERE d.kind = 'attachment'").fetchone()[0] == 0
    profiles = {row[0]: row[1] for row in db.execute(
        "SELECT context, docs FROM style_profile WHERE correspondent = ''")}
    assert profiles == {"email": 40, "chat": 21, "document": 5}
    assert db.execute("SELECT count(*) FROM style_dirty").fetchone()[0] == 0
    assert refresh_style(db).added == 0  # `index` left nothing to do


def test_a_new_email_updates_only_its_context_and_correspondent(sample_assistant, tmp_path):
    db = sample_assistant.db
    assert refresh_style(db).added == 0
    before = _groups(db)
    janet = _counts(db, "email", "jliu@portland.example")
    tomas_docs = _counts(db, "email", "tomas@reyesbuild.example")["docs"]
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "tiles.eml").write_text(NEW_EMAIL)
    assert index_paths(sample_assistant, [tmp_path / "mail"]).added == 1

    report = refresh_style(db)
    assert (report.added, report.removed, report.groups) == (1, 0, 2)
    after = _groups(db)
    changed = {group for group in after if after[group] != before.get(group)}
    assert changed == {("email", ""), ("email", "tomas@reyesbuild.example")}
    assert _counts(db, "email", "jliu@portland.example") == janet
    assert _counts(db, "email", "tomas@reyesbuild.example")["docs"] == tomas_docs + 1
    assert json.loads(after[("email", "")][0])["docs"] == 41
    assert report.exemplars == []  # the new email competed with the chosen ones; no full search


def test_a_deleted_document_takes_its_rows_with_it(sample_assistant):
    db = sample_assistant.db
    doc_id = db.execute("SELECT e.document_id FROM style_exemplars e JOIN documents d ON d.id = e.document_id "
                        "WHERE e.context = 'email' AND d.recipients LIKE '%jliu@%'").fetchone()
    doc_id = doc_id[0] if doc_id else db.execute(
        "SELECT id FROM documents WHERE kind = 'mail' AND recipients LIKE '%jliu@%'").fetchone()[0]
    grams = json.loads(db.execute("SELECT grams FROM style_features WHERE document_id = ?", [doc_id]).fetchone()[0])
    gram = next(iter(grams))
    uses = db.execute("SELECT sum(uses) FROM style_grams WHERE mine = 1 AND gram = ?", [gram]).fetchone()[0]

    delete_documents(db, [doc_id])
    assert db.execute("SELECT count(*) FROM style_features WHERE document_id = ?", [doc_id]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM style_exemplars WHERE document_id = ?", [doc_id]).fetchone()[0] == 0
    assert _counts(db, "email", "jliu@portland.example")["docs"] == 4
    left = db.execute("SELECT sum(uses) FROM style_grams WHERE mine = 1 AND gram = ?", [gram]).fetchone()[0] or 0
    assert left == uses - grams[gram]

    report = refresh_style(db)
    assert report.added == 0 and report.exemplars == ["email"]
    style = stored_style(db)
    assert style.emails == 39 and style.by_correspondent["jliu@portland.example"]["emails"] == 4
    assert doc_id not in [e.document_id for e in exemplar_set(db, "email")]


def test_profiles_rendered_by_an_older_version_are_rendered_again(sample_assistant):
    db = sample_assistant.db
    groups = db.execute("SELECT count(*) FROM style_profile").fetchone()[0]
    db.execute("UPDATE style_profile SET data = json_set(data, '$.version', 0) WHERE correspondent = ''")
    db.conn.commit()
    assert refresh_style(db).groups == groups and refresh_style(db).groups == 0


def test_notes_per_correspondent_follow_her_sent_mail(sample_assistant):
    db = sample_assistant.db
    sent: dict[str, list[str]] = {}
    for row in db.query("SELECT d.recipients, group_concat(c.text, '\n\n') AS text FROM documents d "
                        "JOIN chunks c ON c.document_id = d.id WHERE d.kind = 'mail' AND d.author_is_me = 1 "
                        "GROUP BY d.id"):
        for address in json.loads(row["recipients"]):
            sent.setdefault(address, []).append(row["text"])
    style = stored_style(db)
    for address in ("jliu@portland.example", "sam@fernhill.example"):
        person = style.by_correspondent[address]
        greetings = [greeting_of(text) for text in sent[address]]
        signoffs = [signoff_of(text) for text in sent[address]]
        usual = max(set(greetings), key=greetings.count)
        assert tuple(person["greetings"][0]) == (usual, greetings.count(usual))
        assert person["signoff"] == max(set(signoffs), key=signoffs.count)
    janet, sam = style.notes("Janet"), style.notes("Sam")
    assert janet[0] == "To Janet Liu (from 5 emails to them):"
    assert "Opens with a greeting like 'Dear NAME,' (5 of 5)." in janet
    assert "Signs off with 'With thanks, / Priya Nandakumar' (5 of 5)." in janet
    assert "Opens with a greeting like 'Hiya NAME,' (9 of 9)." in sam
    assert "Signs off with 'Onwards, / Priya' (9 of 9)." in sam
    general = style.notes(None)
    assert any(n.startswith("Usually 'Hiya NAME,' and 'Onwards, / Priya'; changes register for Janet Liu")
               for n in general)
    assert any(n.startswith("Keeps emails short: about") for n in general)


def test_distinctive_phrases_leave_out_general_english():
    mine = [("let me know", 12, 14), ("thank you for", 10, 10), ("pencil in", 4, 4), ("stormwater report", 6, 9),
            ("fingers crossed", 3, 3), ("sketch it out", 2, 2)]
    picked = [p["phrase"] for p in distinctive_phrases(mine, 1000, {"fingers crossed": 40}, 2000)]
    assert picked == ["pencil in"]  # common-word phrases, a topic, one others use more, one in 2 texts: out
    assert english_zipf("let me know") >= GENERAL_ENGLISH_ZIPF and english_zipf("stormwater report") < TOPICAL_ZIPF


def test_her_stored_phrases_are_her_habits(sample_assistant):
    phrases = stored_style(sample_assistant.db).phrases
    assert {"quick one", "pencil in", "cheers for"} <= set(phrases)
    assert all(TOPICAL_ZIPF <= english_zipf(p) < GENERAL_ENGLISH_ZIPF for p in phrases)


def test_draft_reads_the_stored_profile(sample_assistant):
    db = sample_assistant.db
    data = json.loads(db.execute("SELECT data FROM style_profile WHERE context = 'email' AND correspondent = ''")
                      .fetchone()[0])
    data["notes"].append("Never mentions the weather.")  # only the stored profile says so
    db.execute("UPDATE style_profile SET data = ? WHERE context = 'email' AND correspondent = ''", [json.dumps(data)])
    db.conn.commit()
    prompt = build_prompt(sample_assistant, "ask Sam to move the site visit", "Sam", True, chat=True)
    system, user = prompt.messages[0]["content"], prompt.messages[-1]["content"]
    assert "Never mentions the weather." in system  # the general notes: the stable prefix
    assert "Opens with a greeting like 'Hiya NAME,' (9 of 9)." in user  # her habit with Sam: with the request


def test_exemplars_are_her_own_typical_texts_per_context(sample_assistant):
    db = sample_assistant.db
    for context, kind in (("email", "mail"), ("chat", "chat"), ("document", "doc")):
        chosen = exemplar_set(db, context, fallback=False)
        assert 0 < len(chosen) <= TARGET and len({e.document_id for e in chosen}) == len(chosen)
        for exemplar in chosen:
            row = db.execute("SELECT kind, author_is_me FROM documents WHERE id = ?", [exemplar.document_id]).fetchone()
            assert tuple(row) == (kind, 1)
    emails = exemplar_set(db, "email")
    assert len(emails) == TARGET and not any(e.text.lstrip().startswith(">") for e in emails)
    assert len({tuple(e.recipients) for e in emails}) >= 4  # diverse: not all to one person


def test_a_person_with_no_mail_gets_exemplars_from_their_documents(assistant, tmp_path):
    shutil.copytree(SAMPLE / "notes", tmp_path / "notes")
    index_paths(assistant, [tmp_path / "notes"])
    refresh_style(assistant.db)
    chosen = exemplar_set(assistant.db, "email")
    assert chosen and {e.context for e in chosen} == {"document"}
    assert stored_style(assistant.db).contexts["document"]["docs"] == 4


def test_the_character_block_counts_each_2_to_4_gram_of_the_folded_text():
    """Hashed n-gram counts, square-rooted and scaled to unit length: the voice model's largest block."""
    import zlib

    from assistant.profile.stylometry import CHAR_DIMS, char_block

    counts = np.zeros(CHAR_DIMS)
    for gram in ["ab", "b ", " a", "ab", "ab ", "b a", " ab", "ab a", "b ab"]:  # "ab \n AB" folds to "ab ab"
        counts[zlib.crc32(gram.encode()) % CHAR_DIMS] += 1
    assert np.allclose(char_block("ab \n AB"), np.sqrt(counts) / np.linalg.norm(np.sqrt(counts)))
    assert not char_block("").any()


def test_stylometer_tells_her_from_others_by_profile_and_exemplars(sample_assistant):
    db = sample_assistant.db
    texts = {mine: [r[0] for r in db.execute(
        "SELECT group_concat(c.text, '\n\n') FROM documents d JOIN chunks c ON c.document_id = d.id "
        "WHERE d.kind = 'mail' AND d.author_is_me = ? GROUP BY d.id", [mine])] for mine in (0, 1)}
    meter = Stylometer()
    meter.fit_profile("priya", stored_style(db).contexts["email"], [e.text for e in exemplar_set(db, "email")])
    meter.fit_texts("others", texts[0])
    labelled = [("priya", t) for t in texts[1]] + [("others", t) for t in texts[0]]
    assert meter.accuracy(labelled) >= 0.8
    new = "Hiya Sam,\n\nQuick one — can we pencil in Friday? No rush on this.\n\nOnwards,\nPriya"
    assert meter.predict(new) == "priya"


def test_the_register_note_states_only_habits():
    """Jeff Johnson (Enron) greets in 1 email of 10: his notes said "Usually 'Hi NAME,'; changes register for
    person13 ('Hello? NAME,')" from one greeted email to them, and the model greeted everyone."""
    from assistant.profile.style import register_note

    def group(docs, greeted, signed=0, greeting="Hi", signoff="Best,\nJeff"):
        return {"docs": docs, "greetings": [(greeting, greeted)] if greeted else [], "greeting_rate": greeted / docs,
                "signoffs": [(signoff, signed)] if signed else [], "signoff_rate": signed / docs}

    jeff = group(458, 42)
    assert register_note(jeff, {"p13@corp": group(3, 1, greeting="Hello?"), "p1@corp": group(2, 0)}) is None
    people = {"janet@city": {**group(4, 4, 3, "Dear", "With thanks,\nJeff Johnson"), "name": "Janet Liu"}}
    assert register_note(jeff, people) == ("Usually no greeting or sign-off; changes register for Janet Liu "
                                           "('Dear NAME,' and 'With thanks, / Jeff Johnson').")
    assert register_note(group(10, 8, 6), people).startswith("Usually 'Hi NAME,' and 'Best, / Jeff'; changes")


def test_a_sign_off_and_greeting_glued_to_the_text_are_read_as_such():
    """Mail whose line breaks were lost (the Enron set has none): Kay Brown ends 40 % of her emails
    "…what you did.Thanks,Kay" and Jeff Johnson 72 % "…Thoughts?Best,Jeff". Read by lines, neither
    ever signed off, and a draft's "Thanks,\\nKay" was dropped as a sign-off she never uses."""
    from assistant.profile.style import body_lines, document_features

    assert signoff_of("I'd appreciate hearing about what you did.Thanks,Kay") == "Thanks,\nKay"
    assert signoff_of("David:Great start.  Thoughts?Best,Jeff") == "Best,\nJeff"
    assert signoff_of("The permit came.\nThanks, Kay") == "Thanks,\nKay"
    for text in ("Thanks, Sam", "We want the best, Mary", "It was the best,Jeff said.", "Sounds good.  Kay"):
        assert signoff_of(text) is None, text
    assert body_lines("Hi guys,Lee is asking.  What should I tell him?Thanks,Kay") == \
        "Lee is asking.  What should I tell him?"  # the greeting and sign-off go, the sentences stay
    assert body_lines("Hi Sam,\n\nThe plan is ready.\n\nBest,\nPriya").strip() == "The plan is ready."
    counts, _ = document_features("Hi guys,Lee is asking about the contract.  What should I tell him?Thanks,Kay")
    assert counts["sign:Thanks,\nKay"] == 1 and counts["sentences"] == 2


def test_a_store_whose_style_rows_were_read_by_an_older_version_is_read_again(sample_assistant):
    from assistant.store.migrations import m012_style_features_read_again

    db = sample_assistant.db
    refresh_style(db)
    profile = {key: json.loads(data)["notes"] for key, (data, _) in _groups(db).items()}
    counts = _counts(db, "email", "")
    documents = db.execute("SELECT count(*) FROM style_features").fetchone()[0]
    m012_style_features_read_again(db)
    assert refresh_style(db).added == documents
    assert _counts(db, "email", "") == counts  # read once, not added onto the old totals
    assert {key: json.loads(data)["notes"] for key, (data, _) in _groups(db).items()} == profile
