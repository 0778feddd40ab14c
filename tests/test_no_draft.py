"""An answer that is no draft (a refusal, the request echoed) is stopped at its first sentence and
written again (`generation.no_draft`).

The refusals and the echo are what Qwen2.5-1.5B-instruct wrote for held-out Enron requests. The
model here is scripted: the tests are about the gate and the retries, and no real model refuses
on demand.
"""

from __future__ import annotations

import pytest

from assistant.generation.no_draft import NoDraftGate, asks_to_decline, echoes, refuses
from assistant_plugins.draft import MAX_RETRIES, draft
from assistant_plugins.draft.choose import content_words, pick
from assistant_plugins.draft.terminal import SentenceStream
from tests.draft_support import Scripted

QWEN_REFUSALS = [
    "I'm sorry, but I can't assist with that request.",
    "I'm sorry, but I can't fulfill your request.",
    "I'm sorry, but I cannot write an email that fulfills your request.",
    "I'm sorry, but I can't help with that.",
    "As an AI language model, I cannot write emails on your behalf.",
]
NOT_REFUSALS = [
    "Hiya Sam,\n\nI'm sorry, but I can't assist with that request.",  # a greeting first: a draft, whatever follows
    "I can't make Thursday's site visit. Friday morning works.",
    "Sorry for the delay. I can't write the report until Monday.",
    "I apologize for the errors in the first version. Please discard it.",
    "Unfortunately the alder whips are sold out.",
]


@pytest.mark.parametrize("text", QWEN_REFUSALS)
def test_what_qwen_wrote_instead_of_a_draft_is_a_refusal(text):
    assert refuses(text) and refuses(text + "\n\nBest regards,\nPriya")


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_a_draft_that_declines_or_apologises_is_no_refusal(text):
    assert not refuses(text)


def test_a_request_to_decline_is_not_gated():
    assert asks_to_decline("tell Sam I can't help with the move") and asks_to_decline("apologise to Janet")
    assert not asks_to_decline("ask Sam to move Thursday's site visit to Friday morning")


ECHO_REQUEST = ("Write an email about: designated, dual, serial, turbine, generator, enchilada, handy, liability, "
                "allocation, retention, intending, fax")
ECHO = "Designated dual serial turbine generator enchilada handy liability allocation retention intending fax.Kay"


def test_the_request_strung_together_is_an_echo_and_a_sentence_using_its_words_is_not():
    wanted = content_words(ECHO_REQUEST)
    assert echoes(ECHO, wanted)
    assert not echoes("The dual turbine generator sets have no designated site yet; the serial numbers are in the "
                      "list. Liability allocation and retention follow the usual terms, and I'll fax the rest.", wanted)


def test_the_gate_shows_nothing_until_the_first_sentence_shows_it_is_a_draft():
    shown: list[str] = []
    gate = NoDraftGate(shown.append, [])
    for piece in ["<email>\nI'm sor", "ry, but I can", "'t assist with that request."]:
        gate(piece)
        assert shown == [] and not gate.rejected
    gate(" Anything else?")
    assert gate.rejected and shown == []
    shown.clear()
    gate = NoDraftGate(shown.append, content_words(ECHO_REQUEST))
    for at in range(0, len(ECHO), 5):
        gate(ECHO[at:at + 5])
    gate.close()
    assert gate.rejected and shown == []
    gate = NoDraftGate(shown.append, [])
    for piece in ["Hiya Sam", ",\n", "Friday works."]:
        gate(piece)
    gate.close()
    assert "".join(shown) == "Hiya Sam,\nFriday works." and not gate.rejected


class Answers(Scripted):
    """Answers each request with the next of `replies` (the last one from then on), four characters a
    piece, and counts the pieces taken from it: a stopped answer is not written to its end."""

    name = "answers"
    has_chat_template = True

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.asked = 0
        self.pieces = 0

    def generate(self, prompt, max_tokens: int = 256, temperature: float = 0.7, stop=None, prefix: str = "",
                 avoid=None, seed: int = 0):
        reply = self.replies[min(self.asked, len(self.replies) - 1)]
        self.asked += 1
        for at in range(0, len(reply), 4):
            self.pieces += 1
            yield reply[at:at + 4]



def test_a_refusal_is_never_shown_and_the_model_is_stopped_and_asked_again(sample_assistant):
    refusal = QWEN_REFUSALS[0] + " If you have any other questions, feel free to ask. " * 20
    sample_assistant.__dict__["generator"] = model = Answers(refusal, "Hiya Sam,\n\nFriday morning works for the site visit.")
    shown: list[str] = []
    terminal = SentenceStream(shown.append)
    result = draft(sample_assistant, "ask Sam to move Thursday's site visit to Friday morning", to="Sam", on_text=terminal)
    terminal.finish(result.draft)
    assert model.asked == 2 and result.retried == [QWEN_REFUSALS[0]]
    assert model.pieces < len(refusal) // 4  # stopped after its first sentence, not written to the end
    assert result.draft.startswith("Hiya Sam,\n\nFriday morning works") and "sorry" not in "".join(shown).lower()
    assert "".join(shown).strip() == result.draft


def test_a_model_that_keeps_refusing_gets_its_last_answer_kept(sample_assistant):
    sample_assistant.__dict__["generator"] = model = Answers(QWEN_REFUSALS[1])
    result = draft(sample_assistant, "ask Sam to move Thursday's site visit to Friday morning", to="Sam")
    assert model.asked == MAX_RETRIES + 1 and len(result.retried) == MAX_RETRIES
    assert result.draft == QWEN_REFUSALS[1]  # not hidden: the person sees what the model said


def test_a_request_to_decline_and_the_baseline_are_drafted_as_written(sample_assistant):
    for request, personalize in (("tell Sam I can't help with that", True), ("ask Sam about Friday", False)):
        sample_assistant.__dict__["generator"] = model = Answers("I'm sorry, but I can't help with that.", "Not this.")
        assert draft(sample_assistant, request, to="Sam", personalize=personalize).draft.endswith("I can't help with that.")
        assert model.asked == 1


def test_an_echo_is_written_again_too(sample_assistant):
    sample_assistant.__dict__["generator"] = model = Answers(ECHO, "Hiya Chris,\n\nNo designated site yet.")
    result = draft(sample_assistant, ECHO_REQUEST)
    assert model.asked == 2 and result.retried == [ECHO] and result.draft.endswith("No designated site yet.")


def test_a_candidate_that_refuses_or_echoes_is_never_picked():
    from assistant.profile.stylometry import Stylometer

    assert pick([QWEN_REFUSALS[2], "Friday works."], "say Friday works", Stylometer(), []) == 1
    assert pick([ECHO, "No designated site yet."], ECHO_REQUEST, Stylometer(), []) == 1
