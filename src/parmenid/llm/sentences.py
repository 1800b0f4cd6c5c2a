"""Sentence splitting for Russian and English source text, including text extracted from PDFs.

The text is first cut into paragraphs at blank lines. Inside a paragraph, words hyphenated across a
line break are joined ("informa-\\ntion" -> "information") and all whitespace collapses to single
spaces. Paragraphs that look like code (indented blocks, ``>>>`` sessions, fenced blocks) are
dropped; a short single-line paragraph without final punctuation is taken as a section heading and
attached to the sentences that follow it.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (optionally followed by a closing quote or bracket)
when whitespace and then an upper-case letter, a digit or an opening quote/bracket follow, unless
the word before the period is a known abbreviation ("e.g.", "i.e.", "т. е.", "г.", "см.", ...) or a
single letter (an initial). Decimals such as "3.5" never split because no whitespace follows the
period.

Limits: rule-based, so an abbreviation outside the list followed by a capitalised word ("approx.
Ten") splits wrongly, and a sentence that starts with a lower-case letter is glued to the previous
one. Both are harmless for extractive selection: a statement is still verbatim source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATION_TEXT = """
    e.g i.e etc vs cf al approx fig figs eq no nos vol pp p ch sec mr mrs ms dr prof st jr sr inc
    ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec
    т.е т.к т.д т.п т.н др пр см стр рис табл им ул г гг в вв тыс млн млрд руб коп проф акад
    доц гл п пп ст с англ лат напр ок рус
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())

_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*(?=[a-zа-яё])")
_SPACE = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_BULLET = re.compile(r"^(?:[-*•–]|\d{1,2}[.)])\s+")
_ITEM_BREAK = re.compile(r"\n[ \t]*(?=(?:[-*•]|\d{1,2}[.)])[ \t]+)")
_HEADING_MARK = re.compile(r"^#{1,6}\s+")
_BOUNDARY = re.compile(r"[.!?…]+[\"»”')\]]*\s+(?=[\"«“(\[]?[A-ZА-ЯЁ0-9])")
_LAST_WORD = re.compile(r"(\S+)$")
_MARKER = re.compile(
    r"^(?:however|moreover|furthermore|in addition|additionally|also|besides|indeed|thus|"
    r"therefore|hence|consequently|nevertheless|nonetheless|meanwhile|in fact|of course|"
    r"in other words|finally|однако|кроме того|более того|также|поэтому|таким образом|итак|"
    r"впрочем|при этом|тем не менее|во-первых|во-вторых|в-третьих|наконец|следовательно|"
    r"к тому же|то есть)\s*,\s*",
    re.IGNORECASE,
)
_CITATION_MARK = re.compile(r"\s*\[\^?\d+(?:\s*[,–-]\s*\^?\d+)*\]")
_ASIDE = re.compile(r"\s\([^()]{2,120}\)")
_WORDS = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_LATIN = re.compile(r"[a-zA-Z]")
_METADATA = re.compile(r"\b[A-Z][\w-]*:\s")
_BOILERPLATE = re.compile(
    r"^(?:page|p\.|стр\.?|страница)\s*\d+|all rights reserved|все права защищены|"
    r"placed in the public domain|copyright\b|©",
    re.IGNORECASE,
)
_CLAUSE_END = (",", ";", ":", "—", "–")


@dataclass(frozen=True, slots=True)
class SourceSentence:
    """One sentence of a passage, with the heading of the section it appears under (if any)."""

    text: str
    heading: str | None
    position: int


def normalise(text: str) -> str:
    """Join hyphenated line breaks and collapse all whitespace to single spaces."""
    return _SPACE.sub(" ", _HYPHEN_BREAK.sub(r"\1", text)).strip()


def _is_code(paragraph: str) -> bool:
    lines = [line for line in paragraph.split("\n") if line.strip()]
    if not lines:
        return True
    first = lines[0]
    if first.lstrip().startswith((">>>", "```", "~~~", "$ ")):
        return True
    indented = sum(1 for line in lines if line.startswith(("    ", "\t")))
    return indented == len(lines) and not _BULLET.match(first.lstrip())


