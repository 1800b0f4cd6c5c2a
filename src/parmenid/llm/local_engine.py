"""The `local` text-generation engine: grounded extractive selection, no model involved.

It answers, outlines and writes slide bullets only by choosing and lightly condensing sentences of
the source passages it is given, and every statement carries the id and citation of its passage.
It is labelled ``provider: "local"`` wherever it is used and never pretends to be an LLM.

Algorithm
    1. Passages are split into prose sentences (`parmenid.llm.sentences`); uninformative ones are
       dropped: fewer than 5 or more than 60 words, mostly symbols/digits (code, tables), ending
       with ":" (an introduction to something that is not there), document metadata and page
       numbers.
    2. Each sentence becomes a TF-IDF vector over stemmed terms (`parmenid.knowledge.lexical`),
       normalised to unit length; IDF is computed over the sentences of the call.
    3. Centrality is weighted degree centrality in the cosine-similarity graph of all sentences
       (the LexRank graph without power iteration). With unit vectors,
       ``sum_j cos(i, j) = v_i · sum_j v_j``, so it costs one dot product per sentence instead of
       a quadratic graph.
    4. Relevance to the query is BM25 (k1 = 1.2, b = 0.75) at sentence level, mixed 70/30 with
       BM25 of the whole passage so that a sentence inside the passage that is about the question
       wins over a stray mention elsewhere; BM25 is multiplied by ``0.5 + 0.5·(share of query
       terms matched)`` (a coordination factor) so that a sentence with all the query terms beats
       one repeating a single rare term. Question and instruction words ("what", "outline",
       "слайд", ...) are not query terms.
    5. Grounding: the best passage must contain query terms carrying at least 40% of the query's
       IDF mass (an unknown term counts as the rarest possible); otherwise the engine says plainly
       that the sources do not answer, in the question's language.
    6. Selection is Maximal Marginal Relevance: ``λ·score − (1−λ)·max cos(s, chosen)``, and a
       sentence with cosine ≥ 0.7 to a chosen one, or sharing 80% of the shorter one's terms,
       is never taken (near-duplicates). Vectors use a smoothed IDF, ``log(1 + N/df)``.
    7. Condensing is deletion only: a leading discourse marker ("However,", "Кроме того,"),
       bracketed asides "( ... )" and citation marks "[12]" / "[^3]"; slide bullets are cut at the
       last clause boundary (comma, semicolon, colon, dash) within the word limit, or hard-cut
       with "…". Facts are never rewritten, so every statement is a (shortened) source sentence.

Outline: the first item is an overview (the sentences most central and relevant to the topic),
the middle items are source sections (a "§ ..." label in the citation, else the heading found in
the text) ranked by their best sentences and kept in document order, or, when the sources have
too few sections, themes seeded greedily by centrality with strong MMR diversity. The last item
(for 3 slides or more) is a summary of the most central sentences not used yet. Titles are
section headings or the best-weighted phrase of at most 8 words cut from a source sentence.

Limits: this is sentence extraction, not understanding. It cannot combine facts from two
sentences, resolve pronouns ("It ..." may be selected without its antecedent), answer questions
whose wording shares no stems with the sources (no synonyms), or judge negation. Relevance is
lexical, so a passage that repeats the query words but does not answer may be chosen.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from parmenid.knowledge.chunking import count_tokens
from parmenid.knowledge.lexical import STOPWORDS, terms
from parmenid.llm.sentences import condense, detect_language, informative, segment, shorten

PROVIDER = "local"

K1 = 1.2
B = 0.75
MIN_COVERAGE = 0.4
DUPLICATE = 0.7
_POOL = 80  # candidates considered by MMR

_NOT_QUERY_TEXT = """
what which who whom whose when where why how much many does do is are was can could would should
tell explain describe describ summarize summarise summary list give show please write outline
presentation slide slides deck make create about according source sources document documents
что какой какая какие каков как почему зачем где когда кто чем ли расскажи объясни опиши
сколько скажите подскажите можно есть ваш ваши вас вы у
перечисли напиши составь сделай слайд слайды презентация презентацию презентации план источник
источники документ документы согласно про
"""
_IDENTIFIER = re.compile(r"\w_\w|_\w|\w\(\)")
_NOT_QUERY = frozenset(t for word in _NOT_QUERY_TEXT.split() for t in terms(word))

REFUSAL = {
    "en": "I could not find this in the provided sources.",
    "ru": "В загруженных источниках нет ответа на этот вопрос.",
}
_WEAK_EDGE_TEXT = """
these those they them their there here which who whose what we our you your he she his her i me
my one ones each every some any all more most other another way thing things using via like
including such эти тот та те такой такая такие свой своя свои который которая которые каждый весь
"""
_WEAK_EDGE = STOPWORDS | frozenset(_WEAK_EDGE_TEXT.split())  # words a title may not start/end with
_SOURCES = {"en": "Sources:", "ru": "Источники:"}
_SUMMARY = {"en": "Summary", "ru": "Выводы"}


@dataclass(frozen=True, slots=True)
class Passage:
    """A source passage: a chunk id, its text and a human citation label."""

    id: str
    text: str
    citation: str


@dataclass(frozen=True, slots=True)
class Statement:
    """A (condensed) source sentence with the passage it came from."""

    text: str
    passage_id: str
    citation: str
    score: float


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    text: str
    statements: list[Statement]
    grounded: bool
    provider: str = PROVIDER


@dataclass(frozen=True, slots=True)
class OutlineItem:
    title: str
    key_points: list[Statement]


@dataclass(slots=True)
class _Unit:
    text: str
    passage: int
    heading: str | None
    terms: Counter[str]
    length: int
    vector: dict[str, float] = field(default_factory=dict)
    centrality: float = 0.0


def token_estimate(text: str) -> int:
    """Token count used for usage reporting (the same tokeniser as chunking)."""
    return count_tokens(text)


def query_terms(text: str) -> dict[str, float]:
    """Content terms of a question or instruction with weights (question words removed).

    Terms of code identifiers (``__exit__``, ``close()``, ``snake_case``) weigh 2: a name is the
    most specific thing a question can contain.
    """
    weights: dict[str, float] = {}
    for token in text.split():
        weight = 2.0 if _IDENTIFIER.search(token) else 1.0
        for term in terms(token):
            if term not in _NOT_QUERY and not term.isdigit():
                weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(key, 0.0) for key, value in a.items())


def _section(citation: str) -> str | None:
    if "§" not in citation:
        return None
    label = citation.split("§", 1)[1].strip(" .,;:")
    return label or None


@lru_cache(maxsize=4096)
def _analyse(text: str) -> tuple[list[tuple[str, str | None, Counter[str]]], Counter[str]]:
    """Informative condensed sentences of a passage (with heading and terms), and all its terms.

    Cached by passage text: a chat turn, an outline and its slides reuse the same passages. The
    returned containers are shared and must not be mutated.
    """
    sentences: list[tuple[str, str | None, Counter[str]]] = []
    everything: Counter[str] = Counter()
    for sentence in segment(text):
        condensed = condense(sentence.text)
        found = Counter(terms(condensed))
        everything.update(found)
        if informative(condensed, len(found)):
            sentences.append((condensed, sentence.heading, found))
    return sentences, everything


class _Corpus:
    """Sentences of one call's passages with their vectors, IDF and centrality."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.units: list[_Unit] = []
        self.passage_terms: list[Counter[str]] = []
        seen: set[str] = set()
        for index, passage in enumerate(passages):
            sentences, passage_terms = _analyse(passage.text)
            self.passage_terms.append(passage_terms)
            section = _section(passage.citation)
            for text, heading, found in sentences:
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                self.units.append(
                    _Unit(text, index, section or heading, found, sum(found.values()))
                )
        count = len(self.units)
        df = Counter(t for unit in self.units for t in unit.terms)
        self.idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.average = sum(u.length for u in self.units) / count if count else 1.0
        pdf = Counter(t for found in self.passage_terms for t in found)
        total = len(passages)
        self.pidf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in pdf.items()}
        self.punknown = math.log(1 + (total + 0.5) / 0.5)
        lengths = [sum(found.values()) for found in self.passage_terms]
        self.paverage = sum(lengths) / total if total else 1.0
        self.centroid: dict[str, float] = {}
        for unit in self.units:
            weights = {
                t: (1 + math.log(n)) * math.log(1 + count / df[t]) for t, n in unit.terms.items()
            }
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            unit.vector = {t: w / norm for t, w in weights.items()}
            for t, w in unit.vector.items():
                self.centroid[t] = self.centroid.get(t, 0.0) + w
        raw = [max(_dot(u.vector, self.centroid) - 1.0, 0.0) for u in self.units]
        top = max(raw, default=0.0) or 1.0
        for unit, value in zip(self.units, raw, strict=True):
            unit.centrality = value / top

    def relevance(self, query: dict[str, float]) -> list[float]:
        """BM25 of each sentence, mixed 70/30 with its passage's BM25; each part scaled to 1."""
        sentence = [
            self._bm25(u.terms, u.length, query, self.idf, self.average) for u in self.units
        ]
        passage = [
            self._bm25(found, sum(found.values()), query, self.pidf, self.paverage)
            for found in self.passage_terms
        ]
        top_s = max(sentence, default=0.0) or 1.0
        top_p = max(passage, default=0.0) or 1.0
        return [
            0.7 * s / top_s + 0.3 * passage[u.passage] / top_p if s > 0 else 0.0
            for s, u in zip(sentence, self.units, strict=True)
        ]

    @staticmethod
    def _bm25(
        found: Counter[str],
        length: int,
        query: dict[str, float],
        idf: dict[str, float],
        avg: float,
    ) -> float:
        norm = K1 * (1 - B + B * length / (avg or 1.0))
        matched = [t for t in query if t in found]
        score = sum(query[t] * idf[t] * found[t] * (K1 + 1) / (found[t] + norm) for t in matched)
        share = sum(query[t] for t in matched) / (sum(query.values()) or 1.0)
        return score * (0.5 + 0.5 * share)

    def coverage(self, query: dict[str, float]) -> float:
        """Largest share of the query's (weighted) IDF mass that one passage contains."""
        weights = {t: w * self.pidf.get(t, self.punknown) for t, w in query.items()}
        total = sum(weights.values())
        if not total:
            return 0.0
        return max(
            (sum(w for t, w in weights.items() if t in found) / total)
            for found in self.passage_terms
        )

    def mmr(
        self, scores: list[float], k: int, lam: float, *, pool: list[int], chosen: list[int]
    ) -> list[int]:
        """Greedy Maximal Marginal Relevance over `pool`, avoiding similarity to `chosen`."""
        candidates = sorted(pool, key=lambda i: (-scores[i], i))[:_POOL]
        similar = {
            i: max((_dot(self.units[i].vector, self.units[j].vector) for j in chosen), default=0.0)
            for i in candidates
        }
        picked: list[int] = []
        while len(picked) < k:
            best, best_value = -1, -math.inf
            for i in candidates:
                if i in picked or similar[i] >= DUPLICATE or self._contained(i, picked, chosen):
                    continue
                value = lam * scores[i] - (1 - lam) * similar[i]
                if value > best_value:
                    best, best_value = i, value
            if best < 0:
                break
            picked.append(best)
            for i in candidates:
                sim = _dot(self.units[i].vector, self.units[best].vector)
                similar[i] = max(similar[i], sim)
        return picked

    def _contained(self, index: int, *groups: list[int]) -> bool:
        """Near-duplicate: 80% of the shorter sentence's terms occur in a chosen sentence."""
        mine = self.units[index].terms.keys()
        for group in groups:
            for other in group:
                theirs = self.units[other].terms.keys()
                if len(mine & theirs) >= 0.8 * min(len(mine), len(theirs)):
                    return True
        return False

    def statement(self, index: int, score: float, text: str | None = None) -> Statement:
        unit = self.units[index]
        passage = self.passages[unit.passage]
        return Statement(text or unit.text, passage.id, passage.citation, round(score, 4))


