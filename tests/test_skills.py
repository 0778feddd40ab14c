"""`ask`, `rewrite` and `suggest` (+ `draft --from-suggestion`) on the sample person: the parts
that need no model fast, and each skill end to end through the real CLI with a small GGUF (slow)."""

import json
import re
from email.message import EmailMessage

import pytest

from assistant.ingest.pipeline import index_paths
from assistant.prompt.chat import NOT_FOUND, Passage
from assistant.store import connect
from assistant_plugins.ask import has_evidence, settle
from assistant_plugins.rewrite import strip_fingerprint
from assistant_plugins.suggest.items import mentions, promises
from tests.conftest import SAMPLE, cli_json, run_cli

KNOWN = "When does Meera land in Portland?"
UNKNOWABLE = ["How much did my car insurance cost last year?", "Who is my dentist?"]
MARCUS_PROMISE = "I'll sketch out a revised plan by next Friday."


def _mail(tmp_path, folder: str, name: str, sender: str, to: str, date: str, subject: str, body: str):
    message = EmailMessage()
    message["From"], message["To"], message["Date"], message["Subject"] = sender, to, date, subject
    message["Message-ID"] = f"<{name}@test.example>"
    message.set_content(body)
    path = tmp_path / "extra" / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.eml").write_bytes(bytes(message))


# -- ask ----------------------------------------------------------------------------------------

def test_retrieval_tells_known_from_unknowable_questions(sample_assistant):
    """Meera's flight is in her email; her car insurance and dentist are nowhere in her history."""
    assert has_evidence(sample_assistant.search(KNOWN, k=5))
    for question in UNKNOWABLE:
        assert not has_evidence(sample_assistant.search(question, k=5)), question


def test_citations_only_name_passages_given():
    passages = [Passage(1, "August?? + Mum's birthday", "2026-04-14", "landing Sat 8th August, leaving the 22nd"),
                Passage(2, "Kitchen renovation", "2026-02-01", "cabinets in sage green")]
    assert settle("She lands on 8 August [1][7].", passages) == ("She lands on 8 August [1].", [1])
    assert settle("Sage green cabinets [2, 9]", passages) == ("Sage green cabinets [2]", [2])
    # no marker: the passage sharing its words is cited; sharing none, it is no answer
    assert settle("She lands on Saturday the 8th of August.", passages, KNOWN) == (
        "She lands on Saturday the 8th of August. [1]", [1])
    assert settle("Probably in the spring.", passages, KNOWN) is None
    # the model saying it does not know, in the prompt's words or its own
    assert settle(NOT_FOUND, passages) is None
    assert settle("The passages do not say when she arrives [1].", passages) is None
    # a small model that goes on to write passages of its own: only its answer counts
    assert settle('8 August [1]\n<passage n="9">made up</passage>', passages) == ("8 August [1]", [1])


def test_an_answer_shown_as_it_is_written_never_shows_an_untrusted_link_or_a_false_citation():
    from assistant.generation.guard import Trusted
    from assistant_plugins.ask import shown_so_far

    passages = [Passage(1, "August?? + Mum's birthday", "2026-04-14", "landing Sat 8th August, leaving the 22nd")]
    trusted = Trusted(None, ["when does Mum land?"])
    raw = ("She lands on 8 August [1][7], see [the arrival times](https://evil.example/x) or http://evil.example/y "
           'now ![a pixel](https://evil.example/p.png) <img src="https://evil.example/q.png" alt="a b"> then.')
    shown = [shown_so_far(raw[:end], passages, trusted) for end in range(1, len(raw) + 1)]
    assert all("evil" not in text and "[7]" not in text and "http" not in text and "<" not in text
               and "![" not in text and "[the" not in text for text in shown), shown
    assert shown[len("She lands") - 1] == "She "  # a word is shown once it is whole
    assert shown[-1] == "She lands on 8 August [1], see the arrival times or now"
    assert shown_so_far('8 August [1]\n<passage n="9">made up', passages, trusted) == "8 August [1]"


