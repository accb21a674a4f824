"""Close spellings of a word among the words of the archive (typo tolerance).

The vocabulary is the words as written, accent-folded and unstemmed (the
whoosh engine's `exact` field), reached through two functions so that any
backend can supply it. Words sharing the first letter only: a reader
rarely gets the first letter wrong, and it keeps the noise down.

Which words count as misspelt, and towards which spellings, is decided by
the query builder (search.queryparse) with the ratios below and the Italian
dictionary (search.dictionary).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from string import ascii_lowercase, digits

from rapidfuzz import process
from rapidfuzz.distance import OSA

# Folded words are ASCII: the letters an insertion or substitution may bring.
ALPHABET = ascii_lowercase + digits

# A word of the archive that the dictionary doesn't know is taken for a
# misspelling when a close spelling is in at least TYPO_RATIO times as many
# articles. Measured on the 19,902-article dev corpus: of its 10,205 such
# words with a commoner close spelling, samples labelled by hand were
# misspellings in 33% of cases at ratios 30-60 ("arcudi"/"arcuri"), 45% at
# 60-120, 68% at 120-250, 82% at 250-600 and 85% past 1,000; among words in
# 3 articles or more, 74% past 300. Names reach the hundreds: "giorgi", a
# dev query's surname in 12 articles, is 373 times rarer than "giorni"
# (taken for a typo below 373, the query loses its article). At 500 four in
# five are misspellings, and the ones are in: "coronavirs" (4
# articles), "coronvirus" (5) and "coronavrus" (1) next to "coronavirus"
# (7,640), 1,500 to 7,600 times. The word as typed still matches, and ranks
# first by its rarity.
TYPO_RATIO = 500
# When no article holds every word and a slip makes them meet (search.
# queryparse's respell), the other words vouch for it, so a commoner
# spelling suffices; below 5 times commoner, 38 of the 42 labelled
# samples were names or real words ("arnaldi"/"arnaldo", "lonate"/"linate").
# The respellings the dev and hard typo queries need are 6.5 ("teaser"/
# "taser") to 298 ("campobaso"/"campobasso") times commoner.
RESPELL_RATIO = 5


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance; past `limit`,
    limit + 1 (rapidfuzz's OSA, which stops early past the limit)."""
    return OSA.distance(a, b, score_cutoff=limit)


def max_typos(word: str) -> int:
    """Edits tolerated by word length, as typo-tolerant engines do."""
    if word.isdigit() or len(word) < 5:
        return 0
    return 1 if len(word) < 9 else 2


def close_words(
    word: str,
    maxdist: int,
    known: Callable[[Iterable[str]], set[str]],
    neighbours: Callable[[str, int], Iterable[str | bytes]],
) -> list[tuple[int, str]]:
    """(distance, word) for the vocabulary's words within `maxdist` edits of
    `word` (itself left out), same first letter. `known(words)` gives those
    of `words` in the vocabulary; `neighbours(word, maxdist)` lists a superset
    of the close words (say, all those with its first letter)."""
    if maxdist == 1:
        # One edit: the few hundred spellings are generated and looked up in
        # one batch, cheaper than screening the vocabulary.
        spellings = sorted({w for w in _one_edit(word) if w[:1] == word[:1]})
        found = known(spellings)
        return [(1, w) for w in spellings if w in found]
    screened = []
    letters = set(word)
    # Screened by two cheap necessary conditions (length, and letters gained
    # or lost: at most 2 per edit) before the edit distance itself.
    for term in neighbours(word, maxdist):
        candidate = term.decode() if isinstance(term, bytes) else term
        if (
            abs(len(candidate) - len(word)) <= maxdist
            and len(letters.symmetric_difference(candidate)) <= 2 * maxdist
            and candidate != word
        ):
            screened.append(candidate)
    # One call for all the distances (rapidfuzz, in C++, cut off past maxdist).
    found = process.extract(word, screened, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    return [(int(distance), candidate) for candidate, distance, _ in found]


def _one_edit(word: str) -> Iterator[str]:
    """Every spelling one deletion, transposition, substitution or insertion away."""
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            yield head + tail[1:]
            if len(tail) > 1 and tail[0] != tail[1]:
                yield head + tail[1] + tail[0] + tail[2:]
            for c in ALPHABET:
                if c != tail[0]:
                    yield head + c + tail[1:]
        for c in ALPHABET:
            yield head + c + tail


def slips(word: str) -> list[str]:
    """The spellings a slip of the hand or of memory makes of a real word,
    giving another real word: a doubled letter undoubled or a single one
    doubled (Camilla / Camila, the commonest misspelling of Italian names),
    two neighbours swapped, one letter dropped. A subset of the one-edit
    spellings (a twentieth of them), tried where every edit would cost too
    many lookups and bring up unrelated words ("usuraio" / "usurano")."""
    found: set[str] = set()
    for i, c in enumerate(word):
        found.add(word[:i] + word[i + 1 :])  # dropped (undoubles a double, too)
        found.add(word[:i] + c + word[i:])  # doubled
        if i + 1 < len(word) and word[i + 1] != c:
            found.add(word[:i] + word[i + 1] + c + word[i + 2 :])  # swapped
    found.discard(word)
    return sorted(found)
