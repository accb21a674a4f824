"""Autocomplete from PostgreSQL: word completions from the vocabulary, sample
texts and the words that follow another from the unstemmed vectors, titles
from the title-weighted vectors; assembled by search.suggest."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from ..analysis import STOPWORDS, stemming_analyzer
from ..suggest import (
    MAX_CONTEXT_CHECKS,
    MAX_SCAN,
    MIN_TITLE_PREFIX,
    MIN_WORD_PREFIX,
    Completion,
    Suggestion,
    TitleHit,
    assemble,
)
from .textprep import lexeme, word_lexeme
from .vocabulary import _like_prefix, schema

_STEM = stemming_analyzer()


def suggest(conn: psycopg.Connection, prefix: str, limit: int = 8) -> list[Suggestion]:
    return assemble(prefix, limit, schema()["exact"].analyzer, PgSource(conn))


class PgSource:
    """search.suggest.Source on one read connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def completions(self, last: str, head: list[str], limit: int) -> list[Completion]:
        rows = self.conn.execute(
            """SELECT term, ndoc FROM (SELECT term, ndoc FROM vocabulary WHERE kind = 'w' AND term LIKE %s
                                       ORDER BY term LIMIT %s) t
               ORDER BY ndoc DESC, term""",
            (_like_prefix(last), MAX_SCAN),
        ).fetchall()
        found = [
            (t, n) for t, n in rows if t != last and t not in STOPWORDS and len(t) >= MIN_WORD_PREFIX + 1
        ]
        if not head:
            return [Completion(t, n) for t, n in found[:limit]]
        context = [lx for lx in (word_lexeme(w) for w in head if w not in STOPWORDS) if lx]
        checks = [(t, n, word_lexeme(t), lexeme(t)) for t, n in found[:MAX_CONTEXT_CHECKS]]
        checks = [c for c in checks if c[2] and c[3]]
        if not checks:
            return []
        prev = lexeme(head[-1])
        # Per candidate: an article with it and every earlier word, and one
        # where it follows the word typed before it (the unstemmed vector).
        verdicts = {
            term: (together, follows)
            for term, together, follows in self.conn.execute(
                """SELECT u.term,
                          EXISTS (SELECT 1 FROM articles WHERE tsv @@ u.q::tsquery),
                          u.p IS NOT NULL AND EXISTS (
                              SELECT 1 FROM articles WHERE tsv @@ u.q::tsquery AND tsv_exact @@ u.p::tsquery)
                   FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(term, q, p)""",
                (
                    [t for t, *_ in checks],
                    [" & ".join([*context, stemmed]) for _, _, stemmed, _ in checks],
                    [f"{prev} <-> {exact}" if prev else None for *_, exact in checks],
                ),
            )
        }
        adjacent: list[Completion] = []
        others: list[Completion] = []
        for term, n, _, _ in checks:
            together, follows = verdicts.get(term, (False, False))
            if together:
                (adjacent if follows else others).append(Completion(term, n, bool(follows)))
        return adjacent[:limit] if adjacent else others[:limit]

    def doc_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        found = dict(
            self.conn.execute(
                "SELECT term, ndoc FROM vocabulary WHERE kind = 'w' AND term = ANY(%s)", (wanted,)
            ).fetchall()
        )
        return {w: found.get(w, 0) for w in wanted}

    def samples(self, phrases: list[tuple[str, ...]], per_phrase: int) -> dict[tuple[str, ...], list[str]]:
        queries = [" <-> ".join(lx for lx in map(lexeme, phrase) if lx) for phrase in phrases]
        wanted = [(p, q) for p, q in zip(phrases, queries, strict=True) if q]
        out: dict[tuple[str, ...], list[str]] = {p: [] for p in phrases}
        if not wanted:
            return out
        rows = self.conn.execute(
            """SELECT u.i, concat_ws(E'\\n', a.title, a.subtitle, a.body)
               FROM unnest(%s::text[]) WITH ORDINALITY AS u(q, i)
               CROSS JOIN LATERAL (SELECT title, subtitle, body FROM articles
                                   WHERE tsv_exact @@ u.q::tsquery LIMIT %s) a""",
            ([q for _, q in wanted], per_phrase),
        )
        for i, text in rows:
            out[wanted[i - 1][0]].append(text)
        return out

    def titles(self, head: list[str], terms: list[str], prefix: str, limit: int) -> list[TitleHit]:
        clauses = [f"{lx}:A" for lx in (lexeme(t.text) for t in _STEM(" ".join(head))) if lx]
        alternatives: list[str] = []
        for term in terms:
            stems = [lx for lx in (lexeme(t.text) for t in _STEM(term)) if lx]
            if stems:
                alternatives.append(f"{stems[0]}:A")
        if not terms and len(prefix) >= MIN_TITLE_PREFIX:
            prefixes = {prefix, *(t.text for t in _STEM(prefix))}
            options = [f"{lx}:*A" for lx in sorted(filter(None, map(lexeme, prefixes)))]
            if options:
                alternatives.append("(" + " | ".join(options) + ")")
        out: list[TitleHit] = []
        seen: set[str] = set()
        for alternative in alternatives or [None]:
            parts = clauses + ([alternative] if alternative else [])
            if not parts:
                break
            rows = self.conn.execute(
                """SELECT id, title, date FROM articles WHERE tsv @@ %s::tsquery
                   ORDER BY date DESC NULLS LAST, id LIMIT %s""",
                (" & ".join(parts), 2 * limit),
            )
            for article_id, title, day in rows:
                if title not in seen:
                    seen.add(title)
                    out.append(TitleHit(article_id, title, day))
            if len(out) >= limit:
                break
        return out[:limit]
