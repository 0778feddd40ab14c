"""The draft pipeline's copy guard and candidate reranking (`[draft] candidates`), over the real sample store.

The generators here are scripted (they paste, or answer from a fixed list) so that what is
tested is the pipeline's choice and its guard, not a model's mood.
"""

from __future__ import annotations

import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.errors import UserError
from assistant.generation.copying import MAX_COPIED_WORDS, CopyIndex, trim_copies
from assistant_plugins.draft import draft
from assistant_plugins.draft.choose import MIN_AUTHOR_EMAILS, content_words, coverage, store_stylometer, voice
from tests.draft_support import Scripted

SAM_BUDGET = "<9f2c1a7e.sam@fernhill.example>"  # the sample's inbox/01, Sam's revised budget



class Paster(Scripted):
    """Answers with a greeting, one line of its own, and the whole first past email (an earlier turn) or
    quoted block (`tag`) it was shown."""

    name = "paster"
    has_chat_template = True

    def __init__(self, tag: str = "email") -> None:
        self.tag = tag

    def chat(self, messages, max_tokens=256, temperature=0.7):
        if self.tag == "email":
            pasted = next(m["content"] for m in messages if m["role"] == "assistant")
        else:
            user = messages[-1]["content"]
            start = user.index("\n", user.index(f"<{self.tag} ")) + 1
            pasted = user[start:user.index(f"</{self.tag}>", start)]
        pasted = pasted.replace(" …", "")
        return f"Hiya Sam,\n\nQuick note on this.\n\n{pasted}\n\nOnwards,\nPriya"


class Listed(Scripted):
    """Answers each call with the next of `answers`."""

    name = "listed"
    has_chat_template = True

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def chat(self, messages, max_tokens=256, temperature=0.7):
        self.calls += 1
        return self.answers.pop(0)


def test_the_longest_run_is_found_in_one_source_ignoring_case_and_punctuation():
    sources = ["the permit set went in on Monday and the city says two weeks",
               "Hiya Sam, the permit set went in, on Monday; and the city says two weeks for the review of it"]
    run = CopyIndex(sources).longest("FYI: The permit set went in on Monday and the city says two weeks for the "
                                     "review, fingers crossed")
    assert (run.length, run.source, run.start) == (16, 1, 1)
    assert CopyIndex(sources).longest("nothing shared here at all") is None


def test_trimming_takes_out_each_sentence_holding_a_long_copy_and_keeps_the_rest():
    source = "We have received the executed Confidentiality Agreement dated 11/15/00 between the referenced " \
             "Counterparty and Enron North America Corp."
    text = ("Hi Dave,\n\nThanks for the call. We have received the executed confidentiality agreement dated "
            "11/15/00 between the referenced counterparty and Enron, as you asked. I will send it today.\n\nKay")
    trimmed, taken = trim_copies(text, [source])
    assert trimmed == "Hi Dave,\n\nThanks for the call. I will send it today.\n\nKay"
    assert len(taken) == 1 and taken[0].startswith("We have received")
    short = "Thanks. We have received the executed Confidentiality Agreement dated 11/15/00. More soon."
    assert trim_copies(short, [source]) == (short, [])  # 10 words in a row: writing, not pasting


def test_a_draft_keeps_no_long_run_pasted_from_an_exemplar(sample_assistant):
    sample_assistant.__dict__["generator"] = Paster()
    result = draft(sample_assistant, "tell Sam the alder budget is fine", to="Sam")
    exemplars = [sample_assistant.db.execute("SELECT text FROM chunks WHERE id = ?", [i]).fetchone()[0] for i in result.used]
    run = CopyIndex(exemplars).longest(result.draft)
    assert run is None or run.length <= MAX_COPIED_WORDS, result.draft
    assert "Quick note on this." in result.draft and result.draft.startswith("Hiya Sam,")
    assert any(r["kind"] == "copy" for r in result.removed)


