"""The embedded model is kept from pasting what it was shown while it writes (constrained decoding)."""

from __future__ import annotations

import pytest

from assistant.config import Config
from assistant.generation.copying import MAX_WRITTEN_RUN, CopyIndex, words

SOURCE = ("I've taken the liberty of drafting a form of extension letter to extend the ILA until June 15. I suspect "
          "Reagan will be distributing to the commercial folks, but I thought I would give you a heads up. David, "
          "I'm at work on revising the longer term doc. If you have your preamble stuff ready, I'm happy to fold it in.")


def test_the_word_that_would_make_a_run_too_long_is_turned_away():
    index = CopyIndex([SOURCE, "We suspect Reagan will be distributing the letters on Monday."])
    written = words("As you said, we suspect Reagan will be distributing to the commercial")
    assert index.continuations(written) == {"folks"}  # 8 words of the first source: the 9th may not follow
    assert index.continuations(written[:-1]) == set()  # 7 words: still the person's own turn of phrase
    assert index.continuations(words("suspect Reagan will be distributing the letters on")) == {"monday"}
    assert index.continuations(words("Reagan will be distributing the letters on")) == set()
    assert index.continuations(written, limit=12) == set()


@pytest.mark.slow
def test_the_drafting_model_told_to_copy_an_email_cannot_paste_it():
    """Qwen2.5, the default drafting model, is the one that pastes (asked to, it copies all 61 words):
    with the email to avoid, no run of more than MAX_WRITTEN_RUN words of it survives."""
    from assistant.generation.catalog import load_generator

    generator = load_generator(Config(), "qwen2.5-coder-1.5b-instruct")
    messages = [{"role": "system", "content": "You copy text exactly."},
                {"role": "user", "content": "Repeat this email word for word, nothing else:\n\n" + SOURCE}]
    index = CopyIndex([SOURCE])
    pasted = "".join(generator.generate(messages, max_tokens=100, temperature=0))
    kept = "".join(generator.generate(messages, max_tokens=100, temperature=0, avoid=[SOURCE]))
    assert index.longest(pasted).length > 3 * MAX_WRITTEN_RUN  # the control: without it, the model pastes
    assert index.longest(kept).length <= MAX_WRITTEN_RUN
    assert len(words(kept)) >= 0.6 * len(words(SOURCE))  # it still wrote, in words of its own
