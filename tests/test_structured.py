"""`generate_json`: grammar-constrained JSON, validated against its schema, retried once.

A scripted generator stands in where the test is about the validate-and-retry logic (a real
model cannot be made to fail on cue); the real small GGUF shows the grammar constrains."""

from __future__ import annotations

import json

import pytest

from assistant.config import Config
from assistant.errors import UserError
from assistant.generation.catalog import load_generator
from assistant.generation.structured import generate_json, problem_with

# maxLength matters: unbounded, SmolLM2 loops inside the first string until max_tokens cuts it off.
SCHEMA = {"type": "object", "properties": {
    "mood": {"type": "string", "enum": ["happy", "sad", "tired"]},
    "reasons": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 2}},
    "required": ["mood", "reasons"], "additionalProperties": False}
ASK = [{"role": "user", "content": "How do you feel after a long hike? Tell me in a little poem."}]


class Scripted:
    """Replies with `replies` in turn and records the messages it was given."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.asked: list[list[dict]] = []

    def json(self, messages, schema, max_tokens=256):
        self.asked.append(messages)
        return self.replies.pop(0)


def test_garbage_then_valid_json_is_retried_with_the_problem_shown():
    generator = Scripted("Sure! Here is how I feel: happy", '{"mood": "tired", "reasons": ["12 miles"]}')
    assert generate_json(generator, ASK, SCHEMA) == {"mood": "tired", "reasons": ["12 miles"]}
    first, second = generator.asked
    assert first == ASK
    assert second[:1] == ASK and second[1] == {"role": "assistant", "content": "Sure! Here is how I feel: happy"}
    assert second[2]["role"] == "user" and "not JSON" in second[2]["content"]


def test_two_failures_are_one_clear_error():
    generator = Scripted('{"mood": "ecstatic", "reasons": []}', '{"mood": "happy"}')
    with pytest.raises(UserError) as caught:
        generate_json(generator, ASK, SCHEMA)
    message = str(caught.value)
    assert message.startswith("the model scripted gave no JSON matching the schema in 2 tries")
    assert "'reasons' is a required property" in message and "assistant models use NAME" in message
    assert "'ecstatic' is not one of" in generator.asked[1][2]["content"]


@pytest.mark.parametrize("text, problem", [
    ('{"mood": "happy", "reasons": ["sun"]}', None),
    ('{"mood": "happy", "reasons": ["a", "b", "c"]}', "at reasons: ['a', 'b', 'c'] is too long"),
    ('{"mood": "happy", "reasons": [1]}', "at reasons/0: 1 is not of type 'string'"),
    ('{"mood": "happy", "reasons": [], "extra": 1}', "Additional properties are not allowed"),
    ('["happy"]', "at the top level: ['happy'] is not of type 'object'"),
    ('{"mood": "happy", "reasons": ["sun', "not JSON: Unterminated string"),
])
def test_the_schema_is_checked_not_just_the_syntax(text, problem):
    found = problem_with(text, SCHEMA)[1]
    assert (found is None) if problem is None else problem in found
    if problem and problem.startswith("not JSON"):
        assert found.endswith("(cut off: raise max_tokens?)")


@pytest.mark.slow
def test_the_grammar_constrains_the_real_model():
    """Asked for a poem, SmolLM2 writes prose; through `generate_json` it must answer in the schema."""
    generator = load_generator(Config(), "smollm2-135m-instruct")
    free = generator.chat(ASK, max_tokens=40, temperature=0.0)
    assert problem_with(free, SCHEMA)[1] is not None  # unconstrained, the same request is no such JSON
    value = generate_json(generator, ASK, SCHEMA, max_tokens=80)
    assert value["mood"] in ("happy", "sad", "tired") and len(value["reasons"]) <= 2
    assert json.loads(generator.json(ASK, SCHEMA, max_tokens=80)) == value  # greedy: the first try passed