def test_a_reply_that_pastes_the_incoming_email_back_keeps_none_of_it(sample_assistant):
    sample_assistant.__dict__["generator"] = Paster(tag="incoming")
    result = draft(sample_assistant, reply_to=SAM_BUDGET)
    incoming = sample_assistant.db.execute("SELECT group_concat(text, ' ') FROM chunks WHERE document_id = (SELECT id FROM "
                                 "documents WHERE json_extract(meta, '$.message_id') = ?)", [SAM_BUDGET]).fetchone()[0]
    run = CopyIndex([incoming]).longest(result.draft)
    assert run is None or run.length <= MAX_COPIED_WORDS, result.draft
    assert "Quick note on this." in result.draft


def test_a_reply_without_an_instruction_asks_for_a_reply_in_so_many_words(sample_assistant):
    from tests.draft_support import Recorder

    generator = sample_assistant.__dict__["generator"] = Recorder()
    draft(sample_assistant, reply_to=SAM_BUDGET)
    user = generator.prompts[0][-1]["content"]
    request = user[user.index("Request from Priya Nandakumar"):]
    assert "Write Priya Nandakumar's reply to Sam Okoye" in request
    assert "Do not repeat or quote the incoming email" in request


def test_content_words_and_coverage():
    assert content_words("Please ask Sam to move Thursday's site visit to Friday") == [
        "ask", "sam", "move", "thursday's", "site", "visit", "friday"]
    assert content_words("the alder stormwater permit and the swale", limit=2) == ["stormwater", "swale"]
    assert coverage("Moving the site meeting to Friday", ["site", "friday", "swale"]) == pytest.approx(2 / 3)
    assert coverage("We are meeting on Monday", ["meet"]) == 1.0  # an inflected form counts


def test_the_store_voice_model_tells_her_mail_from_the_mail_she_received(sample_assistant):
    meter = store_stylometer(sample_assistant)
    assert meter.labels == ["me", "others"]
    hers = sample_assistant.db.execute("SELECT text FROM chunks c JOIN documents d ON d.id = c.document_id "
                             "WHERE d.author_is_me = 1 AND d.kind = 'mail' LIMIT 1").fetchone()[0]
    theirs = "Dear Customer,\n\nYour order #4471 has been confirmed and will ship within 3-5 business days. " \
             "Please retain this email for your records.\n\nRegards,\nGreenleaf Nursery Customer Service"
    assert voice(meter, hers) > voice(meter, theirs)
    assert store_stylometer(sample_assistant) is meter  # fitted once per store state


def test_someone_who_writes_to_her_often_has_a_voice_of_their_own_in_the_store_voice_model(sample_assistant,
                                                                                         tmp_path):
    """Twenty emails from one vendor: their own centroid, so a text in their voice is scored against
    them, not against the pooled sample of everyone's mail where one writer's voice is diluted."""
    from assistant.ingest.pipeline import index_paths

    items = ["pavers", "mulch", "drip line", "river rock", "edging", "topsoil", "gravel", "planters", "sod",
             "compost"]
    folder = tmp_path / "rex"
    folder.mkdir()
    for i in range(MIN_AUTHOR_EMAILS):
        item = items[i % len(items)]
        folder.joinpath(f"{i:02d}.eml").write_text(
            f"From: Rex Bolt <rex@boltsupply.example>\nTo: Priya Nandakumar <priya@fernhill.example>\n"
            f"Subject: DEAL #{i} on {item}\nMessage-ID: <rex{i}@boltsupply.example>\n"
            f"Date: Tue, {i + 1} Sep 2025 09:00:00 +0000\n\n"
            f"GREETINGS VALUED PARTNER!!! This week ONLY: {item} at {10 + i}% OFF!!! Reply NOW to lock "
            f"in your price, stocks are LIMITED!!! Don't miss out, order #{100 + i} ships FREE!!!\n\n"
            f"-- Rex @ Bolt Supply (call 555-01{i:02d})\n")
    assert index_paths(sample_assistant, [folder]).failed == 0
    meter = store_stylometer(sample_assistant)
    assert meter.labels[:2] == ["me", "others"] and "rex@boltsupply.example" in meter.labels
    pitch = "GREETINGS VALUED PARTNER!!! This week ONLY: alder saplings at 50% OFF!!! Reply NOW!!!"
    scores = meter.scores(pitch)
    assert scores["rex@boltsupply.example"] > scores["others"]
    assert voice(meter, pitch) == pytest.approx(scores["me"] - scores["rex@boltsupply.example"])


