"""Constrained decoding against pasting, for the embedded model: a llama-cpp-python logits processor.

Before each token, the text written so far is read back; when its last words are a run of a
text the model was shown (`copying.CopyIndex.continuations`), every token that would start the
word that comes next in that text is taken out of the choice. The model then writes its own
next word instead of the source's, so a draft that begins to paste an exemplar leaves it within
a few words rather than being gutted by the copy guard afterwards.
"""

from __future__ import annotations

import numpy as np

from assistant.generation.copying import MAX_WRITTEN_RUN, CopyIndex, words


class NoPaste:
    def __init__(self, llm, sources: list[str], limit: int = MAX_WRITTEN_RUN) -> None:
        self.llm = llm
        self.index = CopyIndex(sources)
        self.limit = limit
        self.start: int | None = None  # tokens before the first one generated: the prompt
        self.turned_away = 0  # tokens' worth of pasting refused, for the tests and --explain
        self._starts: dict[tuple[str, bool], list[int]] = {}

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.start is None:
            self.start = len(input_ids)
        text = self.llm.detokenize(input_ids[self.start:].tolist()).decode("utf-8", "ignore")
        banned = self.index.continuations(words(text), self.limit)
        if banned:
            mid_word = bool(text) and (text[-1].isalnum() or text[-1] == "_")
            tokens = sorted({t for word in banned for t in self._tokens_starting(word, mid_word)})
            scores[tokens] = -np.inf
            self.turned_away += 1
        return scores

    def _tokens_starting(self, word: str, mid_word: bool) -> list[int]:
        """The single tokens that begin `word` (any prefix of it, as written in lower, title or upper
        case, after a space or a line break, or with nothing before it unless the text ends mid-word)."""
        key = (word, mid_word)
        if key not in self._starts:
            leads = (" ", "\n") if mid_word else ("", " ", "\n")
            found = set()
            for end in range(1, len(word) + 1):
                part = word[:end]
                for variant in {part, part.capitalize(), part.upper()}:
                    for lead in leads:
                        ids = self.llm.tokenize((lead + variant).encode("utf-8"), add_bos=False, special=False)
                        if len(ids) == 1:
                            found.add(ids[0])
            self._starts[key] = sorted(found)
        return self._starts[key]