def _heading(paragraph: str) -> str | None:
    stripped = paragraph.strip()
    if "\n" in stripped or not stripped:
        return None
    text = _HEADING_MARK.sub("", stripped).strip()
    words = text.split()
    if not words or len(words) > 10 or text[-1] in ".!?:;,…" or not text[0].isupper():
        return None
    return text


def _ends_with_abbreviation(text: str) -> bool:
    match = _LAST_WORD.search(text)
    if not match:
        return False
    word = match.group(1).lstrip('("«“[').lower().rstrip(".")
    if len(word) == 1 and word.isalpha():
        return True
    if word in _ABBREVIATIONS:
        return True
    # "т. е." / "т. к.": the previous token is a one-letter abbreviation too
    return bool(re.search(r"(?:^|\s)[а-яёa-z]\.\s+[а-яёa-z]$", text.lower().rstrip(".")))


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph of prose (already normalised or not)."""
    text = normalise(text)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        candidate = text[start:end].rstrip()
        head = candidate.rstrip("\"»”')]").rstrip(".!?…")
        if candidate.rstrip("\"»”')]").endswith(".") and _ends_with_abbreviation(head + "."):
            continue
        if candidate:
            sentences.append(candidate)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def segment(text: str) -> list[SourceSentence]:
    """Prose sentences of a passage in order, each with its section heading."""
    found: list[SourceSentence] = []
    heading: str | None = None
    in_fence = False
    for paragraph in _PARAGRAPH.split(text.replace("\r\n", "\n")):
        if paragraph.lstrip().startswith(("```", "~~~")):
            fences = paragraph.count("```") + paragraph.count("~~~")
            in_fence = in_fence != (fences % 2 == 1)
            continue
        if in_fence or _is_code(paragraph):
            continue
        title = _heading(paragraph)
        if title is not None:
            heading = title
            continue
        for item in _ITEM_BREAK.split(paragraph.strip()):
            for sentence in split_sentences(_BULLET.sub("", item.strip())):
                found.append(SourceSentence(sentence, heading, len(found)))
    return found


def detect_language(text: str) -> str:
    """``"ru"`` when at least a third of the letters are Cyrillic, else ``"en"``.

    Russian questions often name a product in Latin letters ("Что умеет PresentAI?"); a plain
    majority vote would call them English."""
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    return "ru" if cyrillic and cyrillic * 2 >= latin else "en"


def condense(sentence: str) -> str:
    """Delete a leading discourse marker, bracketed asides and citation marks; nothing else."""
    text = _CITATION_MARK.sub("", sentence)
    shorter = _ASIDE.sub("", text)
    if len(shorter.split()) >= 4:
        text = shorter
    stripped = _MARKER.sub("", text)
    if stripped != text and len(stripped.split()) >= 4:
        text = stripped[0].upper() + stripped[1:]
    return re.sub(r"\s+([,.;:!?])", r"\1", text).strip()


def shorten(text: str, max_words: int) -> str:
    """At most `max_words` words: cut at the last clause boundary, else hard-cut with "…"."""
    words = text.split()
    if len(words) <= max_words:
        return text
    floor = min(4, max_words)
    for end in range(max_words, floor - 1, -1):
        if words[end - 1].endswith(_CLAUSE_END):
            return " ".join(words[:end]).rstrip(",;:—– ")
    return " ".join(words[:max_words]).rstrip(",;:—– ") + "…"


def informative(text: str, distinct_terms: int) -> bool:
    """A self-contained prose sentence: 5–60 words, mostly letters, no metadata or boilerplate."""
    words = _WORDS.findall(text)
    if not 5 <= len(words) <= 60 or distinct_terms < 3:
        return False
    letters = sum(len(word) for word in words)
    if letters < 0.6 * len(text.replace(" ", "")) or text.endswith(":"):
        return False
    if ">>>" in text or "## " in text:
        return False
    if not (text[0].isalnum() or text[0] in "\"'«“(`_") or "://" in text:
        return False
    return len(_METADATA.findall(text)) < 3 and not _BOILERPLATE.search(text)