def test_candidates_keep_the_one_in_her_voice_that_covers_the_request(sample_assistant):
    off_topic = ("Dear Sir or Madam,\n\nWe are writing regarding your recent enquiry. Please find our terms "
                 "at https://evil.example/terms.\n\nKind regards,\nCustomer Service")
    formal = ("Dear Sam,\n\nI am writing to inform you that the alder planting budget has been approved. "
              "Please do not hesitate to contact me should you require further information.\n\nYours faithfully,\n"
              "Priya Nandakumar")
    hers = ("Hiya Sam,\n\nGood news — the alder planting budget is approved, so we can order the whips for the "
            "swale this week. Shout if the numbers look off to you.\n\nOnwards,\nPriya")
    generator = sample_assistant.__dict__["generator"] = Listed([off_topic, formal, hers])
    result = draft(sample_assistant, "tell Sam the alder planting budget is approved", to="Sam", candidates=3)
    assert generator.calls == 3
    assert result.draft == hers
    # every candidate is listed as it would have been saved: finished and guarded like the draft
    assert result.candidates[2] == result.draft and "evil.example" not in " ".join(result.candidates)


def test_candidates_come_from_the_config_and_a_bad_value_is_one_error(sample_assistant):
    from assistant.config import update_config

    update_config(sample_assistant.home, lambda doc: doc.setdefault("draft", {}).__setitem__("candidates", 2))
    assistant = Assistant(sample_assistant.home, Config.load(sample_assistant.home))
    assistant.__dict__["embedder"] = sample_assistant.embedder
    generator = assistant.__dict__["generator"] = Listed(["Hiya Sam,\n\nYes.\n\nPriya"] * 2)
    draft(assistant, "say yes to Sam", to="Sam")
    assert generator.calls == 2
    generator = assistant.__dict__["generator"] = Listed(["Hi,\n\nYes."])
    draft(assistant, "say yes to Sam", to="Sam", personalize=False)  # the baseline drafts once
    assert generator.calls == 1
    update_config(sample_assistant.home, lambda doc: doc["draft"].__setitem__("candidates", 0))
    with pytest.raises(UserError, match=r"\[draft\] candidates"):
        Config.load(sample_assistant.home)


def test_without_a_tone_a_draft_is_told_and_held_to_her_usual_length(sample_assistant):
    from assistant.profile.refresh import current_style
    from tests.draft_support import Recorder

    words = current_style(sample_assistant.db).contexts["email"]["words"]
    generator = sample_assistant.__dict__["generator"] = Recorder()
    draft(sample_assistant, "tell Sam the alder budget is fine", to="Sam")
    assert f"Length: about {words['median']} words" in generator.prompts[0][-1]["content"]
    assert generator.max_tokens[0] == round(words["p75"] * 1.5) + 24 < 220
    draft(sample_assistant, "tell Sam the alder budget is fine", to="Sam", personalize=False)
    assert generator.max_tokens[-1] == 220 and "Length:" not in generator.prompts[-1][-1]["content"]


