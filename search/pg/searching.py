"""Running a parsed query in PostgreSQL: the same steps as search.whoosh_sqlite.searching.

All terms first; when fewer than FILL_BELOW hold them all (whatever the
sort and the page), the articles holding some of the words follow, more
and rarer words first (by date, each group by date). No words: the
filters alone, newest first. Counts are over the filtered matches, facets
one GROUP BY statement in which each facet leaves its own filter out
(disjunctive); only the page's articles are read back, and their snippets
come from the shared snippet code.

Relevance: each word group of the query scores BM25 built on PostgreSQL's
own ranking function: ts_rank of the group over the weighted vector (title
A, subtitle B, body D), read as a term frequency, saturated and normalised
by the vector's length against the archive's mean (Ranking.k1, b; the
lengths PostgreSQL keeps since migration 8), times the idf read from the
vocabulary table; a word with alternatives scores as the best of them.

With the recency boost (relevance sort only), whole windows of the ranking
are fetched with their dates and rescored by the shared search.recency;
all-terms matches stay above partial ones, and every page cuts the same
windows.

With the semantic extra (search.pg.vectors) and no article holding every
word, the fallback's first RERANK_DEPTH are re-ordered by meaning as well
(after the recency boost, as in the whoosh engine), and pages are cut from
that order.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import NamedTuple

import psycopg
from whoosh import query as wq

from ..analysis import normalize_key
from ..filters import FILTER_KINDS
from ..folding import fold_ranking
from ..graded import BestOf, loose_groups
from ..queryparse import ParsedQuery, QueryError
from ..ranking import Ranking
from ..recency import boost_windows, day_number, window_limit
from ..results import (
    Filters,
    Hit,
    SearchRequest,
    SearchResult,
    blends_partial,
    display_name,
    joins_partial,
    one_year,
)
from . import rum, store
from .connection import STATEMENT_TIMEOUT_MS
from .sqlquery import (
    Clause,
    all_of,
    any_of,
    compile_query,
    filter_clauses,
    groups_of,
    lexemes_of,
    none_of,
    positive_nodes,
    text_clause,
)
from .vectors import RERANK_DEPTH, Rerank
from .vocabulary import VocabularyReader

DEFAULT_RANKING = Ranking()
# Ties of relevance by id, in code points (as Python compares them: _pruned merges rankings).
BY_ID = 'id COLLATE "C"'

# Wall seconds the ranking of the partial matches may take (each of its
# statements gets what is left as its statement_timeout): past them they
# are listed newest first (SearchResult.cut), as the whoosh engine lists
# them past its 0.35 s of CPU (search.whoosh_sqlite.searching.TIME_LIMIT).
# Wall time, since the server's work is not this thread's CPU time, and
# more of it: PostgreSQL ranks a match in ~30-50 us, several times whoosh.
# At 0.35 s, 20 of the 150 dev queries at 100k articles were cut (their
# p95 with facets 826 -> 501 ms) and the hard queries at 20k lost MRR@10
# 0.016 (0.887 -> 0.871, the machine idle); at 1 s, 1 at 100k and none at
# 20k. Wall time grows with the load: 8 searches at once on the 2-core
# machine had 82 of 300 cut at 1 s (p95 3.6 -> 1.8 s). Before, a ranking
# past the 10 s statement timeout refused the search.
# ARCHIVIO_PG_RANKING_SECONDS sets it per archive (search.pg.archive).
RANKING_SECONDS = 1.0

ORDERS = {"newest": "date DESC NULLS LAST, id", "oldest": "date ASC NULLS LAST, id"}


@dataclass
class Scorer:
    """The SQL of a relevance score over some word groups."""

    sql: str
    params: tuple
    # What bounds the score (None: nothing does, with ts_rank's own
    # normalisation): each word group and thesaurus bonus, the most it can
    # add (BM25 saturates at k1 + 1 per term), and the coordination
    # exponent over the n word groups.
    groups: tuple[GroupBound, ...] | None = None
    exponent: float = 0.0
    n: int = 0

    def bound(self, held: Sequence[GroupBound]) -> float:
        """The most an article holding only these groups can score."""
        words = [g.bound for g in held if g.coordinated]
        related = sum(g.bound for g in held if not g.coordinated)
        return (sum(words) * (len(words) / self.n) ** self.exponent if words else 0.0) + related


@dataclass(frozen=True)
class GroupBound:
    """A word group of a score: the articles it ranks above 0 (None: not
    expressible as a text match), the most it adds to a score, and at most
    how many articles hold it (the sum of its lexemes' frequencies)."""

    holding: Clause | None
    bound: float
    size: int
    # A word group (under the coordination factor), or a thesaurus bonus.
    coordinated: bool = True


def idf(reader: VocabularyReader, q: wq.Query) -> float:
    """BM25's idf of a word group: a phrase is as rare as its rarest word,
    alternatives (synonyms, typo fixes) as common as their commonest."""
    lexemes = lexemes_of(q)
    if not lexemes:
        return 0.0
    df = (min if isinstance(q, wq.Phrase) else max)(_frequencies(reader, lexemes), default=0)
    return math.log(1 + (max(reader.doc_count(), 1) - df + 0.5) / (df + 0.5))


def _frequencies(reader: VocabularyReader, lexemes: Sequence[tuple[str, str]]) -> list[int]:
    """The document frequencies of (field, term) lexemes, those found."""
    return [
        n
        for fieldname in ("text", "exact")
        for n in reader.doc_frequencies(fieldname, [t for f, t in lexemes if f == fieldname]).values()
        if n
    ]


@dataclass
class _Relevance:
    """One word group's relevance: its SQL, the most it adds (None: no
    bound) and the (vector, tsquery) pairs it ranks."""

    sql: str
    params: list
    bound: float | None
    ranked: list[tuple[str, str]]


def scorer(
    reader: VocabularyReader,
    groups: list[wq.Query],
    bonus: float = 0.0,
    exponent: float = 0.0,
    ranking: Ranking = DEFAULT_RANKING,
    related: wq.Query | None = None,
) -> Scorer:
    """The score of the word groups' relevance (_relevance); in the
    fallback (`bonus`), plus `bonus` times the idf of each group held, and
    times the coordination factor (m / n) ** `exponent` of a row holding m
    of the n groups (search.graded, as the whoosh engine ranks them)."""
    every = [*groups, *(related.subqueries if related is not None else ())]
    reader.prefetch(lexeme for group in every for lexeme in lexemes_of(group))
    parts: list[str] = []
    params: list = []
    held: list[str] = []
    held_params: list = []
    bounds: list[GroupBound] | None = []
    for group in groups:
        clause = compile_query(group)
        if clause is None or clause.ts is None:
            continue
        weight = idf(reader, group)
        relevance = _relevance(reader, group, ranking)
        if relevance is None:
            continue
        parts.append(relevance.sql)
        params += relevance.params
        if bonus:
            parts.append(f"%s * coalesce(({clause.sql}), FALSE)::int")
            params += [weight * bonus, *clause.params]
        if exponent:
            held.append(f"coalesce(({clause.sql}), FALSE)::int")
            held_params += clause.params
        if bounds is not None and relevance.bound is not None:
            size = _held_by(reader, relevance.ranked)
            bounds.append(GroupBound(_holding(relevance.ranked), relevance.bound + weight * bonus, size))
        else:
            bounds = None
    if not parts:
        return Scorer("0.0", ())
    sql = "(" + " + ".join(parts) + ")::float8"
    if held:
        sql = f"{sql} * power(({' + '.join(held)})::float8 / %s, %s)"
        params += [*held_params, len(groups), exponent]
    # The thesaurus bonus (ParsedQuery.related), outside the coordination:
    # each word's synonyms as one tsquery, at Ranking.thesaurus_weight.
    for group in related.subqueries if related is not None else ():
        clause = compile_query(group)
        if clause is not None and clause.ts is not None:
            weight = idf(reader, group) * ranking.thesaurus_weight
            rank = _rank_sql(reader, ranking, clause.column, clause.ts, weight)
            sql += f" + {rank.sql}"
            params += rank.params
            if bounds is not None and rank.bound is not None:
                held, size = _holding(rank.ranked), _held_by(reader, rank.ranked)
                bounds.append(GroupBound(held, rank.bound, size, coordinated=False))
            else:
                bounds = None
    return Scorer(sql, tuple(params), tuple(bounds) if bounds else None, exponent, len(groups))


def _relevance(reader: VocabularyReader, group: wq.Query, ranking: Ranking) -> _Relevance | None:
    """The relevance of one word group: BM25 over ts_rank (_rank_sql) of its
    stems, plus its form as typed; a word with alternatives (graded.BestOf:
    synonyms, close spellings) scores as the best of them, each by its own
    idf and boost, as the whoosh engine's BestOf does. (One ts_rank of their
    OR would average the alternatives: ts_rank divides an OR's score by its
    count of lexemes, so a word with three synonyms weighed a third of one without.)"""
    if isinstance(group, BestOf) and len(group.subqueries) > 1:
        alternatives = [a for a in (_relevance(reader, alt, ranking) for alt in group.subqueries) if a]
        if not alternatives:
            return None
        sql = "greatest(" + ", ".join(a.sql for a in alternatives) + ")"
        params = [p for a in alternatives for p in a.params]
        bounds = [a.bound for a in alternatives]
        bound = None if None in bounds else max(bounds) * group.boost  # type: ignore[type-var]
        if group.boost != 1.0:
            sql, params = f"%s * {sql}", [group.boost, *params]
        return _Relevance(sql, params, bound, [r for a in alternatives for r in a.ranked])
    clause = compile_query(group)
    if clause is None or clause.ts is None:
        return None
    rank = _rank_sql(reader, ranking, clause.column, clause.ts, idf(reader, group) * group.boost)
    forms = _forms_as_typed(group, reader) if clause.column == "tsv" else None
    if forms is None:
        return rank
    # The word as typed, on the unstemmed vector: the whoosh engine adds its
    # `exact` term's score too (Ranking.exact_form_boost), by the typed
    # form's own idf: a rare word whose stem is common ("maggi", stem of
    # "maggio") is told apart by its form, which the stem's idf made weigh little.
    ts, boost, exact_idf = forms
    typed = _rank_sql(reader, ranking, "tsv_exact", ts, exact_idf * group.boost * boost)
    bound = rank.bound + typed.bound if rank.bound is not None and typed.bound is not None else None
    return _Relevance(
        f"({rank.sql} + {typed.sql})", rank.params + typed.params, bound, rank.ranked + typed.ranked
    )


def _rank_sql(reader: VocabularyReader, ranking: Ranking, column: str, ts: str, weight: float) -> _Relevance:
    """`weight` x the relevance of `ts` in `column`. pg_bm25 off: ts_rank
    with the Ranking's normalisation. On: BM25's saturation and length
    normalisation (k1, b) over ts_rank's term weight read as a term
    frequency (one body occurrence = 1, a title one = A/D), the vector's
    length in positions (migration 8) against the archive's mean. ts_rank
    alone normalises by 1 + log(length), far weaker than b = 0.75 (a
    32-word article against a 190-word one: 1.4x, BM25 ~3x), and never
    saturates a title match (10x a body match; a BM25F title field ~2x):
    dev MRR@10 0.975 -> 0.987, hard 0.824 -> 0.887 at 20k articles.
    BM25 never exceeds weight x (k1 + 1): the bound."""
    weights = list(ranking.pg_weights)
    if not ranking.pg_bm25:
        sql = f"%s * ts_rank(%s::float4[], {column}, %s::tsquery, %s)"
        return _Relevance(sql, [weight, weights, ts, ranking.pg_rank_normalization], None, [(column, ts)])
    # ts_rank without normalisation of one occurrence of weight w: w / 1.6449.
    unit = weights[0] / 1.64493406685
    k1, b = ranking.k1, ranking.b
    average = reader.average_length(column) or 1.0
    # (k1 + 1) t / (t + k1 (1 - b + b dl / avgdl)), t = rank / unit,
    # = (k1 + 1) / (1 + (k1 unit (1 - b) + k1 unit b / avgdl * dl) / rank).
    return _Relevance(
        f"%s * coalesce(1.0 / (1.0 + (%s + %s * {column}_length) "
        f"/ nullif(ts_rank(%s::float4[], {column}, %s::tsquery, 0), 0)), 0)",
        [weight * (k1 + 1), k1 * unit * (1 - b), k1 * unit * b / average, weights, ts],
        weight * (k1 + 1),
        [(column, ts)],
    )


# A quoted lexeme of a tsquery (textprep.quoted: quotes and backslashes doubled).
_LEXEME = re.compile(r"'(?:[^']|'')*'")
# The fields whose document frequencies the vocabulary keeps, per vector.
_FIELD_OF = {"tsv": "text", "tsv_exact": "exact"}


def _holding(ranked: Sequence[tuple[str, str]]) -> Clause | None:
    """The articles whose ts_rank of any of these (vector, tsquery) pairs
    can be above 0; None for a prefix (its words are not lexemes of the
    vector). ts_rank ignores weight labels (`x:A` ranks `x` in a body) and
    the query's nesting: under an OR at the top it sums every lexeme found
    (calc_rank_or), under an AND or a phrase at the top it scores pairs of
    distinct lexemes found (calc_rank_and), and an article with fewer than
    two of them gets 1e-20, which BM25 makes ~1e-19: below _pruned's margin.
    So a phrase is held by the articles holding two of its lexemes, not any
    one: "92 anni" (a number word's alternative) was held by every article
    saying "anni", 36,604 of 100,000, and made a ranking of 2,700 expected
    articles rank 24,691 (1.35 s)."""
    clauses = []
    for column, ts in ranked:
        lexemes = list(dict.fromkeys(_LEXEME.findall(ts)))
        if not lexemes or "*" in _LEXEME.sub("", ts):
            return None
        if len(lexemes) > 1 and _ranks_pairs(ts):
            held = " | ".join(f"({a} & {b})" for a, b in combinations(lexemes, 2))
        else:
            held = " | ".join(lexemes)
        clauses.append(text_clause(held, column))
    return any_of(clauses)


def _ranks_pairs(ts: str) -> bool:
    """Whether ts_rank scores `ts` by pairs of lexemes: its top operator
    (outside parentheses; precedence ! <-> & |) is an AND or a phrase."""
    bare = _LEXEME.sub("x", ts).strip()
    while bare.startswith("(") and _closing(bare, 0) == len(bare) - 1:
        bare = bare[1:-1].strip()
    depth, top = 0, set()
    for char in bare:
        depth += (char == "(") - (char == ")")
        if depth == 0 and char in "|&<":
            top.add(char)
    return "|" not in top and bool(top)


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at `start`."""
    depth = 0
    for i in range(start, len(text)):
        depth += (text[i] == "(") - (text[i] == ")")
        if depth == 0:
            return i
    return -1


def _held_by(reader: VocabularyReader, ranked: Sequence[tuple[str, str]]) -> int:
    """About how many articles _holding's clause holds: per vector, the
    frequencies of its lexemes summed (of a pair-scored tsquery, all but
    the commonest: an article with two of them has one of the rarer ones);
    the larger of the two vectors' sums, as a word's form as typed is
    mostly in the articles holding its stem."""
    sizes = dict.fromkeys(_FIELD_OF.values(), 0)
    for column, ts in ranked:
        field = _FIELD_OF.get(column)
        if field is None:
            continue
        lexemes = [_unquoted(t) for t in dict.fromkeys(_LEXEME.findall(ts))]
        counts = sorted(reader.doc_frequencies(field, lexemes).values())
        if len(counts) > 1 and _ranks_pairs(ts):
            counts = counts[:-1]
        sizes[field] += sum(counts)
    return max(sizes.values())


def _unquoted(lexeme: str) -> str:
    return lexeme[1:-1].replace("''", "'").replace("\\\\", "\\")


def _forms_as_typed(group: wq.Query, reader: VocabularyReader) -> tuple[str, float, float] | None:
    """The tsquery of a word group's words as written (its `exact` terms
    beside the stems), their weight and their idf; None when it has none."""
    terms = [t for t in positive_nodes(group) if isinstance(t, wq.Term) and t.fieldname == "exact"]
    clauses = [c for c in (compile_query(t) for t in terms) if c is not None and c.ts]
    if not clauses:
        return None
    return " | ".join(f"({c.ts})" for c in clauses), max(t.boost for t in terms), idf(reader, wq.Or(terms))


def run(
    conn: psycopg.Connection,
    reader: VocabularyReader,
    parsed: ParsedQuery | None,
    request: SearchRequest,
    ranking: Ranking,
    by_meaning: Rerank | None = None,
    budget: float = RANKING_SECONDS,
) -> SearchResult:
    """search.whoosh_sqlite.searching.run's semantics in SQL: the totals and facets depend
    on the query and the filters only; `parsed` None is browsing. `by_meaning`
    (search.pg.vectors.reranker) re-orders the fallback's first RERANK_DEPTH
    (article id, score) pairs when no article in scope holds every word.
    `budget`: wall seconds for ranking the partial matches (RANKING_SECONDS)."""
    filters, sort, page, per_page = request.filters, request.sort, request.page, request.per_page
    facets, recency, facet_limit = request.facets, request.recency, request.facet_limit
    started = time.perf_counter()
    offset, wanted = (page - 1) * per_page, page * per_page
    order = sort if parsed is not None or sort != "relevance" else "newest"
    boost = recency and order == "relevance" and ranking.recency_weight > 0
    indexed = Clause("tsv IS NOT NULL", ())
    parts = filter_clauses(filters, reader)
    scope = all_of([indexed, *parts.values()])
    counts = _Counts(conn, stories=request.fold)
    try:
        if parsed is None:
            strict: Clause | None = indexed
        else:
            # Every text test has its index; the planner prices testing it on
            # each row like any filter, not as the read of a compressed vector
            # it is (~12 us a row), and chose reading the whole table for
            # matches of 40% of it: 1.28 s where the index took ~60 ms.
            conn.execute("SET LOCAL enable_seqscan = off")
            strict = compile_query(parsed.strict)
            if parsed.refine is not None:
                refined = parsed.refine(
                    lambda q: counts.of(_within(scope, q)), counts.of(_within(scope, parsed.strict)) > 0
                )
                if refined.strict is not parsed.strict:  # respelled
                    strict = compile_query(refined.strict)
                parsed = refined
        strict_where = all_of([scope, strict]) if strict is not None else None
        # Browsing: the counts kept per (author, category, day) (migration 9).
        exact_total = counts.of(strict_where) if parsed is not None else _count_browsed(conn, parts)
        # Only a fallback is re-ordered by meaning: an article holding every word keeps today's ranking.
        meaning = by_meaning if order == "relevance" and exact_total == 0 else None
        groups = groups_of(parsed.strict) if parsed is not None else []
        matched = all_of([indexed, strict]) if strict is not None else None
        matched_in_scope = strict_where
        total = exact_total
        loose = compile_query(parsed.loose) if parsed is not None and parsed.loose is not None else None
        partial: Clause | None = None
        if parsed is not None and loose is not None and joins_partial(ranking, parsed, exact_total):
            partial = all_of([scope, loose] + ([none_of(strict)] if strict is not None else []))
            # The partial matches counted as all matches less the all-words ones:
            # the index answers both, where the NOT of the all-words query made
            # PostgreSQL test each row (0.84 s for 27k matches at 100k articles).
            # The words alone are all the matches: the query builder makes the
            # loose query of the strict one (QueryBuilder.loosen: its positive
            # clauses OR-ed, less its negatives), so every all-words match holds
            # some word. An OR of words the index answers whole, where OR-ing
            # the all-words query had every candidate row tested (0.44 s for 29k).
            matched, matched_in_scope = all_of([indexed, loose]), all_of([scope, loose])
        facet_values, sizes = {}, {}
        if facets and parsed is not None:
            # The facets' statement visits every match in scope: it counts them too.
            facet_values, sizes, in_scope = _facets(conn, matched, parts, filters, facet_limit)
            if matched_in_scope is not None:
                counts.know(matched_in_scope, in_scope)
        if partial is not None:
            total = counts.of(matched_in_scope)
        # Many matches: rank a pool of them, the best by RUM's rank (search.pg.rum).
        many = max(exact_total, total - exact_total) > rum.POOL_ABOVE
        pools = order == "relevance" and many and rum.has_index(conn)
        loose_clauses = [compile_query(g) for g in loose_groups(parsed.loose)] if pools and loose else []
        if partial is not None and order == "relevance":
            # The thesaurus bonus built (its first read from disk: ~0.25 s,
            # a large one ~1 s) before the ranking budget starts.
            _ = parsed.related  # type: ignore[union-attr]
        ranks = _Ranks(
            conn,
            reader,
            parsed,
            ranking,
            order,
            boost,
            meaning,
            request.text,
            groups,
            exact_total,
            strict_where,
            partial,
            _pool(strict, scope, exact_total) if pools else None,
            _pool(loose, scope, total - exact_total, exact_total, [c for c in loose_clauses if c is not None])
            if pools and partial is not None
            else None,
            total - exact_total,
            time.monotonic() + budget,
        )
        stories = None
        if request.fold:
            stories = counts.stories(matched_in_scope, total)
            ranked = fold_ranking(ranks.from_top, lambda r: _story_labels(conn, r), wanted, total)
            shown = ranked[offset:wanted]
        else:
            # With the boost, whole windows are ranked from the top, so that every page cuts
            # the same ones; by meaning, the first RERANK_DEPTH at least, from the top too.
            whole = boost or meaning is not None
            shown = ranks.from_top(wanted)[offset:wanted] if whole else ranks.ranked(offset, per_page)
        if facets and parsed is None:
            facet_values, sizes, _ = _facets(conn, matched, parts, filters, facet_limit, browsing=True)
    except psycopg.errors.QueryCanceled:
        raise QueryError(
            "La ricerca è troppo onerosa: usa meno parole, o parole meno comuni, "
            "oppure restringi con i filtri."
        ) from None
    articles = store.get_many(conn, [i for i, _, _ in shown])
    highlight = parsed.highlight if parsed is not None else None
    hits = [Hit.of(articles[i], score, highlight, exact) for i, score, exact in shown if i in articles]
    return SearchResult.answer(
        parsed,
        request,
        hits,
        total,
        exact_total,
        facet_values,
        sizes,
        started,
        order,
        cut=ranks.cut,
        stories=stories,
    )


@dataclass
class _Ranks:
    """One search's ranking: the matches from rank `first`, `limit` of
    them, as (id, score, holds every word)."""

    conn: psycopg.Connection
    reader: VocabularyReader
    parsed: ParsedQuery | None
    ranking: Ranking
    order: str
    boost: bool
    meaning: Rerank | None
    text: str
    groups: list[wq.Query]
    exact_total: int
    strict_where: Clause | None
    # The articles holding only some of the words, when they join (None: they don't).
    partial: Clause | None
    # The candidates ranked of the all-words and of the partial matches,
    # from the RUM index (None: every match is ranked).
    strict_pool: _Pool | None = None
    partial_pool: _Pool | None = None
    # How many articles hold only some of the words.
    partial_total: int = 0
    # When the ranking of the partial matches must end (time.monotonic;
    # None: no budget), and whether it did not (SearchResult.cut).
    deadline: float | None = None
    cut: bool = False

    def from_top(self, depth: int) -> list[tuple[str, float | None, bool]]:
        """The first `depth` matches at least (RERANK_DEPTH by meaning, whole
        windows with the recency boost), from the top."""
        depth = max(depth, RERANK_DEPTH) if self.meaning else depth
        return self.ranked(0, window_limit(depth) if self.boost else depth)

    def ranked(self, first: int, limit: int) -> list[tuple[str, float | None, bool]]:
        conn, reader, parsed, ranking, order = self.conn, self.reader, self.parsed, self.ranking, self.order
        exact_total, groups = self.exact_total, self.groups
        strict_where, partial, strict_pool = self.strict_where, self.partial, self.strict_pool
        own = scorer(reader, groups, ranking=ranking)
        weight = ranking.pg_partial_weight
        blended = (
            partial is not None
            and order == "relevance"
            and exact_total > 0
            and blends_partial(weight, parsed)  # type: ignore[arg-type]
        )
        # Blended, the all-words articles are ranked from the top below.
        ranked = [] if blended else _top(conn, strict_where, own, order, first, limit, strict_pool)
        exact_ranked = len(ranked)
        exact_ids: set[str] = set()
        if self.partial is not None:
            assert parsed is not None and parsed.loose is not None
            loose_groups_ = loose_groups(parsed.loose)
            related = parsed.related
            bonus, exponent = ranking.pg_group_bonus, ranking.coord_exponent
            if blended:
                # One ranking (searching.run of the whoosh engine): the first
                # first + limit of each group, merged; an all-words article keeps
                # its own score (the phrase and proximity groups of the strict
                # query), a partial one is scored by relevance times coordination,
                # scaled (Ranking.pg_partial_weight): the per-group bonus would
                # put every article holding more groups first whatever its relevance.
                alike = scorer(reader, loose_groups_, 0.0, exponent, ranking, related)
                ranked = _top(conn, strict_where, own, order, 0, first + limit, strict_pool)
                some = self._partial(alike, 0, first + limit)
                exact_ids = {i for i, _, _ in ranked}
                if self.cut:  # the all-words articles ranked, then the others newest first
                    ranked, exact_ranked = (
                        (ranked + some)[first : first + limit],
                        min(limit, max(0, len(ranked) - first)),
                    )
                else:
                    merged = ranked + [(i, s * weight if s is not None else s, d) for i, s, d in some]
                    ranked = sorted(merged, key=lambda row: -(row[1] or 0.0))[first : first + limit]
                    exact_ranked = len(ranked)
            else:
                score = scorer(reader, loose_groups_, bonus, exponent, ranking, related)
                skip = max(0, first - exact_total)
                count = first + limit - exact_total - skip
                ranked += self._partial(score, skip, count)
        if self.boost:
            weight, half_life = ranking.recency_weight, ranking.recency_half_life_days
            pages = boost_windows(ranked[:exact_ranked], weight, half_life)
            pages += boost_windows(ranked[exact_ranked:], weight, half_life)
        else:
            pages = [(i, score) for i, score, _ in ranked]
        if self.meaning and pages and not self.cut:  # no article holds every word, some hold some
            pages = _reranked(pages, self.meaning, self.text)
        # `pages` starts at rank `first`: the page itself, or the top.
        if blended:  # the articles with every word anywhere in the list
            return [(i, score, i in exact_ids) for i, score in pages]
        return [(i, score, first + n < exact_total) for n, (i, score) in enumerate(pages)]

    def _partial(
        self, score: Scorer, offset: int, limit: int
    ) -> list[tuple[str, float | None, float | None]]:
        """`limit` partial matches from rank `offset`, ranked within the
        search's budget (RANKING_SECONDS, as the whoosh engine ranks them
        within its own); past it, and for any deeper ranking after, newest first
        (SearchResult.cut: the page says they are not ranked; the counts are
        whole). At 100k articles a ranking of 50,000 partial matches took
        1-2 s; the page then waited for it."""
        conn, partial = self.conn, self.partial
        if not self.partial_total:  # none in scope: nothing to rank, nothing cut
            return []
        if self.order == "relevance" and not self.cut:
            try:
                with conn.transaction():  # a savepoint: a cancelled statement leaves the search's own
                    return _top(
                        conn,
                        partial,
                        score,
                        self.order,
                        offset,
                        limit,
                        self.partial_pool,
                        self.partial_total,
                        self.deadline,
                    )
            except psycopg.errors.QueryCanceled:
                if self.deadline is None or time.monotonic() < self.deadline:
                    raise  # the statement timeout of any search, not the budget
            self.cut = True
        order = "newest" if self.cut else self.order
        return _top(conn, partial, score, order, offset, limit)


@dataclass(frozen=True)
class _Pool:
    """The candidates a relevance ranking ranks (search.pg.rum): for each
    (tsquery, size) of `queries`, the first `size` articles of `scope`
    holding the tsquery by RUM's rank of it."""

    scope: Clause
    queries: tuple[tuple[str, int], ...]

    def sql(self) -> tuple[str, tuple]:
        """The SELECT of the candidates' ids and its parameters."""
        ranked, parts, params = rum.RANKED, [], []
        for ts, size in self.queries:
            parts.append(
                f"(SELECT id FROM articles WHERE {ranked} @@ %s::tsquery AND {self.scope.sql} "
                f"ORDER BY {ranked} <=> %s::tsquery LIMIT %s)"
            )
            params += [ts, *self.scope.params, ts, size]
        return " UNION ".join(parts), tuple(params)


