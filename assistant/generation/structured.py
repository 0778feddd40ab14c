"""Structured output: JSON constrained by a grammar, validated against its schema, retried once.

Both backends constrain decoding with llama.cpp's JSON-schema grammar (`Generator.json`), so the
reply parses; but a grammar cannot enforce everything (llama.cpp skips some keywords, and a reply
cut off at `max_tokens` is unfinished JSON), so the reply is validated here too. A failure is
shown to the model with what was wrong and asked for once more; a second failure is a `UserError`.
Give every free-text string a `maxLength`: a small model can loop inside one string until
`max_tokens` cuts it off, and the grammar then has no way to close it.
"""

from __future__ import annotations

import json

from assistant.errors import UserError

TRIES = 2


def problem_with(text: str, schema: dict) -> tuple[object, str | None]:
    """The parsed value of `text` and what is wrong with it against `schema` (None when nothing is)."""
    import jsonschema

    try:
        value = json.loads(text)
    except ValueError as exc:
        cut = " (cut off: raise max_tokens?)" if text.strip() and not text.rstrip().endswith(("}", "]")) else ""
        return None, f"not JSON: {exc}{cut}"
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return value, None
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return value, f"at {where}: {error.message}"


def generate_json(generator, messages: list[dict], schema: dict, max_tokens: int = 256):
    """A value matching `schema` from `generator` (any `Generator`), or a `UserError` after `TRIES` tries."""
    problems = []
    attempt = list(messages)
    for _ in range(TRIES):
        text = generator.json(attempt, schema, max_tokens=max_tokens)
        value, problem = problem_with(text, schema)
        if problem is None:
            return value
        problems.append(problem)
        attempt = [*messages, {"role": "assistant", "content": text},
                   {"role": "user", "content": f"That reply is invalid ({problem}). Answer again with only "
                                               "JSON that matches the schema."}]
    raise UserError(f"the model {generator.name} gave no JSON matching the schema in {TRIES} tries "
                    f"(last: {problems[-1][:200]}); choose a larger model with `assistant models use NAME`"
                    + (" or allow more tokens" if "cut off" in problems[-1] else ""))