def _refusal(language: str) -> ExtractiveAnswer:
    return ExtractiveAnswer(REFUSAL[language], [], grounded=False)


def _with_marker(text: str, number: int) -> str:
    if text and text[-1] in ".!?…":
        return f"{text[:-1]} [{number}]{text[-1]}"
    return f"{text} [{number}]"


def answer(
    question: str,
    passages: list[Passage],
    *,
    max_sentences: int = 4,
    language: str | None = None,
) -> ExtractiveAnswer:
    """The most relevant, central, non-redundant source sentences, with numbered citations.

    ``grounded`` is False (and the text a plain refusal) when no passage covers enough of the
    question's terms; nothing is ever made up.
    """
    lang = language if language in REFUSAL else detect_language(question)
    query = query_terms(question)
    corpus = _Corpus(passages)
    if not query or not corpus.units or corpus.coverage(query) < MIN_COVERAGE:
        return _refusal(lang)
    relevance = corpus.relevance(query)
    best = max(relevance)
    pool = [i for i, r in enumerate(relevance) if r > 0 and r >= 0.3 * best]
    scores = [0.8 * r + 0.2 * u.centrality for r, u in zip(relevance, corpus.units, strict=True)]
    picked = corpus.mmr(scores, max(max_sentences, 1), 0.7, pool=pool, chosen=[])
    statements = [corpus.statement(i, scores[i]) for i in picked]
    numbers: dict[str, int] = {}
    parts: list[str] = []
    for statement in statements:
        number = numbers.setdefault(statement.passage_id, len(numbers) + 1)
        parts.append(_with_marker(statement.text, number))
    citations = {s.passage_id: s.citation for s in statements}
    footer = "\n".join(f"[{n}] {citations[pid]}" for pid, n in numbers.items())
    return ExtractiveAnswer(f"{' '.join(parts)}\n\n{_SOURCES[lang]}\n{footer}", statements, True)