def _pool(
    text: Clause | None, scope: Clause, matches: int, besides: int = 0, groups: Sequence[Clause] = ()
) -> _Pool | None:
    """The pool of the articles of `scope` matching `text`, when `matches`
    of them are to be ranked, past rum.POOL_ABOVE (and the pool), and the
    text has a tsquery on the stems without a negation (a NOT makes RUM
    scan its whole index). The pool is found by that tsquery, which can
    leave out an alternative on the words as written (most of them have
    their stem too): the ranking keeps only the pool's articles that match
    `text`. `besides` more are taken for the matches of `text` left out
    after (the all-words ones, for the partial matches). `groups`: the
    word groups of a partial matches' query, of which the best articles
    hold the most: RUM's rank has no idf, and the best by any word of
    five common ones missed articles holding three of them, so the pool
    is the best holding two groups or more, then the best holding any.
    None: rank every match."""
    few = matches <= max(rum.POOL_ABOVE, rum.POOL)
    if few or text is None or text.ts is None or text.column != "tsv" or "!" in text.ts:
        return None
    size = rum.POOL + min(besides, rum.POOL)
    stems = [g.ts for g in groups if g.ts is not None and g.column == "tsv" and "!" not in g.ts]
    if len(stems) < 3:
        return _Pool(scope, ((text.ts, size),))
    pairs = " | ".join(f"({a}) & ({b})" for n, a in enumerate(stems) for b in stems[n + 1 :])
    return _Pool(scope, ((pairs, size), (text.ts, size // 2)))


class _Counts:
    """One search's counts of matches, each statement run once: the query
    builder's first test of the words (QueryBuilder.refine) is the
    all-words count itself. With `stories` (folded copies), a count also
    counts the matches sharing a story and their stories, from the rows it
    visits anyway (a count of a GIN bitmap visits every match's heap page):
    one statement where counting the stories apart took ~13 ms a search
    at 100k articles."""

    def __init__(self, conn: psycopg.Connection, stories: bool) -> None:
        self.conn, self.with_stories = conn, stories
        self.known: dict[str, tuple[int, int, int]] = {}

    def of(self, where: Clause | None) -> int:
        return self._counted(where)[0] if where is not None else 0

    def stories(self, where: Clause | None, total: int) -> int:
        """How many stories the `total` matching articles of `where` tell:
        those sharing their story (search.stories) counted once per story."""
        if where is None or not total:
            return total
        if _key(where) in self.known:
            _, shared, told = self.known[_key(where)]
        else:  # not counted (browsing): the matches sharing a story, by the partial index on them
            sql = (
                "SELECT count(*), count(DISTINCT shared_story) FROM articles "
                f"WHERE shared_story IS NOT NULL AND {where.sql}"
            )
            shared, told = self.conn.execute(sql, where.params).fetchone()
        return total - shared + told

    def know(self, where: Clause, counted: tuple[int, int, int]) -> None:
        """`where`'s count, its matches sharing a story and their stories,
        counted by another statement (the facets')."""
        self.known.setdefault(_key(where), counted)

    def _counted(self, where: Clause) -> tuple[int, int, int]:
        if _key(where) not in self.known:
            self.known[_key(where)] = self._count(where)
        return self.known[_key(where)]

    def _count(self, where: Clause) -> tuple[int, int, int]:
        if not self.with_stories:
            return _count(self.conn, where), 0, 0
        sql = (
            "SELECT count(*), count(*) FILTER (WHERE shared_story IS NOT NULL), "
            f"count(DISTINCT shared_story) FROM articles WHERE {where.sql}"
        )
        return self.conn.execute(sql, where.params).fetchone()


def _key(where: Clause) -> str:
    """A clause's identity as a statement: its SQL and parameters (lists among them)."""
    return repr((where.sql, where.params))


def _story_labels(
    conn: psycopg.Connection, ranked: Sequence[tuple[str, float | None, bool]]
) -> Callable[[tuple[str, float | None, bool]], str]:
    """Each ranked article's story (its own id when it has none yet)."""
    ids = list({i for i, _, _ in ranked})
    told = dict(conn.execute("SELECT id, story FROM stories WHERE id = ANY(%s)", (ids,)).fetchall())
    return lambda row: told.get(row[0], row[0])


def _reranked(
    ranked: list[tuple[str, float | None]], by_meaning: Rerank, text: str
) -> list[tuple[str, float | None]]:
    """The first RERANK_DEPTH articles re-ordered by `by_meaning`; the rest as they were."""
    head, rest = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
    return [*by_meaning(text, [(i, score or 0.0) for i, score in head]), *rest]


def _within(scope: Clause, q: wq.Query) -> Clause | None:
    clause = compile_query(q)
    return all_of([scope, clause]) if clause is not None else None


def _count(conn: psycopg.Connection, where: Clause | None) -> int:
    if where is None:
        return 0
    return conn.execute(f"SELECT count(*) FROM articles WHERE {where.sql}", where.params).fetchone()[0]


def _count_browsed(conn: psycopg.Connection, parts: dict[str, Clause]) -> int:
    """How many indexed articles pass the filters, from facet_counts (every
    filter tests its columns only: author_key, category_key, date)."""
    where = all_of(list(parts.values())) or TRUE
    sql = f"SELECT coalesce(sum(n), 0) FROM facet_counts WHERE {where.sql}"
    return int(conn.execute(sql, where.params).fetchone()[0])


# Past this many matches, a relevance ranking first ranks the articles
# holding its rarest words alone (_pruned): those of a quarter of the
# matches at most, then of half. At 100k articles (the dev corpus x5, the
# 150 dev queries), 45 of 85 rankings of so many matches were proved so,
# and ranking took 28% less time in all (attempts that proved nothing
# included); at 20k, about as much as without (5,000 matches are rarer
# there). Shares of (8, 4) proved fewer and saved 22%.
PRUNE_ABOVE = 5_000
PRUNE_SHARES = (4, 2)


class Pruned(NamedTuple):
    """A page ranked by _pruned, and whether the bounds proved it from the
    articles of the chosen groups alone (else the others were ranked too)."""

    page: list[tuple[str, float | None, float | None]]
    proved: bool


def _pruned(
    conn: psycopg.Connection,
    where: Clause,
    score: Scorer,
    offset: int,
    limit: int,
    matches: int,
    deadline: float | None = None,
) -> Pruned | None:
    """The page of _top's ranking by relevance, from the articles holding
    the word groups that can score the most, when that proves it whole
    (MaxScore's argument); None when there is nothing to try (no group
    with a bound, or the rarest held by too many). BM25 bounds what each group
    adds (Scorer.groups): an article holding none of the chosen groups
    scores at most the bound of all the others together; when the k-th best
    of the chosen groups' articles scores more, no other article reaches
    the page. The rarest words have the highest bounds (idf) and the fewest
    articles: "morto 92enne casa di riposo cercemaggiore" ranked 50,000
    partial matches where the articles holding "92enne" or "cercemaggiore"
    settle the first ten. First the groups of the highest bounds held by
    matches // PRUNE_SHARES[0] articles at most. Then, while their k-th
    best (a floor of the k-th best of any wider choice) does not prove the
    page, the fewest more articles that do: the added groups held by the
    fewest articles whose others' bound is below it (a thesaurus bonus of
    a few hundred articles rather than a common word), ranked apart and
    merged; or, with fewer than k candidates, the next group. Past
    matches // PRUNE_SHARES[1] articles, the page is not proved: the
    articles holding none of the chosen groups are ranked apart and merged
    (the page of every match, those ranked already not ranked again: at
    100k articles, "trieste servizi demografici chiusi contagio" spent 227
    ms on the chosen groups and 370 ms on every match)."""
    order = sorted((g for g in score.groups or () if g.holding is not None), key=lambda g: -g.bound)
    if not order:
        return None
    depth = offset + limit

    def others(chosen: Sequence[GroupBound]) -> float:  # the bound of the groups not chosen
        return score.bound([g for g in score.groups or () if all(g is not c for c in chosen)])

    chosen = order[:1]
    for group in order[1:]:
        if _size(chosen) + group.size > matches // PRUNE_SHARES[0]:
            break
        chosen.append(group)
    if _size(chosen) > matches // PRUNE_SHARES[0]:
        return None
    ranked = _ranked_holding(conn, where, score, chosen, [], depth, deadline)
    while True:
        if len(ranked) >= depth:
            # Scores are float8 sums of float4 ranks: a margin for their rounding.
            least = (ranked[-1][1] or 0.0) - 1e-6 * max(1.0, abs(ranked[-1][1] or 0.0))
            if others(chosen) < least:
                return Pruned(ranked[offset:], True)
            wider = _widening(order, chosen, lambda c: others(c) < least)  # noqa: B023
        else:
            rest = [g for g in order if all(g is not c for c in chosen)]
            wider = chosen + rest[:1] if rest else None
        if wider is None or _size(wider) > matches // PRUNE_SHARES[1]:
            # Not proved: the other matches ranked apart and merged, rather than
            # every match ranked again (those holding the chosen groups too).
            ranked += _ranked_holding(conn, where, score, [], chosen, depth, deadline)
            return Pruned(_merged(ranked, depth)[offset:], False)
        added = wider[len(chosen) :]
        ranked = _merged(ranked + _ranked_holding(conn, where, score, added, chosen, depth, deadline), depth)
        chosen = wider


def _merged(
    ranked: list[tuple[str, float | None, float | None]], depth: int
) -> list[tuple[str, float | None, float | None]]:
    """The first `depth` of rankings of disjoint sets of articles, in _top's
    order: score, then id (collation "C": code points, as Python's)."""
    return sorted(ranked, key=lambda row: (-(row[1] or 0.0), row[0]))[:depth]


def _size(groups: Sequence[GroupBound]) -> int:
    return sum(g.size for g in groups)


def _ranked_holding(
    conn: psycopg.Connection,
    where: Clause,
    score: Scorer,
    groups: Sequence[GroupBound],
    besides: Sequence[GroupBound],
    depth: int,
    deadline: float | None = None,
) -> list[tuple[str, float | None, float | None]]:
    """The first `depth` of the articles holding `groups` (none: any) but none of `besides`."""
    holding = any_of([g.holding for g in groups if g.holding is not None])
    ranked_before = any_of([g.holding for g in besides if g.holding is not None])
    clauses = [where] + ([holding] if holding is not None else [])
    clauses += [none_of(ranked_before)] if ranked_before is not None else []
    return _top(conn, all_of(clauses), score, "relevance", 0, depth, deadline=deadline)  # type: ignore[arg-type]


# Past this many groups left, _widening tries the next ones in order of
# bound only (2^12 choices of the others take ~10 ms in Python).
WIDEST_CHOICE = 12


def _widening(
    order: Sequence[GroupBound], chosen: list[GroupBound], proves: Callable[[list[GroupBound]], bool]
) -> list[GroupBound] | None:
    """`chosen` and the groups to add to it, held by the fewest articles,
    whose choice `proves` the page; None when no choice does."""
    rest = [g for g in order if all(g is not c for c in chosen)]
    if len(rest) > WIDEST_CHOICE:
        choices: Iterable[Sequence[GroupBound]] = (rest[:t] for t in range(1, len(rest) + 1))
    else:
        choices = (c for k in range(1, len(rest) + 1) for c in combinations(rest, k))
    best: Sequence[GroupBound] | None = None
    for extra in choices:
        if (best is None or _size(extra) < _size(best)) and proves(chosen + list(extra)):
            best = extra
    return chosen + list(best) if best is not None else None


def _top(
    conn: psycopg.Connection,
    where: Clause | None,
    score: Scorer,
    sort: str,
    offset: int,
    limit: int,
    pool: _Pool | None = None,
    matches: int = 0,
    deadline: float | None = None,
) -> list[tuple[str, float | None, float | None]]:
    """The ids, scores and day numbers (search.recency) of one page of matches,
    by relevance or by date. `pool`: by relevance, rank only its
    candidates (search.pg.rum), when the page ends by rank rum.POOL // 2.
    `matches`: how many articles `where` holds, when known (past
    PRUNE_ABOVE, the ranking tries _pruned first). `deadline`
    (time.monotonic): each statement is cancelled past it (QueryCanceled)."""
    if where is None or limit <= 0:
        return []
    if sort == "relevance" and pool is None and matches > PRUNE_ABOVE:
        pruned = _pruned(conn, where, score, offset, limit, matches, deadline)
        if pruned is not None:
            return pruned.page
    if sort == "relevance" and pool is not None and rum.pools(offset + limit):
        # The pool's own test is `pool` itself, and the rest of `where` (a
        # partial match's NOT of the all-words query) is checked on the pool
        # alone: a negation in RUM's scan took it from 0.08 to 10+ s.
        candidates, candidate_params = pool.sql()
        sql = (
            f"SELECT id, {score.sql} AS score, date FROM articles WHERE id IN ({candidates}) AND {where.sql} "
            f"ORDER BY score DESC, {BY_ID} LIMIT %s OFFSET %s"
        )
        params = score.params + candidate_params + where.params + (limit, offset)
    elif sort == "relevance":
        # A score reads the vectors in each of its ts_ranks (10-14 for five
        # words), where they lie in the row (migration 11). Out of it, each
        # call fetched them again from the TOAST table, and copying each
        # match's vectors once in a subquery cost ~15 us a match (30,501
        # matches of three words at 100k articles: 500 ms, 175 ms in the row).
        sql = (
            f"SELECT id, {score.sql} AS score, date FROM articles WHERE {where.sql} "
            f"ORDER BY score DESC, {BY_ID} LIMIT %s OFFSET %s"
        )
        params = score.params + where.params + (limit, offset)
    else:
        sql = (
            f"SELECT id, NULL, date FROM articles WHERE {where.sql} "
            f"ORDER BY {ORDERS[sort]} LIMIT %s OFFSET %s"
        )
        params = where.params + (limit, offset)
    return [(row[0], row[1], day_number(row[2])) for row in _before(conn, deadline, sql, params)]


def _before(conn: psycopg.Connection, deadline: float | None, sql: str, params: tuple) -> list[tuple]:
    """The rows of `sql`; with a `deadline`, the server cancels it past
    that time (QueryCanceled, which aborts the transaction: run it in a
    savepoint), and the search's own timeout is restored after."""
    if deadline is None:
        return conn.execute(sql, params).fetchall()
    left_ms = math.ceil((deadline - time.monotonic()) * 1000)
    if left_ms <= 0:
        raise psycopg.errors.QueryCanceled("past the ranking budget")
    conn.execute(f"SET LOCAL statement_timeout = {left_ms}")
    rows = conn.execute(sql, params).fetchall()
    conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
    return rows


# Disjunctive facets in one statement: each match carries whether it passes
# each filter, and each facet counts the matches passing the *other* ones.
_FACETS = """
WITH m AS MATERIALIZED (
    SELECT author_key, author, category_key, category, date, {n} AS n, {story} AS story,
           ({author}) AS by_author, ({category}) AS by_category, ({dates}) AS by_dates
    FROM {source} WHERE {where})
SELECT 'author', author_key, min(author COLLATE "C"), sum(n) FROM m
    WHERE by_category AND by_dates AND author_key != '' GROUP BY author_key
UNION ALL
SELECT 'category', category_key, min(category COLLATE "C"), sum(n) FROM m
    WHERE by_author AND by_dates AND category_key != '' GROUP BY category_key
UNION ALL
SELECT 'year', extract(year FROM date)::int::text, NULL, sum(n) FROM m
    WHERE by_author AND by_category AND date IS NOT NULL GROUP BY 2
UNION ALL
SELECT 'month', to_char(date, 'YYYY-MM'), NULL, sum(n) FROM m
    WHERE by_author AND by_category AND date >= %s AND date <= %s GROUP BY 2
UNION ALL
SELECT 'in scope', count(DISTINCT story)::text, sum(n) FILTER (WHERE story IS NOT NULL)::text, sum(n)
    FROM m WHERE by_author AND by_category AND by_dates
"""
TRUE = Clause("TRUE", ())
# The filters the facets leave out one at a time (the by_ columns of _FACETS).
_FACETED = ("author", "category", "dates")


def _facets(
    conn: psycopg.Connection,
    where: Clause | None,
    parts: dict[str, Clause],
    filters: Filters,
    limit: int | None,
    browsing: bool = False,
) -> tuple[dict[str, list[dict]], dict[str, int], tuple[int, int, int]]:
    """The facets of search.whoosh_sqlite.searching._facets, with the same
    shape and order, and what the statement counts besides, from the rows
    it reads anyway: the matches passing every filter, those of them
    sharing a story, and their stories (_Counts.know; a search with
    partial matches counted them apart, ~20 ms at 100k). `browsing`:
    `where` is every indexed article, whose counts facet_counts keeps
    (migration 9: ~13x fewer rows at 100k; no stories there)."""
    out: dict[str, list[dict]] = {"author": [], "category": [], "year": [], "month": []}
    sizes = {name: 0 for name in out}
    if where is None:
        return out, sizes, (0, 0, 0)
    # The filters no facet leaves out narrow every facet's matches.
    unfaceted = [parts[kind.name] for kind in FILTER_KINDS if not kind.faceted and kind.name in parts]
    if unfaceted:
        where = all_of([where, *unfaceted])  # type: ignore[list-item]
    tests = [parts.get(name, TRUE) for name in _FACETED]
    year = one_year(filters)
    months = (date(year, 1, 1), date(year, 12, 31)) if year is not None else (None, None)
    source, n, story = ("facet_counts", "n", "NULL::text") if browsing else ("articles", "1", "shared_story")
    if browsing:  # every row counts indexed articles: only the filters no facet leaves out narrow them
        where = all_of(unfaceted) or TRUE
    # Each facet counts the matches passing the filters it does not leave
    # out: a match failing two set filters counts in none. Read only those
    # passing all but one (with a category and a year chosen, the matches in
    # either: a facets statement of 28,567 matches read 9,050 rows, 47 -> 38 ms).
    counted = [
        all_of([parts[name] for name in _FACETED if name in parts and name != left]) for left in _FACETED
    ]
    if None not in counted:
        where = all_of([where, any_of(counted)])  # type: ignore[list-item]
    sql = _FACETS.format(
        author=tests[0].sql,
        category=tests[1].sql,
        dates=tests[2].sql,
        where=where.sql,
        source=source,
        n=n,
        story=story,
    )
    params = tuple(p for c in tests for p in c.params) + where.params + months
    rows: dict[str, list[tuple[str, str | None, int]]] = {name: [] for name in out}
    in_scope = (0, 0, 0)
    for name, key, shown, n in conn.execute(sql, params):
        if name in rows:
            rows[name].append((key, shown, n))
        else:  # the matches in scope; its key and shown columns: their stories, those sharing one
            in_scope = (int(n or 0), int(shown or 0), int(key or 0))
    for name in ("author", "category"):
        top = sorted(rows[name], key=lambda r: (-r[2], r[0]))
        sizes[name] = len(top)
        top = top[:limit] if limit is not None else top
        if name == "category":  # chosen values listed even past the limit (searching._named)
            counts = {key: (shown, n) for key, shown, n in rows[name]}
            listed = {key for key, _, _ in top}
            for key in dict.fromkeys(normalize_key(c) for c in filters.categories):
                if key and key not in listed:
                    shown, n = counts.get(key, (key, 0))
                    top.append((key, shown, n))
        out[name] = [{"value": display_name(name, shown or key), "count": n} for key, shown, n in top]
    out["year"] = [{"value": int(y), "count": n} for y, _, n in sorted(rows["year"], key=lambda r: int(r[0]))]
    out["month"] = [{"value": m, "count": n} for m, _, n in sorted(rows["month"])]
    sizes["year"], sizes["month"] = len(out["year"]), len(out["month"])
    return out, sizes, in_scope
