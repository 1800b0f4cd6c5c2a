"""Structure-following chunks and BM25-style sparse vectors, on the sample documents."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path

from parmenid.knowledge.chunking import ChunkingPolicy, chunk_segments, count_tokens
from parmenid.knowledge.lexical import document_vector, query_vector, terms
from parmenid.knowledge.parsers import Location, Segment, parse_document

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def test_chunks_respect_the_budget_and_cover_every_word() -> None:
    parsed = parse_document((SAMPLES / "pep-0008.pdf").read_bytes())
    policy = ChunkingPolicy(max_tokens=200, overlap_tokens=30)
    chunks = chunk_segments(parsed.segments, policy)
    assert len(chunks) > 20
    assert all(chunk.token_count <= policy.max_tokens for chunk in chunks)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    source_words = Counter(w for s in parsed.segments for w in s.text.split())
    chunk_words = Counter(w for c in chunks for w in c.text.split())
    missing = {word for word in source_words if chunk_words[word] == 0}
    assert not missing
    pages = [chunk.location.page for chunk in chunks]
    assert pages == sorted(pages)  # in document order
    assert pages[0] == 1
    assert max(p for p in pages if p is not None) >= 20


def test_chunks_never_cross_slides_or_sections() -> None:
    parsed = parse_document((SAMPLES / "pep-0287.pptx").read_bytes())
    chunks = chunk_segments(parsed.segments)
    by_slide = {segment.location.slide for segment in parsed.segments}
    assert {chunk.location.slide for chunk in chunks} == by_slide
    segments = [
        Segment("Intro text. " * 5, Location(heading_path=("Intro",))),
        Segment("Pricing text. " * 5, Location(heading_path=("Pricing",))),
    ]
    chunks = chunk_segments(segments)
    assert [chunk.location.heading_path for chunk in chunks] == [("Intro",), ("Pricing",)]
    assert "Pricing" not in chunks[0].text


def test_a_long_paragraph_is_split_with_overlap() -> None:
    sentences = [f"Sentence number {i} says something about topic {i}." for i in range(200)]
    chunks = chunk_segments(
        [Segment(" ".join(sentences), Location(page=3))], ChunkingPolicy(200, 40)
    )
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        assert count_tokens(before.text) <= 200
        tail = before.text.split(". ")[-1]
        assert tail.rstrip(".") in after.text  # the last sentence is carried over
    assert all(chunk.location.page == 3 for chunk in chunks)


def test_russian_and_english_words_are_stemmed() -> None:
    assert terms("Презентации и презентация") == terms("презентаций")[:1] * 2
    assert terms("running runs") == ["run", "run"]
    assert terms("Ёлка") == terms("елка")
    assert "и" not in terms("и") and terms("the") == []


def _rank(query: str, documents: list[str]) -> list[int]:
    """Score like Qdrant's sparse search with the IDF modifier, best first."""
    vectors = [document_vector(text) for text in documents]
    df: Counter[int] = Counter(i for v in vectors for i in set(v.indices))
    n = len(documents)
    q = query_vector(query)
    scores = []
    for vector in vectors:
        weights = dict(zip(vector.indices, vector.values, strict=True))
        score = sum(
            weights.get(i, 0.0) * math.log((n - df[i] + 0.5) / (df[i] + 0.5) + 1) for i in q.indices
        )
        scores.append(score)
    return sorted(range(n), key=lambda i: -scores[i])


def test_bm25_ranking_finds_the_passage_on_the_sample() -> None:
    parsed = parse_document((SAMPLES / "pep-0008.pdf").read_bytes())
    chunks = chunk_segments(parsed.segments)
    texts = [chunk.text for chunk in chunks]
    best = texts[_rank("maximum line length characters", texts)[0]]
    assert "79 characters" in best
    best = texts[_rank("tabs or spaces indentation", texts)[0]]
    assert "spaces" in best.lower() and "indent" in best.lower()


def test_bm25_ranking_in_russian() -> None:
    documents = [
        "Тарифы: бесплатный, стартовый и корпоративный планы с разными лимитами.",
        "Презентации строятся по загруженным документам, каждый пункт со ссылкой на источник.",
        "Команда поддержки отвечает в течение рабочего дня.",
    ]
    assert _rank("как строится презентация", documents)[0] == 1
    assert _rank("какие есть тарифы", documents)[0] == 0
