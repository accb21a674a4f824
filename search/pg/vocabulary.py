"""What the shared QueryBuilder reads from an index, answered by PostgreSQL.

`VocabularyReader` offers the few IndexReader methods the query builder and
`key_query` call (schema, doc_frequency, expand_prefix, lexicon) from the
`vocabulary` and `articles` tables; `PgQueryBuilder` replaces only where
typo candidates come from: a pg_trgm search of the vocabulary instead of a
scan of every word with the same first letter. Screening, edit distances,
synonyms, the fallback and the suggestion stay the shared code's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg
from whoosh.fields import Schema

from ..queryparse import KEY_FIELDS, MAX_EXPANSION, MAX_RESPELL_WORDS, QueryBuilder
from ..schema import build_schema
from .textprep import ARTICLES, AVERAGE_LENGTHS

# Vocabulary kinds: words as typed (folded, the `exact` field) and stems.
_KINDS = {"exact": "w", "text": "s", "title": "s"}
# Trigram similarity a typo candidate needs (pg_trgm's `%` operator).
TRIGRAM_THRESHOLD = 0.2
MAX_NEIGHBOURS = 2_000
_SCHEMA: Schema | None = None


def schema() -> Schema:
    """The whoosh schema, for its analyzers and field names (no index is opened)."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = build_schema()
    return _SCHEMA


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class VocabularyReader:
    """Document frequencies and term lists of one search, cached for its length."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.schema = schema()
        self._df: dict[tuple[str, str], int] = {}

    def doc_frequency(self, fieldname: str, term: str | bytes) -> int:
        term = term.decode() if isinstance(term, bytes) else term
        key = (fieldname, term)
        if key not in self._df:
            if fieldname in _KINDS:
                row = self.conn.execute(
                    "SELECT ndoc FROM vocabulary WHERE kind = %s AND term = %s", (_KINDS[fieldname], term)
                ).fetchone()
            elif fieldname in KEY_FIELDS:
                row = self.conn.execute(
                    f"SELECT count(*) FROM articles WHERE {fieldname} = %s AND tsv IS NOT NULL", (term,)
                ).fetchone()
            else:
                row = None
            self._df[key] = row[0] if row else 0
        return self._df[key]

    def doc_frequencies(self, fieldname: str, terms: Iterable[str]) -> dict[str, int]:
        """Many frequencies in one round trip (remembered for doc_frequency)."""
        terms = list(terms)
        self.prefetch((fieldname, t) for t in terms)
        return {t: self.doc_frequency(fieldname, t) for t in terms}

    def prefetch(self, lexemes: Iterable[tuple[str, str]]) -> None:
        """The frequencies of (field, term) pairs of any fields, in one
        statement: a search's word groups, synonyms and thesaurus bonus
        asked 2 statements a group (~25 for six words, ~0.25 ms each)."""
        wanted = [(f, t) for f, t in dict.fromkeys(lexemes) if f in _KINDS and (f, t) not in self._df]
        if not wanted:
            return
        kinds = [_KINDS[f] for f, _ in wanted]
        found = dict.fromkeys(wanted, 0)
        rows = self.conn.execute(
            "SELECT kind, term, ndoc FROM vocabulary "
            "WHERE (kind, term) IN (SELECT * FROM unnest(%s::bpchar[], %s::text[]))",
            (kinds, [t for _, t in wanted]),
        )
        for kind, term, n in rows:
            for f in _KINDS:
                if _KINDS[f] == kind and (f, term) in found:
                    found[f, term] = n
        self._df.update(found)

    def expand_prefix(self, fieldname: str, prefix: str | bytes) -> Iterator[str]:
        """Terms starting with `prefix`, in order (bounded like the query builder's expansion)."""
        prefix = prefix.decode() if isinstance(prefix, bytes) else prefix
        if fieldname in _KINDS:
            rows = self.conn.execute(
                "SELECT term, ndoc FROM vocabulary WHERE kind = %s AND term LIKE %s ORDER BY term LIMIT %s",
                (_KINDS[fieldname], _like_prefix(prefix), MAX_EXPANSION * 5),
            ).fetchall()
            for term, n in rows:
                self._df[fieldname, term] = n
            return iter([term for term, _ in rows])
        return (k for k in self.lexicon(fieldname) if k.startswith(prefix))

    def lexicon(self, fieldname: str) -> Iterator[str]:
        if fieldname not in KEY_FIELDS:
            return iter(())
        rows = self.conn.execute(
            f"SELECT DISTINCT {fieldname} FROM articles WHERE {fieldname} != '' ORDER BY 1"
        ).fetchall()
        return iter([r[0] for r in rows])

    def near_words(self, word: str, least: int = 0) -> list[str]:
        """Vocabulary words sharing `word`'s first letter and many of its
        trigrams, in at least `least` articles."""
        rows = self.conn.execute(
            "SELECT term, ndoc FROM vocabulary WHERE kind = 'w' AND term %% %s "
            "AND term LIKE %s AND ndoc >= %s LIMIT %s",
            (word, _like_prefix(word[:1]), least, MAX_NEIGHBOURS),
        ).fetchall()
        for term, n in rows:
            self._df["exact", term] = n
        return [term for term, _ in rows]

    def average_length(self, column: str) -> int:
        """The indexed articles' mean length of the vector `column` in
        positions (0 before any is indexed)."""
        return self._own_row(AVERAGE_LENGTHS[column])

    def doc_count(self) -> int:
        """Indexed articles (kept in the vocabulary, so no table scan)."""
        return self._own_row(ARTICLES)

    def _own_row(self, key: tuple[str, str]) -> int:
        """A number the vocabulary keeps about the archive in a row of its
        own (textprep.ARTICLES, AVERAGE_LENGTHS); 0 when absent. All of
        them in the first one's statement: a search asks for each."""
        if key not in self._df:
            rows = self.conn.execute("SELECT term, ndoc FROM vocabulary WHERE kind = %s", (key[0],))
            self._df.update({(key[0], term): n for term, n in rows})
            self._df.setdefault(key, 0)
        return self._df[key]


class PgQueryBuilder(QueryBuilder):
    """The shared QueryBuilder, with close spellings from the trigram index.

    The shared typo code asks `known_words` of a few hundred spellings one edit
    away from a word: here those answers come from one trigram query per
    word (its neighbours in the vocabulary), not one query per spelling.
    """

    reader: VocabularyReader

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._neighbourhoods: dict[tuple[str, int], set[str]] = {}
        self._known: set[str] | None = None

    def _near(self, words: Iterable[str], least: int = 0) -> set[str]:
        out: set[str] = set()
        for word in words:
            key = (word, least)
            if key not in self._neighbourhoods:
                # For a word the archive holds, only spellings TYPO_RATIO times
                # as common count: the rarer ones need not come back (giorgi:
                # 215 neighbours, 10 in 500 articles or more).
                self._neighbourhoods[key] = set(self.reader.near_words(word, least))
            out |= self._neighbourhoods[key]
        return out

    def typo_candidates(self, word: str) -> list[str]:
        self._known = None
        previous, self._base = getattr(self, "_base", None), word
        try:
            return super().typo_candidates(word)
        finally:
            self._base = previous

    def respell(self, parsed, count):  # noqa: ANN001 - QueryBuilder.respell's signature
        # Neighbours of the words respell will try only (most are dictionary words).
        words = [w for w, _ in self.word_clauses[:MAX_RESPELL_WORDS] if self.respellable(w)]
        self._known = self._near(words)
        try:
            return super().respell(parsed, count)
        finally:
            self._known = None

    def known_words(self, words: Iterable[str]) -> set[str]:
        return {w for w in words if self.is_word(w)}

    def is_word(self, word: str) -> bool:
        if self._known is not None:
            return word in self._known
        base = getattr(self, "_base", None)
        if base is not None:
            return word in self._near([base], self.least_frequency)
        return self.reader.doc_frequency("exact", word) > 0

    def spelling_neighbours(self, word: str, maxdist: int) -> Iterable[str | bytes]:
        return self._near([word], self.least_frequency)
