"""The shared QueryBuilder, with the typo code's vocabulary questions
answered from the whoosh index's own term lists (search.whoosh_sqlite.lexicon:
a letter mask per word, scanned in bulk) rather than one lookup per spelling."""

from __future__ import annotations

from collections.abc import Iterable

from ..queryparse import QueryBuilder
from . import lexicon


class WhooshQueryBuilder(QueryBuilder):
    def known_words(self, words: Iterable[str]) -> set[str]:
        return lexicon.known_words(self.reader, "exact", words)

    def spelling_neighbours(self, word: str, maxdist: int) -> Iterable[str | bytes]:
        return lexicon.near_words(self.reader, "exact", word, maxdist)