def _trim_title(text: str) -> str:
    words = text.replace("\n", " ").split()[:8]
    while len(words) > 1 and words[-1].lower().strip(",;:.") in STOPWORDS:
        words.pop()
    title = " ".join(words).strip(" ,;:.—–-")
    return title[:1].upper() + title[1:]


def _phrase(corpus: _Corpus, index: int, boost: set[str]) -> str:
    """The best-weighted run of 2–8 words inside one clause of a sentence (a real phrase)."""
    text = corpus.units[index].text
    best, best_value = "", -math.inf
    for clause in re.split(r"[,;:()—–\"«»“”]| - ", text):
        words = [w.strip(".!?'`") for w in clause.split()]
        words = [w for w in words if w]
        weights = []
        for word in words:
            found = terms(word)
            weight = sum(corpus.centroid.get(t, 0.0) * (2.0 if t in boost else 1.0) for t in found)
            weights.append(weight if found else 0.0)
        for start in range(len(words)):
            if words[start].lower() in _WEAK_EDGE or not weights[start]:
                continue
            for end in range(start + 2, min(start + 8, len(words)) + 1):
                if words[end - 1].lower() in _WEAK_EDGE or not weights[end - 1]:
                    continue
                value = sum(weights[start:end]) - 0.15 * (end - start)
                if value > best_value:
                    best, best_value = " ".join(words[start:end]), value
    return _trim_title(best or text)


