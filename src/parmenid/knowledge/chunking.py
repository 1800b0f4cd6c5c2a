"""Cut parsed documents into retrieval chunks that follow the document's structure.

Rules:
* A chunk never crosses a structural boundary: another slide, another sheet, or another heading
  section. Consecutive segments of the same section (paragraphs, PDF pages under one heading)
  are packed together up to the token budget.
* A segment longer than the budget is split at sentence ends (at word boundaries if a sentence
  alone is too long), and consecutive pieces of it overlap by `overlap` tokens so that a fact
  cut in two is still found whole in one of them.
* Every chunk keeps the location of its first segment for citation, plus the span of pages it
  covers.

Tokens are counted as words and punctuation marks: no model vocabulary is needed, and for
English and Russian prose the count is within about 30 % of an LLM tokenizer's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from parmenid.knowledge.parsers import Location, Segment

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«(\[]?[A-ZА-ЯЁ0-9])")


@dataclass(frozen=True, slots=True)
class ChunkingPolicy:
    max_tokens: int = 350
    overlap_tokens: int = 50
    min_tokens: int = 8  # shorter leftovers are merged into their neighbour when possible


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    location: Location
    token_count: int
    page_end: int | None = None

    @property
    def citation(self) -> str:
        label = self.location.label()
        if self.page_end is not None and self.location.page not in (None, self.page_end):
            label = label.replace(
                f"p. {self.location.page}", f"pp. {self.location.page}–{self.page_end}"
            )
        return label


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def chunk_segments(
    segments: Iterable[Segment], policy: ChunkingPolicy = ChunkingPolicy()
) -> list[Chunk]:
    """Chunks in document order (see the module docstring for the rules)."""
    chunks: list[Chunk] = []
    for section in _sections(segments):
        for text, location, page_end in _pack(section, policy):
            chunks.append(Chunk(len(chunks), text, location, count_tokens(text), page_end))
    return chunks


def _boundary(location: Location) -> tuple[object, ...]:
    """Segments with different keys never share a chunk."""
    return (location.slide, location.sheet, location.heading_path)


def _sections(segments: Iterable[Segment]) -> Iterator[list[Segment]]:
    current: list[Segment] = []
    key: tuple[object, ...] | None = None
    for segment in segments:
        if not segment.text.strip():
            continue
        segment_key = _boundary(segment.location)
        if current and segment_key != key:
            yield current
            current = []
        key = segment_key
        current.append(segment)
    if current:
        yield current


def _pack(
    section: list[Segment], policy: ChunkingPolicy
) -> Iterator[tuple[str, Location, int | None]]:
    buffer: list[str] = []
    size = 0
    first: Location | None = None
    last_page: int | None = None
    for segment in section:
        for piece in _pieces(segment.text.strip(), policy):
            tokens = count_tokens(piece)
            if buffer and size + tokens > policy.max_tokens:
                assert first is not None
                yield "\n\n".join(buffer), first, last_page
                buffer, size, first = [], 0, None
            if first is None:
                first = segment.location
            buffer.append(piece)
            size += tokens
            last_page = segment.location.page
    if buffer and first is not None:
        yield "\n\n".join(buffer), first, last_page


def _pieces(text: str, policy: ChunkingPolicy) -> Iterator[str]:
    """`text` itself if it fits, else overlapping windows cut at sentence (or word) ends."""
    if count_tokens(text) <= policy.max_tokens:
        yield text
        return
    units: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if count_tokens(sentence) <= policy.max_tokens:
            units.append(sentence)
        else:  # a run-on "sentence" (a table row dump, a list without stops): cut at words
            words = sentence.split()
            step = max(1, min(policy.overlap_tokens, policy.max_tokens // 2))
            units.extend(" ".join(words[i : i + step]) for i in range(0, len(words), step))
    window: list[str] = []
    size = 0
    for unit in units:
        tokens = count_tokens(unit)
        if window and size + tokens > policy.max_tokens:
            yield " ".join(window)
            # Carry the tail of this window into the next one as overlap.
            carried: list[str] = []
            carried_size = 0
            for previous in reversed(window):
                previous_size = count_tokens(previous)
                if carried_size + previous_size > policy.overlap_tokens:
                    break
                carried.insert(0, previous)
                carried_size += previous_size
            while carried and carried_size + tokens > policy.max_tokens:
                carried_size -= count_tokens(carried.pop(0))  # the overlap must fit too
            window, size = carried, carried_size
        window.append(unit)
        size += tokens
    if window:
        yield " ".join(window)
