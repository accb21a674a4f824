"""Close spellings of a word among the words of the archive (typo tolerance).

The vocabulary is the words as written, accent-folded and unstemmed (the
whoosh engine's `exact` field), reached through two functions so that any
backend can supply it. Words sharing the first letter only: a reader
rarely gets the first letter wrong, and it keeps the noise down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from string import ascii_lowercase, digits

# Folded words are ASCII: the letters an insertion or substitution may bring.
ALPHABET = ascii_lowercase + digits


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance; past `limit`,
    some number above it (the rows stop once every cell exceeds it)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        # A transposition reaches back two rows: both must exceed the limit.
        if limit is not None and min(cur) > limit and min(prev) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


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
    found = []
    letters = set(word)
    # Screened by two cheap necessary conditions (length, and letters gained
    # or lost: at most 2 per edit) before the edit distance itself.
    for term in neighbours(word, maxdist):
        candidate = term.decode() if isinstance(term, bytes) else term
        if (
            abs(len(candidate) - len(word)) > maxdist
            or len(letters.symmetric_difference(candidate)) > 2 * maxdist
            or candidate == word
        ):
            continue
        distance = edit_distance(word, candidate, maxdist)
        if distance <= maxdist:
            found.append((distance, candidate))
    return found


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