def test_a_request_with_more_points_than_her_usual_length_holds_gets_room_for_each(sample_assistant):
    from assistant.profile.refresh import current_style
    from assistant.profile.tone import WORDS_PER_POINT
    from assistant_plugins.draft import request_points
    from tests.draft_support import Recorder

    words = current_style(sample_assistant.db).contexts["email"]["words"]
    request = ("tell Sam the alder budget is fine, the whips arrive Tuesday, the swale survey slipped, Leo "
               "drives the trailer, the nursery invoice doubled, compost delivery Friday, planting starts Monday")
    needed = WORDS_PER_POINT * len(request_points(request))
    assert needed > words["p75"]  # more to say than even her longer emails hold
    generator = sample_assistant.__dict__["generator"] = Recorder()
    draft(sample_assistant, request, to="Sam")
    assert f"Length: about {needed} words, enough for each point" in generator.prompts[0][-1]["content"]
    assert generator.max_tokens[0] == round(needed * 1.5) + 24
    from assistant.profile.tone import usual_length

    style = current_style(sample_assistant.db)
    assert usual_length(style, "Priya", len(request_points(request))).asked == needed  # what candidates are held to
    assert usual_length(style, "Priya", 1).asked == words["median"]


def test_a_draft_its_budget_cut_short_ends_at_its_last_whole_sentence(sample_assistant):
    from assistant.prompt.draft import end_at_sentence
    from tests.draft_support import Recorder

    cut = "Hiya Sam,\n\nThe budget is fine. We can order the whips this week and"
    assert end_at_sentence(cut) == "Hiya Sam,\n\nThe budget is fine."
    assert end_at_sentence("Hiya Sam,\n\nAll fine.\n\nOnwards,\nPriya") == "Hiya Sam,\n\nAll fine.\n\nOnwards,\nPriya"
    sample_assistant.__dict__["generator"] = Recorder(cut + " then" * 300)
    assert draft(sample_assistant, "tell Sam the alder budget is fine", to="Sam").draft == "Hiya Sam,\n\nThe budget is fine."
    sample_assistant.__dict__["generator"] = Recorder("Hiya Sam,\n\nfine by me see you friday at the yard")
    assert draft(sample_assistant, "say yes", to="Sam").draft.endswith("see you friday at the yard")  # ended, not cut


def test_a_greeting_placeholder_copied_from_the_style_notes_becomes_the_name_or_goes(sample_assistant):
    from tests.draft_support import Recorder

    sample_assistant.__dict__["generator"] = Recorder("Hiya NAME,\n\nFriday works.\n\nOnwards,\nPriya")
    assert draft(sample_assistant, "say Friday works", to="Sam").draft.startswith("Hiya Sam,\n")
    assert draft(sample_assistant, "say Friday works").draft.startswith("Hiya,\n")


def test_a_candidate_that_lists_the_request_back_is_never_kept():
    from assistant.profile.stylometry import Stylometer
    from assistant_plugins.draft.choose import pick

    listed = "Hiya Sam,\n\nAlder, planting, budget, approved, whips, swale, order.\n\nOnwards,\nPriya"
    hers = "Hiya Sam,\n\nThe alder budget is approved.\n\nOnwards,\nPriya"
    request = "tell Sam the alder planting budget is approved; order the whips for the swale"
    assert coverage(listed, content_words(request)) > coverage(hers, content_words(request))
    assert pick([listed, hers], request, Stylometer(), []) == 1  # no voice model: coverage alone would keep it
    # what Qwen wrote for a held-out Enron email (the request's words as phrases, semicolons between)
    phrases = ("Economic Cooperation Treaty (ECT); International Swaps and Derivatives Association (ISDA); Annex; "
               "Argentina; counterparties; discussed developments; Argentina; drafts greatly appreciated Sara")
    prose = ("Attached is the ISDA annex for the Argentine counterparties, as we discussed. Given the developments "
             "in Argentina, please check whether the drafts need changes; your comments are greatly appreciated.")
    request = "Write an email about: isda, annex, argentine, counterparties, discussed, developments, argentina, drafts"
    assert pick([phrases, prose], request, Stylometer(), []) == 1
    # a sentence that names several things is writing, not a list
    assert pick(["Bring the saw, the drill, two clamps, glue, sandpaper; and the level.", "Bring tools."],
                "ask Sam to bring the saw, drill, clamps, glue, sandpaper and level", Stylometer(), []) == 0