@pytest.mark.slow
def test_ask_cites_real_passages_and_refuses_the_unknowable(sample_home):
    assert run_cli("models", "use", "smollm2-135m-instruct", home=sample_home).returncode == 0
    result = cli_json("ask", KNOWN, home=sample_home)
    assert result["found"] and result["model"] == "smollm2-135m-instruct" and result["citations"]
    db = connect(sample_home.db_path)
    numbers = {c["n"] for c in result["citations"]}
    for citation in result["citations"]:
        title, created = db.execute("SELECT d.title, d.created_at FROM chunks c JOIN documents d "
                                    "ON d.id = c.document_id WHERE c.id = ?", [citation["chunk_id"]]).fetchone()
        assert citation["document"] == title and created.startswith(citation["date"])
        assert f"[{citation['n']}" in result["answer"] or f", {citation['n']}]" in result["answer"]
    assert {int(n) for group in re.findall(r"\[([\d, ]+)\]", result["answer"]) for n in group.split(",")} <= numbers

    refused = cli_json("ask", UNKNOWABLE[0], home=sample_home)
    assert refused == {**refused, "answer": NOT_FOUND, "citations": [], "found": False, "model": ""}
    plain = run_cli("ask", UNKNOWABLE[0], home=sample_home)
    assert plain.returncode == 0 and plain.stdout.strip() == NOT_FOUND


# -- suggest ------------------------------------------------------------------------------------

def test_suggest_finds_unanswered_mail_and_open_promises(sample_assistant, sample_home, tmp_path):
    """In the sample every inbox email from someone Priya writes to is answered (in the thread or
    by a later email to them), and the phishing sender is no correspondent: none is suggested.
    A new email from Hannah (3 emails from Priya) that nothing answers is."""
    _mail(tmp_path, "inbox", "hannah-q3", "Hannah Pike <hannah@pikebookkeeping.example>",
          "Priya Nandakumar <priya@fernhill.example>", "Tue, 20 Oct 2026 10:00:00 -0700",
          "Q3 receipts", "Hi Priya,\n\nCould you send the September receipts for the studio card?\n\nHannah")
    _mail(tmp_path, "inbox", "hannah-old", "Hannah Pike <hannah@pikebookkeeping.example>",
          "Priya Nandakumar <priya@fernhill.example>", "Mon, 31 Aug 2026 10:00:00 -0700",
          "August receipts?", "Hi Priya,\n\nAre the August receipts in the shared folder yet?\n\nHannah")
    assert index_paths(sample_assistant, [tmp_path / "extra"]).added == 2

    items = cli_json("suggest", home=sample_home)
    unanswered = [i for i in items if i["kind"] == "unanswered"]
    assert [(i["person"], i["address"], i["document"]) for i in unanswered] == [
        ("Hannah Pike", "hannah@pikebookkeeping.example", "Q3 receipts")]  # Aug 31 was answered on Sep 1
    hannah = unanswered[0]
    assert hannah["evidence"] == "Could you send the September receipts for the studio card?"
    assert hannah["suggested_reply"].startswith("Hiya Hannah,") and hannah["reply_source"] == "template"
    assert hannah["date"] == "2026-10-20" and hannah["uri"].endswith("hannah-q3.eml")
    assert hannah["reply_to"] == "<hannah-q3@test.example>"  # its draft answers in the thread

    promises = {i["evidence"]: i for i in items if i["kind"] == "commitment"}
    marcus = promises[MARCUS_PROMISE]
    assert (marcus["person"], marcus["address"], marcus["document"], marcus["date"]) == (
        "Marcus Bell", "marcus.bell@bellhome.example", "Re: Courtyard ideas!!", "2026-03-11")
    # followed up: the stormwater report promised to Janet is in her later email about the tree protection
    assert not any("stormwater report" in evidence for evidence in promises)
    # "let me know" asks; it promises nothing
    assert not any("let me know" in evidence.lower() for evidence in promises)
    assert cli_json("suggest", home=sample_home) == items  # IDs hash the evidence: stable


def test_promises_are_what_the_person_undertook_to_do():
    text = ("Thanks for the notes. I'll send it Friday. I will get back to you on the fee; Sam has the figures. "
            "Let me check and confirm the date. Let me know if that works. Shall I bring the plans? "
            "I'll be there at nine. We will submit the report by the 20th.")
    assert [sentence for sentence, _ in promises(text)] == [
        "I'll send it Friday.", "I will get back to you on the fee; Sam has the figures.",
        "Let me check and confirm the date.", "We will submit the report by the 20th."]
    assert mentions("submit the report by the 20th", "The report went in on Wednesday.")
    assert not mentions("submit the report by the 20th", "The site visit went well; see you on the 20th.")
    long = "submit the stamped stormwater report, the planting schedule and the tree protection plan"
    assert not mentions(long, "The planting went well.")  # a long promise needs three of its words
    assert mentions(long, "Tree protection fencing went up before planting.")


