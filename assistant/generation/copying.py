"""The copy guard: a draft may not repeat a long run of words from a text it was shown.

A run of more than `MAX_COPIED_WORDS` consecutive words taken from one exemplar, passage or
incoming email is pasting, not writing, and it carries one correspondent's words into a
letter to another. `CopyIndex` finds the longest such run (words compared lower-cased, without
punctuation); `trim_copies` takes out each sentence that holds one.

`trim_copies` is the backstop; the embedded model is kept from pasting while it writes
(`continuations`, used as a logits filter by `assistant.generation.llama`): once the last
`MAX_WRITTEN_RUN` words it wrote are a run of one source, the word that comes next there may not
come next in the draft. Trimming after the fact guts a draft that started to paste ("Hey
Patricia,\n\nSara"); turned away word by word, the model goes back to its own sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_COPIED_WORDS = 12
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_SEED = 4  # runs are found from shared 4-word sequences; shorter ones are not copies worth a name
# While writing, a run is turned away at 8 words: short enough that a model that starts to paste an email
# leaves it within a sentence, long enough for the person's own turns of phrase ("let me know if you need").
MAX_WRITTEN_RUN = 8


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass
class Copy:
    length: int  # words in the run
    source: int  # index of the source text it came from
    start: int  # the run's first word in the checked text
    end: int  # one past its last word


class CopyIndex:
    """The sources' 4-word sequences, for finding the longest run a text shares with any one of them."""

    def __init__(self, sources: list[str]) -> None:
        self.sources = [words(s) for s in sources]
        self.seeds: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        for index, source in enumerate(self.sources):
            for position in range(len(source) - _SEED + 1):
                self.seeds.setdefault(tuple(source[position:position + _SEED]), []).append((index, position))

    def runs(self, text: str) -> list[Copy]:
        """Every maximal run of at least four words that `text` shares with one source, longest first."""
        mine = words(text)
        found: dict[tuple[int, int], Copy] = {}  # (source, where the run ends there) -> the longest run to it
        for start in range(len(mine) - _SEED + 1):
            for index, position in self.seeds.get(tuple(mine[start:start + _SEED]), ()):
                source, length = self.sources[index], _SEED
                while (start + length < len(mine) and position + length < len(source)
                       and mine[start + length] == source[position + length]):
                    length += 1
                key = (index, position + length)
                if key not in found or found[key].length < length:
                    found[key] = Copy(length, index, start, start + length)
        return sorted(found.values(), key=lambda c: -c.length)

    def continuations(self, written: list[str], limit: int = MAX_WRITTEN_RUN) -> set[str]:
        """The words that may not follow `written` (words, as `words` gives them): each would extend
        a run of at least `limit` words that `written` ends with and one source holds, to `limit + 1`."""
        if len(written) < max(limit, _SEED):
            return set()
        banned = set()
        for index, position in self.seeds.get(tuple(written[-_SEED:]), ()):
            source, end = self.sources[index], position + _SEED
            if end < len(source) and source[end - limit:end] == written[-limit:] and end >= limit:
                banned.add(source[end])
        return banned

    def longest(self, text: str) -> Copy | None:
        runs = self.runs(text)
        return runs[0] if runs else None


_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|\n")


def trim_copies(text: str, sources: list[str], limit: int = MAX_COPIED_WORDS) -> tuple[str, list[str]]:
    """`text` less each sentence that shares a run of more than `limit` words with one of `sources`,
    and the runs taken out (the copied words, as they stood in `text`)."""
    index = CopyIndex(sources)
    taken = []
    while True:
        run = index.longest(text)
        if run is None or run.length <= limit:
            return text, taken
        spans = [m.span() for m in _WORD.finditer(text)]
        first, last = spans[run.start][0], spans[run.end - 1][1]
        taken.append(text[first:last])
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        begin = max([e for e in ends if e <= first], default=0)
        finish = min([e for e in ends if e >= last], default=len(text))
        text = (text[:begin].rstrip(" \t") + (" " if text[finish:finish + 1] not in ("\n", "") else "")
                + text[finish:].lstrip(" \t"))
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
