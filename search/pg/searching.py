"""Running a parsed query in PostgreSQL: the same steps as search.searching.

All terms first; when fewer than a page hold them all (relevance sort, or
nothing at all with a date sort), the articles holding some of the words
follow, more and rarer words first. Counts and facets are GROUP BYs over
the filtered matches; only the page's articles are read back, and their
snippets come from the shared snippet code.

Relevance: each word group of the query scores idf × ts_rank over the
weighted vector (title A, subtitle B, body D, length-normalised), the idf
read from the vocabulary table — BM25's two ingredients from PostgreSQL's
own ranking function.

With the recency boost (relevance sort only), whole windows of the ranking
are fetched with their dates and rescored by the shared search.recency;
all-terms matches stay above partial ones, and every page cuts the same
windows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import psycopg
from whoosh import query as wq

from ..queryparse import ParsedQuery, QueryError
from ..ranking import Ranking
from ..recency import boost_windows, day_number, window_limit
from ..searching import FACET_SIZE, Filters, Hit, SearchResult, _snippet_source
from ..snippets import snippet
from ..topk import loose_groups
from . import store
from .sqlquery import Clause, all_of, compile_filters, compile_query, groups_of, lexemes_of, none_of
from .vocabulary import VocabularyReader

# ts_rank weights of D (body), C (unused), B (subtitle), A (title) matches.
WEIGHTS = [0.1, 0.2, 0.4, 1.0]
# ts_rank normalisation: 1 divides by 1 + log(document length).
RANK_NORMALIZATION = 1
# In the fallback, each word group held adds this many times its idf, so
# articles with more (and rarer) words come first whatever their ts_rank.
GROUP_BONUS = 1.0
ORDERS = {"newest": "date DESC NULLS LAST, id", "oldest": "date ASC NULLS LAST, id"}


@dataclass
class Scorer:
    """The SQL of a relevance score over some word groups."""

    sql: str
    params: tuple


def idf(reader: VocabularyReader, q: wq.Query) -> float:
    """BM25's idf of a word group: a phrase is as rare as its rarest word,
    alternatives (synonyms, typo fixes) as common as their commonest."""
    lexemes = lexemes_of(q)
    if not lexemes:
        return 0.0
    total = max(reader.doc_count(), 1)
    freqs = [
        n
        for fieldname in ("text", "exact")
        for n in reader.doc_frequencies(fieldname, [t for f, t in lexemes if f == fieldname]).values()
        if n
    ]
    pick = min if isinstance(q, wq.Phrase) else max
    df = pick(freqs) if freqs else 0
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def scorer(reader: VocabularyReader, groups: list[wq.Query], bonus: float = 0.0) -> Scorer:
    parts: list[str] = []
    params: list = []
    for group in groups:
        clause = compile_query(group)
        if clause is None or clause.ts is None:
            continue
        weight = idf(reader, group)
        parts.append(f"%s * ts_rank(%s::float4[], {clause.column}, %s::tsquery, %s)")
        params += [weight, WEIGHTS, clause.ts, RANK_NORMALIZATION]
        if bonus:
            parts.append(f"%s * coalesce(({clause.sql}), FALSE)::int")
            params += [weight * bonus, *clause.params]
    if not parts:
        return Scorer("0.0", ())
    return Scorer("(" + " + ".join(parts) + ")::float8", tuple(params))


def run(
    conn: psycopg.Connection,
    reader: VocabularyReader,
    parsed: ParsedQuery,
    filters: Filters,
    ranking: Ranking,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 10,
    facets: bool = True,
    recency: bool = False,
) -> SearchResult:
    started = time.perf_counter()
    offset, wanted = (page - 1) * per_page, page * per_page
    boost = recency and sort == "relevance" and ranking.recency_weight > 0
    # With the boost, whole windows are ranked from the top, so that every page cuts the same ones.
    first, limit = (0, window_limit(wanted)) if boost else (offset, per_page)
    scope = all_of([c for c in (Clause("tsv IS NOT NULL", ()), compile_filters(filters, reader)) if c])
    strict = compile_query(parsed.strict)
    try:
        strict_where = all_of([scope, strict]) if strict is not None else None
        exact_total = _count(conn, strict_where)
        if parsed.refine is not None:
            refined = parsed.refine(lambda q: _count(conn, _within(scope, q)), exact_total > 0)
            if refined.strict is not parsed.strict:  # respelled
                strict = compile_query(refined.strict)
                strict_where = _within(scope, refined.strict)
                exact_total = _count(conn, strict_where)
            parsed = refined
        ranked = _top(conn, strict_where, scorer(reader, groups_of(parsed.strict)), sort, first, limit)
        exact_ranked = len(ranked)
        counted = strict_where
        total = exact_total
        loose_ran = False
        may_fill = (sort == "relevance" or not exact_total) and exact_total < per_page
        loose = compile_query(parsed.loose) if parsed.loose is not None else None
        if ranking.fallback and loose is not None and may_fill:
            partial = all_of([scope, loose] + ([none_of(strict)] if strict is not None else []))
            groups, _ = loose_groups(parsed.loose)
            score = scorer(reader, groups, GROUP_BONUS)
            partial_total = _count(conn, partial)
            skip = max(0, first - exact_total)
            ranked += _top(conn, partial, score, sort, skip, first + limit - exact_total - skip)
            counted = all_of([scope, loose])
            total = exact_total + partial_total
            loose_ran = True
        facet_values = _facets(conn, counted) if facets and total else {}
    except psycopg.errors.QueryCanceled:
        raise QueryError(
            "La ricerca è troppo onerosa: usa meno parole, o parole meno comuni, "
            "oppure restringi con i filtri."
        ) from None
    if boost:
        weight, half_life = ranking.recency_weight, ranking.recency_half_life_days
        pages = boost_windows(ranked[:exact_ranked], weight, half_life)
        pages += boost_windows(ranked[exact_ranked:], weight, half_life)
        shown = pages[offset:wanted]
    else:
        shown = [(i, score) for i, score, _ in ranked]
    articles = store.get_many(conn, [i for i, _ in shown])
    hits = [
        Hit(articles[i], score, snippet(_snippet_source(articles[i]), parsed.highlight))
        for i, score in shown
        if i in articles
    ]
    return SearchResult(
        query=parsed.text,
        total=total,
        exact_total=exact_total,
        page=page,
        per_page=per_page,
        fallback=exact_total == 0 and loose_ran and total > 0,
        hits=hits,
        facets=facet_values if facets else {},
        suggestion=parsed.suggestion,
        elapsed=time.perf_counter() - started,
        parsed=parsed,
    )


def _within(scope: Clause, q: wq.Query) -> Clause | None:
    clause = compile_query(q)
    return all_of([scope, clause]) if clause is not None else None


def _count(conn: psycopg.Connection, where: Clause | None) -> int:
    if where is None:
        return 0
    return conn.execute(f"SELECT count(*) FROM articles WHERE {where.sql}", where.params).fetchone()[0]


def _top(
    conn: psycopg.Connection, where: Clause | None, score: Scorer, sort: str, offset: int, limit: int
) -> list[tuple[str, float | None, float | None]]:
    """The ids, scores and day numbers (search.recency) of one page of matches,
    by relevance or by date."""
    if where is None or limit <= 0:
        return []
    if sort == "relevance":
        sql = (
            f"SELECT id, {score.sql} AS score, date FROM articles WHERE {where.sql} "
            "ORDER BY score DESC, id LIMIT %s OFFSET %s"
        )
        params = score.params + where.params + (limit, offset)
    else:
        sql = (
            f"SELECT id, NULL, date FROM articles WHERE {where.sql} "
            f"ORDER BY {ORDERS[sort]} LIMIT %s OFFSET %s"
        )
        params = where.params + (limit, offset)
    return [(row[0], row[1], day_number(row[2])) for row in conn.execute(sql, params)]


_FACETS = """
WITH m AS MATERIALIZED (SELECT author_key, author, category_key, category, date FROM articles WHERE {where})
SELECT 'author', author_key, min(author COLLATE "C"), count(*) FROM m
    WHERE author_key != '' GROUP BY author_key
UNION ALL
SELECT 'category', category_key, min(category COLLATE "C"), count(*) FROM m
    WHERE category_key != '' GROUP BY category_key
UNION ALL
SELECT 'year', extract(year FROM date)::int::text, NULL, count(*) FROM m
    WHERE date IS NOT NULL GROUP BY 2
"""


def _facets(conn: psycopg.Connection, where: Clause | None) -> dict[str, list[dict]]:
    """Authors and categories (most frequent first, at most FACET_SIZE) and years, as whoosh gives them."""
    out: dict[str, list[dict]] = {"author": [], "category": [], "year": []}
    if where is None:
        return out
    rows: dict[str, list[tuple[str, str | None, int]]] = {"author": [], "category": [], "year": []}
    for name, key, shown, n in conn.execute(_FACETS.format(where=where.sql), where.params):
        rows[name].append((key, shown, n))
    for name in ("author", "category"):
        top = sorted(rows[name], key=lambda r: (-r[2], r[0]))[:FACET_SIZE]
        out[name] = [{"value": shown or key, "count": n} for key, shown, n in top]
    out["year"] = [{"value": int(y), "count": n} for y, _, n in sorted(rows["year"], key=lambda r: int(r[0]))]
    return out
