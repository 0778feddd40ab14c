"""Generation the person can stop: Escape in the TUI stops a draft or an answer between two tokens.

The skills take the generator from `assistant.generator`; the TUI puts this wrapper there,
which checks before each piece whether the worker running it was cancelled and, if so,
closes the model's stream (its context stays usable) and raises `Stopped`.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator


class Stopped(Exception):
    """The person stopped the generation."""


class StoppableGenerator:
    """Any `Generator`, stopped between two pieces once `should_stop()` is true."""

    def __init__(self, load: Callable[[], object]) -> None:
        self._load = load  # the model loads when first used, as the assistant's own property does
        self._inner = None
        self.should_stop: Callable[[], bool] = lambda: False

    @property
    def inner(self):
        if self._inner is None:
            self._inner = self._load()
        return self._inner

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def generate(self, prompt, max_tokens: int = 256, temperature: float = 0.7, stop=None,
                 prefix: str = "", avoid=None, seed: int = 0) -> Iterator[str]:
        pieces = self.inner.generate(prompt, max_tokens, temperature, stop, prefix=prefix, avoid=avoid, seed=seed)
        try:
            for piece in pieces:
                if self.should_stop():
                    raise Stopped
                yield piece
        finally:
            pieces.close()

    def complete(self, prompt: str, max_tokens: int = 256, temperature: float = 0.7, stop=None,
                 prefix: str = "") -> str:
        return "".join(self.generate(prompt, max_tokens, temperature, stop, prefix=prefix))

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> str:
        return "".join(self.generate(messages, max_tokens, temperature))

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.7) -> Iterator[str]:
        return self.generate(messages, max_tokens, temperature)


def stoppable(assistant, should_stop: Callable[[], bool]) -> StoppableGenerator:
    """The assistant's generator, wrapped once, stopping on `should_stop`; not loaded before a skill
    needs it. Call it holding the app's lock: the wrapper is shared by every skill the assistant runs."""
    generator = assistant.__dict__.get("generator")
    if not isinstance(generator, StoppableGenerator):
        loaded = generator
        load = (lambda: loaded) if loaded is not None else partial(type(assistant).generator.func, assistant)
        generator = StoppableGenerator(load)
        assistant.__dict__["generator"] = generator  # what the cached property returns from now on
    generator.should_stop = should_stop
    return generator
