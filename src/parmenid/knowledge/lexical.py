"""Lexical sparse vectors: the embedded default embedding, with nothing to download.

A text becomes a sparse vector of stemmed terms (Snowball: Russian for Cyrillic words, English for
Latin ones). Term ids are a stable 32-bit hash of the stem, so no vocabulary has to be kept.
Document values carry BM25's term-frequency saturation and length normalisation; the inverse
document frequency is applied at query time by Qdrant's `IDF` modifier on the sparse vector, so
together they score like BM25 (k1 = 1.2, b = 0.75) over the whole collection, however it grows.
Query values are 1 per distinct term.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]

K1 = 1.2
B = 0.75
AVERAGE_LENGTH = 250.0  # typical chunk length in terms; only shapes length normalisation

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")

# Function words that carry no meaning for retrieval (kept short on purpose).
_STOPWORDS_TEXT = """
a an and are as at be by for from has have in is it its of on or that the this to was were will
with not no but if then than so such into about over also can do does did
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне
было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него
до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы
тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому
этого какой совсем ним здесь этом один почти мой тем чтобы нее это эти при
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    language = "russian" if _CYRILLIC.search(word) else "english"
    stemmed: str = _stemmer(language).stemWord(word)
    return stemmed


def terms(text: str) -> list[str]:
    """Stemmed, lower-cased terms of `text`, without stopwords; numbers are kept as they are."""
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        found.append(word if word.isdigit() else stem(word.replace("ё", "е")))
    return found


@lru_cache(maxsize=500_000)
def term_id(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big")


def document_vector(text: str) -> SparseVector:
    """BM25 term-frequency part for a document (chunk)."""
    counts = Counter(term_id(term) for term in terms(text))
    length = sum(counts.values())
    if not length:
        return SparseVector([], [])
    norm = K1 * (1 - B + B * length / AVERAGE_LENGTH)
    indices = sorted(counts)
    return SparseVector(indices, [counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices])


def query_vector(text: str) -> SparseVector:
    """One unit per distinct query term; Qdrant's IDF modifier weighs them."""
    indices = sorted({term_id(term) for term in terms(text)})
    return SparseVector(indices, [1.0] * len(indices))
