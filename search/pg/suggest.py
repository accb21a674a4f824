"""Autocomplete from PostgreSQL: word completions from the vocabulary,
titles from the title-weighted vectors; assembled by search.suggest."""

from __future__ import annotations

import psycopg

from ..analysis import STOPWORDS, stemming_analyzer
from ..suggest import MAX_CONTEXT_CHECKS, MAX_SCAN, MIN_TITLE_PREFIX, MIN_WORD_PREFIX, assemble
from .textprep import lexeme, word_lexeme
from .vocabulary import _like_prefix, schema

_STEM = stemming_analyzer()


def suggest(conn: psycopg.Connection, prefix: str, limit: int = 8) -> list[str]:
    return assemble(
        prefix,
        limit,
        schema()["exact"].analyzer,
        lambda last, n, head_words: _completions(conn, last, n, head_words),
        lambda head_words, last, n: _titles(conn, head_words, last, n),
    )


def _completions(conn: psycopg.Connection, last: str, limit: int, head_words: list[str]) -> list[str]:
    """Vocabulary words starting with `last`, most documents first; after
    earlier words, only those found in an article together with them."""
    rows = conn.execute(
        """SELECT term FROM (SELECT term, ndoc FROM vocabulary WHERE kind = 'w' AND term LIKE %s
                             ORDER BY term LIMIT %s) t
           ORDER BY ndoc DESC, term""",
        (_like_prefix(last), MAX_SCAN),
    ).fetchall()
    found = [
        t for (t,) in rows if t != last and t not in STOPWORDS and len(t) >= MIN_WORD_PREFIX + 1
    ]
    context = [lx for lx in (word_lexeme(w) for w in head_words if w not in STOPWORDS) if lx]
    if not context:
        return found[:limit]
    checks = [(t, word_lexeme(t)) for t in found[:MAX_CONTEXT_CHECKS]]
    checks = [(t, lx) for t, lx in checks if lx]
    if not checks:
        return []
    together = {
        row[0]
        for row in conn.execute(
            """SELECT u.term FROM unnest(%s::text[], %s::text[]) AS u(term, q)
               WHERE EXISTS (SELECT 1 FROM articles WHERE tsv @@ u.q::tsquery)""",
            ([t for t, _ in checks], [" & ".join([*context, lx]) for _, lx in checks]),
        )
    }
    return [t for t, _ in checks if t in together][:limit]


def _titles(conn: psycopg.Connection, head_words: list[str], last: str, limit: int) -> list[str]:
    """Titles holding every typed word (the last one as a prefix), best first."""
    clauses = [f"{lx}:A" for lx in (lexeme(t.text) for t in _STEM(" ".join(head_words))) if lx]
    if len(last) >= MIN_TITLE_PREFIX:
        prefixes = {last, *(t.text for t in _STEM(last))}
        alternatives = [f"{lx}:*A" for lx in sorted(filter(None, map(lexeme, prefixes)))]
        if alternatives:
            clauses.append("(" + " | ".join(alternatives) + ")")
    if not clauses:
        return []
    rows = conn.execute(
        """SELECT title FROM articles WHERE tsv @@ %s::tsquery
           ORDER BY ts_rank(tsv, %s::tsquery) DESC, id LIMIT %s""",
        (" & ".join(clauses),) * 2 + (limit * 2,),
    )
    titles: list[str] = []
    for (title,) in rows:
        if title not in titles:
            titles.append(title)
    return titles[:limit]
