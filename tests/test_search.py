"""Hybrid search over the indexed sample person."""

import json

from assistant.config import Config
from assistant.core import Assistant
from assistant.ingest.pipeline import index_paths
from assistant.retrieval.search import fts_query, fuse
from tests.conftest import cli_json


def test_search_finds_a_planted_sentence_by_meaning(sample_home, embedder, tmp_path):
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    notes = tmp_path / "more-notes"
    notes.mkdir()
    planted = "Grandma Lakshmi always folded cardamom into the dough when she made her plum dumplings."
    (notes / "family.md").write_text(f"# Family\n\n{planted}")
    index_paths(assistant, [notes])
    # the query shares no content word with the sentence
    hits = assistant.search("how did my granny prepare her fruit pastries?", k=3)
    assert hits and hits[0].text.endswith(planted)
    assert "vector" in hits[0].stages and hits[0].stages["vector"]["rank"] == 1


def test_search_cli_json_rows(sample_home):
    rows = cli_json("search", "greyhound", "-k", "3", home=sample_home)
    assert 1 <= len(rows) <= 3
    for row in rows:
        assert {"chunk_id", "uri", "score", "text", "timestamp"} <= set(row)
    assert any("Biscuit" in row["text"] for row in rows)


def test_filters_restrict_to_the_persons_own_mail(sample_home, embedder):
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    hits = assistant.search("kitchen cabinets quote", k=10, mine=True, kind="mail")
    assert hits and all(h.author_is_me and h.kind == "mail" for h in hits)
    others = assistant.search("kitchen cabinets quote", k=10, mine=False)
    assert others and not any(h.author_is_me for h in others)


def test_fts_query_survives_punctuation():
    assert fts_query('what did I tell "Sam" about the lease? (NEAR) MATCH*') == \
        '"tell" OR "sam" OR "lease" OR "near" OR "match"'


def test_rrf_rewards_agreement():
    fused = fuse([(1, 0.9, 10), (2, 0.8, 12)], [(2, 5.0), (3, 4.0)], k=3)
    assert [cid for cid, _, _ in fused][0] == 2
    assert set(fused[0][2]) == {"vector", "text"}


def test_text_list_weighs_by_how_much_of_the_question_its_best_match_holds():
    from assistant.retrieval.search import text_coverage

    assert text_coverage("Which games does Caroline play?", "Caroline plays chess") == 2 / 3  # game, caroline, play
    assert text_coverage("Can you suggest a restaurant for me?", "def fibonacci(n): return n") == 0.0
    assert text_coverage("the of and", "anything") == 0.0  # nothing left to match: no lexical signal


def test_a_question_about_me_prefers_what_i_wrote(sample_home, embedder):
    from dataclasses import replace

    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    about_me = "what did I say about the kitchen cabinets quote?"
    boosted = assistant.search(about_me, k=5)
    third_person = assistant.search("what did Sam say about the kitchen cabinets quote?", k=5)
    assert third_person and all("boost" not in h.stages for h in third_person)
    assistant.config = replace(assistant.config, self_query_boost=0.0)
    assistant.__dict__.pop("searcher", None)
    plain = assistant.search(about_me, k=5)
    assert sum(h.author_is_me for h in boosted) > sum(h.author_is_me for h in plain)
    assert boosted[0].author_is_me and boosted[0].stages["boost"]["factor"] == 2.0
    assert "text_weight" in boosted[0].stages["fusion"]


def test_a_request_for_advice_recalls_a_preference_stated_in_other_words(assistant, tmp_path):
    from dataclasses import replace

    chat = tmp_path / "assistant-chats.jsonl"
    filler = ["Write a Go function that reverses a linked list.", "Explain how TLS certificates are chained.",
              "Summarise this paragraph about monsoon rainfall in Kerala.", "What is the capital of Mongolia?",
              "Convert this Terraform block to the v1 ingress resource.", "List ten tests for a Fibonacci function."]
    stated = "Horror films give me nightmares for weeks, so I stay well away from them."
    messages = [*filler[:3], stated, *filler[3:]]
    chat.write_text("\n".join(json.dumps({"conversation": f"c{i}", "speaker": "priya", "text": t,
                                          "timestamp": "2024-03-01T10:00:00"}) for i, t in enumerate(messages)))
    index_paths(assistant, [chat])
    question = "Can you suggest a film for me to watch tonight?"
    hits = assistant.search(question, k=3)
    assert hits[0].text == stated and "preference" in hits[0].stages
    assistant.config = replace(assistant.config, preference_query_weight=0.0)
    assistant.__dict__.pop("searcher", None)
    assert all("preference" not in h.stages for h in assistant.search(question, k=3))


def test_search_why_says_how_each_hit_ranked(sample_home):
    from tests.conftest import run_cli

    out = run_cli("search", "what did I tell Sam about the greyhound?", "-k", "2", "--why", home=sample_home)
    assert out.returncode == 0, out.stderr
    reasons = [line for line in out.stdout.splitlines() if line.strip().startswith("why:")]
    assert len(reasons) == 2 and all("meaning #" in r for r in reasons)
    assert any("as your likes/dislikes #" in r for r in reasons)  # a question about me runs the preference probe