def test_suggest_is_readable_without_json(sample_home):
    result = run_cli("suggest", home=sample_home)
    assert result.returncode == 0 and f"“{MARCUS_PROMISE}”" in result.stdout and "Marcus Bell" in result.stdout


@pytest.mark.slow
def test_draft_from_a_suggestion_is_to_the_person_it_concerns(sample_home):
    marcus = next(i for i in cli_json("suggest", home=sample_home) if i["evidence"] == MARCUS_PROMISE)
    assert run_cli("models", "use", "gemma3-270m", home=sample_home).returncode == 0
    result = run_cli("draft", "--from-suggestion", marcus["id"], "--json", "--max-tokens", "60", home=sample_home)
    assert result.returncode == 0, result.stderr
    draft = json.loads(result.stdout)
    assert draft["prefilled"] == "Hiya Marcus," and draft["draft"].startswith("Hiya Marcus,")
    db = connect(sample_home.db_path)
    first = db.execute("SELECT d.recipients FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?",
                       [draft["used"][0]]).fetchone()[0]
    assert first == '["marcus.bell@bellhome.example"]'


# -- rewrite ------------------------------------------------------------------------------------

PERMIT_LIST = (SAMPLE / "mail" / "sent" / "10-sam-permit-list.eml").read_text().split("\n\n", 1)[1]


def test_neutral_strips_greeting_signoff_name_and_punctuation_habits():
    text, removed = strip_fingerprint(PERMIT_LIST, ["Priya Nandakumar"])
    assert text.startswith("Janet's completeness letter is in, three items")
    assert not any(mark in text for mark in ("Hiya", "Onwards", "Priya", "—", ";"))
    assert removed[:2] == ["greeting: Hiya Sam,", "sign-off: Onwards, / Priya"]
    signed = strip_fingerprint("Dear Janet,\n\nThe report is attached!\n\nWith thanks,\nPriya Nandakumar\n", ["Priya Nandakumar"])
    assert signed[0] == "The report is attached."


@pytest.mark.slow
def test_rewrite_neutral_and_in_her_voice(sample_home, tmp_path):
    assert run_cli("models", "use", "smollm2-135m-instruct", home=sample_home).returncode == 0
    source = tmp_path / "permit.txt"
    source.write_text(PERMIT_LIST)
    neutral = cli_json("rewrite", str(source), "--neutral", "--max-tokens", "120", home=sample_home)
    assert neutral["mode"] == "neutral" and neutral["text"].strip() and neutral["used"] == []
    assert not any(mark in neutral["text"] for mark in ("Hiya", "Onwards", "Priya", "—", ";"))

    plain = "Hello,\n\nThe meeting moved to Thursday at 10. Please bring the planting schedule.\n\nRegards"
    voice = run_cli("rewrite", "-", "--to", "Sam", "--json", "--max-tokens", "120", home=sample_home, input=plain)
    assert voice.returncode == 0, voice.stderr
    result = json.loads(voice.stdout)
    assert result["mode"] == "voice" and result["text"].strip() and result["used"]
    db = connect(sample_home.db_path)
    for chunk_id in result["used"]:  # her own emails are the exemplars
        assert db.execute("SELECT d.author_is_me, d.kind FROM chunks c JOIN documents d ON d.id = c.document_id "
                          "WHERE c.id = ?", [chunk_id]).fetchone() == (1, "mail")


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (("ask", "  "), "the question is empty"),
    (("rewrite", "/no/such/file.txt"), "no file at /no/such/file.txt"),
    (("draft", "--from-suggestion", "0000000000"), "no suggestion has the ID '0000000000'"),
])
def test_bad_input_is_one_line_and_exit_1(sample_home, args, says):
    result = run_cli(*args, home=sample_home)
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and says in errors[0]


def test_rewrite_refuses_empty_text(sample_home):
    result = run_cli("rewrite", "-", home=sample_home, input="  \n")
    assert result.returncode == 1 and "no text to rewrite" in result.stderr