def test_candidates_equal_in_voice_and_coverage_keep_the_one_nearest_the_length_asked_for():
    from assistant.profile.stylometry import Stylometer
    from assistant_plugins.draft.choose import pick

    request = "tell Sam the alder budget is approved"
    terse = "Sam, the alder budget is approved."
    full = ("Sam, the alder budget is approved, so we can order the whips this week and plant the swale before "
            "the rain comes. Shout if the numbers look off to you.")
    assert coverage(terse, content_words(request)) == coverage(full, content_words(request))
    assert pick([terse, full], request, Stylometer(), []) == 0  # nothing to tell them apart: the first
    assert pick([terse, full], request, Stylometer(), [], length=30) == 1
    assert pick([full, terse], request, Stylometer(), [], length=6) == 1


def test_when_no_candidate_sounds_like_her_more_are_written_until_one_does(sample_assistant):
    """Three drafts in a call centre's voice: a fourth is written, hers, and kept; no fifth. With
    `[draft] more_candidates = 0` the three are all there is."""
    from assistant.config import update_config

    centre = ["Dear Customer,\n\nThank you for contacting us regarding the alder {0}. Your request has been "
              "logged and a representative will respond within 3-5 business days. Please retain this email for "
              "your records.\n\nKind regards,\nCustomer Service Team".format(word)
              for word in ("budget", "planting", "order")]
    hers = ("Hiya Sam,\n\nGood news — the alder planting budget is approved, so we can order the whips for the "
            "swale this week. Shout if the numbers look off to you.\n\nOnwards,\nPriya")
    meter = store_stylometer(sample_assistant)
    assert all(voice(meter, text) < 0 for text in centre) and voice(meter, hers) > 0
    request = "tell Sam the alder planting budget is approved"
    generator = sample_assistant.__dict__["generator"] = Listed(centre + [hers, hers])
    result = draft(sample_assistant, request, to="Sam", candidates=3)
    assert generator.calls == 4 and result.draft == result.candidates[3] and "Customer" not in result.draft
    generator = sample_assistant.__dict__["generator"] = Listed(centre * 2)
    assert len(draft(sample_assistant, request, to="Sam", candidates=3).candidates) == 5  # two more at most
    assert generator.calls == 5
    update_config(sample_assistant.home, lambda doc: doc.setdefault("draft", {}).__setitem__("more_candidates", 0))
    assistant = Assistant(sample_assistant.home, Config.load(sample_assistant.home))
    assistant.__dict__["embedder"] = sample_assistant.embedder
    generator = assistant.__dict__["generator"] = Listed(centre + [hers])
    assert "Customer" in draft(assistant, request, to="Sam", candidates=3).draft and generator.calls == 3
    update_config(sample_assistant.home, lambda doc: doc["draft"].__setitem__("more_candidates", -1))
    with pytest.raises(UserError, match=r"\[draft\] more_candidates"):
        Config.load(sample_assistant.home)


def test_a_candidate_in_her_voice_is_kept_over_one_that_reads_as_someone_elses_whatever_it_covers(
        sample_assistant):
    from assistant_plugins.draft.choose import pick

    centre = ("Dear Customer,\n\nThank you for contacting us: the alder planting budget for Sam has been approved. "
              "A representative will respond within 3-5 business days.\n\nKind regards,\nCustomer Service Team")
    hers = "Hiya Sam,\n\nGood news, it's a yes from me. Shout if anything looks off.\n\nOnwards,\nPriya"
    request = "tell Sam the alder planting budget is approved"
    meter = store_stylometer(sample_assistant)
    assert voice(meter, centre) < 0 < voice(meter, hers)
    assert coverage(centre, content_words(request)) > coverage(hers, content_words(request))
    assert pick([centre, hers], request, meter, [], length=30) == 1
    assert pick([hers, centre], request, meter, [], length=30) == 0
