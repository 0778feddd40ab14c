"""Who wrote a text: a nearest-centroid stylometric classifier.

A text becomes three blocks, each scaled to unit length: hashed character 2–4-grams
(spelling, punctuation and phrasing habits), the rates of function words (the words
writers use without choosing them), and the style figures the stored profile keeps
(length, sentence length, punctuation, greeting and sign-off rates, register). The
last two blocks are read through the same `render_group` a stored profile is rendered
with, so a writer can be described either by their texts (`fit_texts`) or by their
stored profile and a few exemplars (`fit_profile`), and the two compared. The draft
benchmark and the `rewrite --neutral` check use it to ask "whose voice is this?".
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from assistant.profile.style import STYLE_WORDS, document_features, render_group

CHAR_DIMS = 4096
CHAR_SIZES = (2, 3, 4)
_PUNCTUATION_KEYS = ("em_dash", "semicolon", "exclamation", "question", "ellipsis", "colon", "emoji",
                     "contractions", "please")


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def char_block(text: str) -> np.ndarray:
    """Hashed counts of character n-grams (lowercased, whitespace folded), unit length."""
    folded = " ".join(text.lower().split())
    hashes = [zlib.crc32(folded[i : i + n].encode()) for n in CHAR_SIZES for i in range(len(folded) - n + 1)]
    counts = np.bincount(np.array(hashes, dtype=np.int64) % CHAR_DIMS, minlength=CHAR_DIMS).astype(np.float32)
    return _unit(np.sqrt(counts))


def style_block(data: dict) -> np.ndarray:
    """Function-word rates and style figures of a rendered group (`render_group`), unit length each."""
    words = data.get("function_words", {})
    function = _unit(np.sqrt(np.array([words.get(w, 0.0) for w in STYLE_WORDS], dtype=np.float32)))
    per = data["per_100_words"]
    figures = np.array(
        [math.log1p(per.get(key, 0.0)) for key in _PUNCTUATION_KEYS]
        + [math.log1p(data["words"]["median"]) / 3, math.log1p(data["words_per_sentence"]) / 2,
           data["greeting_rate"], data["signoff_rate"], data["lowercase_starts"], data["all_lowercase"],
           data["thanks"]], dtype=np.float32)
    return np.concatenate([function, _unit(figures)])


def text_vector(text: str) -> np.ndarray:
    counts, _ = document_features(text)
    return np.concatenate([char_block(text), style_block(render_group(counts))])


class Stylometer:
    """Nearest centroid by cosine similarity over `text_vector`s."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.centroids: list[np.ndarray] = []

    def _add(self, label: str, centroid: np.ndarray) -> None:
        self.labels.append(label)
        self.centroids.append(_unit(centroid))

    def fit_texts(self, label: str, texts: list[str]) -> None:
        """Describe `label` by the mean vector of their texts."""
        self._add(label, np.mean([text_vector(t) for t in texts], axis=0))

    def fit_profile(self, label: str, profile: dict, exemplars: list[str]) -> None:
        """Describe `label` by a stored profile (a context's rendered figures) and its exemplars:
        the character block from the exemplars, the rest from the profile."""
        chars = np.mean([char_block(t) for t in exemplars], axis=0) if exemplars else np.zeros(CHAR_DIMS, np.float32)
        self._add(label, np.concatenate([_unit(chars), style_block(profile)]))

    def scores(self, text: str) -> dict[str, float]:
        vector = _unit(text_vector(text))
        return {label: float(vector @ centroid) for label, centroid in zip(self.labels, self.centroids)}

    def predict(self, text: str) -> str:
        scores = self.scores(text)
        return max(scores, key=scores.get)

    def accuracy(self, labelled: list[tuple[str, str]]) -> float:
        """The share of (label, text) pairs whose text is attributed to its label."""
        return sum(self.predict(text) == label for label, text in labelled) / len(labelled) if labelled else 0.0
