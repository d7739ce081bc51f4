"""Chinese-aware term spotting: normalisation and longest-match-first search for known terms.

Shared by the catalogue loader (which synonym groups belong to an entry) and the matcher.
"""

import re
import unicodedata
from collections.abc import Iterable

DASHES = re.compile(r"[\u2010-\u2015\u2212\u30fc\ufe58\ufe63\uff0d]")
SPACES = re.compile(r"\s+")
ASCII_WORD = re.compile(r"[a-z0-9]")


def normalise(text: str) -> str:
    """Fold a term for comparison: NFKC (full-width → half-width), one kind of dash, no spaces, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    return SPACES.sub("", DASHES.sub("-", text)).lower()


def _at_boundaries(text: str, start: int, end: int, term: str) -> bool:
    # Latin abbreviations must stand alone: PE is not in PET, PC is not in PPC.
    if ASCII_WORD.match(term[0]) and start > 0 and ASCII_WORD.match(text[start - 1]):
        return False
    return not (ASCII_WORD.match(term[-1]) and end < len(text) and ASCII_WORD.match(text[end]))


def find_terms(text: str, terms: Iterable[str]) -> list[str]:
    """The terms found in `text`, longest first; a match inside a longer match does not count.

    So 无取向硅钢 finds 无取向硅钢 but not 取向硅钢, and 聚碳酸酯 PC finds 聚碳酸酯 and PC but not 碳酸酯.
    Terms are returned normalised.
    """
    haystack = normalise(text)
    wanted = sorted({normalise(t) for t in terms if normalise(t)}, key=len, reverse=True)
    taken: list[tuple[int, int]] = []
    found: list[str] = []
    for term in wanted:
        start = haystack.find(term)
        while start != -1:
            end = start + len(term)
            free = all(end <= s or start >= e for s, e in taken)
            if free and _at_boundaries(haystack, start, end, term):
                taken.append((start, end))
                if term not in found:
                    found.append(term)
            start = haystack.find(term, start + 1)
    return found