def _distinct_title(candidates: list[str], used: set[str]) -> str:
    for candidate in candidates:
        if candidate and candidate.lower() not in used:
            used.add(candidate.lower())
            return candidate
    base = candidates[0] if candidates else "…"
    number = 2
    while f"{base} ({number})".lower() in used:
        number += 1
    used.add(f"{base} ({number})".lower())
    return f"{base} ({number})"


def outline(topic: str, passages: list[Passage], *, slides: int) -> list[OutlineItem]:
    """`slides` items: overview, themes (sections or MMR-seeded clusters), then a summary.

    Returns fewer items only when the sources have fewer usable sentences than slides, and an
    empty list when they have none.
    """
    corpus = _Corpus(passages)
    count = len(corpus.units)
    if not count or slides < 1:
        return []
    query = query_terms(topic)
    boost = set(query)
    relevance = corpus.relevance(query) if query else [0.0] * count
    base = [0.6 * u.centrality + 0.4 * r for u, r in zip(corpus.units, relevance, strict=True)]
    every = list(range(count))
    used: list[int] = []
    titles: set[str] = set()
    items: list[OutlineItem] = []

    def item(title_options: list[str], indices: list[int]) -> None:
        used.extend(indices)
        points = [corpus.statement(i, base[i]) for i in indices]
        items.append(OutlineItem(_distinct_title(title_options, titles), points))

    per = max(1, min(3, count // slides))  # key points per item, so that no item is empty
    overview = corpus.mmr(base, per, 0.7, pool=every, chosen=[])
    item([_phrase(corpus, overview[0], boost)], overview)
    middle = max(slides - 1 - (1 if slides >= 3 else 0), 0)
    sections: dict[str, list[int]] = {}
    for i, unit in enumerate(corpus.units):
        if unit.heading:
            sections.setdefault(unit.heading, []).append(i)
    if middle and len(sections) >= middle:

        def strength(members: list[int]) -> float:
            return sum(sorted((base[i] for i in members), reverse=True)[:3])

        ranked = sorted(sections, key=lambda h: -strength(sections[h]))[:middle]
        for heading in sorted(ranked, key=lambda h: sections[h][0]):
            free = [i for i in sections[heading] if i not in used] or sections[heading]
            points = corpus.mmr(base, per, 0.7, pool=free, chosen=used)
            points = points or free[:1]
            item([_trim_title(heading), _phrase(corpus, points[0], boost)], points)
    elif middle:
        central = [u.centrality for u in corpus.units]
        for _ in range(middle):
            free = [i for i in every if i not in used]
            seeds = corpus.mmr(central, 1, 0.4, pool=free, chosen=used)
            if not seeds:
                break
            seed = seeds[0]
            vector = corpus.units[seed].vector
            near = {i: _dot(corpus.units[i].vector, vector) for i in free if i != seed}
            close = [0.7 * near.get(i, 0.0) + 0.3 * base[i] for i in every]
            pool = [i for i, sim in near.items() if sim >= 0.15]
            points = [seed, *corpus.mmr(close, per - 1, 0.7, pool=pool, chosen=[*used, seed])]
            seed_heading = corpus.units[seed].heading
            options = [_trim_title(seed_heading)] if seed_heading else []
            item([*options, _phrase(corpus, seed, boost)], points)
    if slides >= 3:
        rest = [i for i in every if i not in used]
        points = corpus.mmr([u.centrality for u in corpus.units], per, 0.7, pool=rest, chosen=used)
        if points:
            language = detect_language(" ".join(corpus.units[i].text for i in points))
            item([_SUMMARY[language], _phrase(corpus, points[0], boost)], points)
    return items


def bullets(
    title: str, passages: list[Passage], *, count: int = 4, max_words: int = 20
) -> list[Statement]:
    """The best `count` sentences for a slide title, each cut to at most `max_words` words.

    Sentences sharing terms with the title are preferred; when none does, the most central
    sentences of the sources are used (still cited, so still grounded).
    """
    corpus = _Corpus(passages)
    if not corpus.units or count < 1:
        return []
    query = query_terms(title)
    relevance = corpus.relevance(query) if query else [0.0] * len(corpus.units)
    pool = [i for i, r in enumerate(relevance) if r > 0]
    scores = []
    for r, unit in zip(relevance, corpus.units, strict=True):
        overflow = max(len(unit.text.split()) - max_words, 0) / (2 * max_words)
        scores.append((0.7 * r + 0.3 * unit.centrality) / (1 + overflow))
    picked = corpus.mmr(scores, count, 0.7, pool=pool, chosen=[])
    if len(picked) < count:
        fill = [i for i in range(len(corpus.units)) if i not in picked]
        central = [u.centrality for u in corpus.units]
        picked += corpus.mmr(central, count - len(picked), 0.7, pool=fill, chosen=picked)
    return [
        corpus.statement(i, scores[i], shorten(corpus.units[i].text, max_words)) for i in picked
    ]
