"""Running a parsed query: filters, fallback, sorting, paging, facets, snippets."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher

from ..analysis import normalize_key
from ..budget import TimeUp, clock
from ..filters import FILTER_KINDS, date_range_query
from ..folding import fold_ranking
from ..queryparse import ParsedQuery, QueryError
from ..ranking import Ranking
from ..recency import rerank, window_limit
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
from ..semantic.rerank import RERANK_DEPTH
from .ranking.docsets import DocSets
from .ranking.storymap import story_map
from .ranking.topk import docsets_for, top_by_date, top_partial, top_scored
from .store import Store

# Budget of the ranking phase of one search (strict plus fallback), in CPU
# seconds of the searching thread (see budget.clock): past it the partial
# matches are listed by date instead of ranked (SearchResult.cut), and a
# query whose own all-terms matches take longer to rank is refused.
# Query parsing caps the other costs (words, patterns, phrases). The dev
# queries rank in ~1-20 ms; the worst hostile query of
# tests/test_robust_search.py took 0.72-0.86 s in all with 0.5 here (the
# ranking overshoots its deadline by up to 0.08 s, the date order of a cut
# adds ~0.07 s cold, matching ~0.1 s), 1.04 s on a slower CI machine.
TIME_LIMIT = 0.35


def weighting(ranking: Ranking) -> scoring.WeightingModel:
    return scoring.BM25F(B=ranking.b, K1=ranking.k1)


def run(
    searcher: Searcher,
    store: Store,
    parsed: ParsedQuery | None,
    request: SearchRequest,
    ranking: Ranking,
    by_meaning: Callable[[str, list[tuple[str, float]]], list[tuple[str, float]]] | None = None,
) -> SearchResult:
    """All terms first; when fewer than FILL_BELOW articles hold them all,
    the articles holding some of the words follow. `parsed` None: no words,
    the filters alone (browsing), newest first.

    Which articles match, the counts and the facets are worked out on
    bitmaps (search.whoosh_sqlite.ranking.docsets) and depend on the query and the filters only:
    the page, the page size and the sort change which hits are shown and
    in which order, nothing else. Only the articles that can reach the page
    are scored (search.whoosh_sqlite.ranking.topk).

    Sorted by relevance, the articles with only some of the terms (more
    and rarer terms first) are ranked together with those holding every
    term, their score scaled by Ranking.partial_weight, unless the query
    quotes a phrase (then they follow); sorted by date, the articles with
    every term come first, each group by date. With `recency`
    (relevance sort only), newer articles move up within each window of
    the ranking (search.recency). With `by_meaning` (the semantic extra,
    search.semantic) and no article holding every word, the first
    RERANK_DEPTH of the fallback are re-ordered by meaning as well. With
    `request.fold`, each story is listed once, at its best article's place
    (search.folding), and `stories` counts them among the matches.
    """
    filters, sort, page, per_page = request.filters, request.sort, request.page, request.per_page
    facets, recency, facet_limit = request.facets, request.recency, request.facet_limit
    started = time.perf_counter()
    wanted = page * per_page
    ds = docsets_for(searcher)
    parts = filter_parts(searcher, filters)
    scope = parts.within(ds.live)
    try:
        parsed, strict_all, matched_all = _matching(ds, parsed, ranking, scope)
    except TimeUp:
        raise QueryError(
            "Una frase della ricerca è troppo comune per contarla in tutto l'archivio: "
            "aggiungi una parola meno comune o togli le virgolette."
        ) from None
    strict_bits = strict_all & scope
    partial = matched_all & scope & ~strict_bits
    order = sort if parsed is not None or sort != "relevance" else "newest"
    exact_total = strict_bits.bit_count()
    total = exact_total + partial.bit_count()
    # Only a fallback: an article holding every word keeps today's ranking.
    by_meaning = by_meaning if order == "relevance" and not strict_bits and partial else None
    # The stories among the matches (search.folding), before the ranking's
    # budget starts: the story map is made once per searcher.
    shared = story_map(ds, store) if request.fold else None
    stories = shared.distinct(strict_bits | partial, total) if shared is not None else None
    # The fallback's thesaurus bonus reads the thesaurus the first time
    # (Debian's, 26k headwords: ~0.27 s CPU, most of the budget; a slower
    # machine ran out of it and listed a first fallback by date): before.
    if parsed is not None and order == "relevance" and partial:
        parsed.related  # noqa: B018 (a cached property, read for its cost)
    # The budget starts once the matching documents are known: building a
    # word's bitmap is a one-time cost (cached), which on a cold server
    # must not get an ordinary query refused. Deeper rankings for folded
    # copies share it.
    deadline = clock() + TIME_LIMIT
    rankings: list[tuple[list[tuple[int, float | None]], bool]] = []

    def rank(depth: int) -> list[tuple[int, float | None]]:
        try:
            # By meaning, the first RERANK_DEPTH at least.
            deep = max(depth, RERANK_DEPTH) if by_meaning else depth
            ranked, cut = _ranked(
                searcher, ds, parsed, ranking, order, strict_bits, partial, deep, recency, deadline
            )
        except QueryError:
            if not rankings:
                raise
            # Out of time ranking deeper for folded copies: the last ranking
            # stands, and the page says the work was cut.
            ranked, cut = rankings[-1][0], True
        if by_meaning and not cut:
            ranked = _reranked(searcher, ranked, by_meaning, request.text)
        rankings.append((ranked, cut))
        return ranked

    if shared is not None:

        def stories_of(ranked: Sequence[tuple[int, float | None]]) -> Callable[[tuple], int]:
            told = shared.story_of([d for d, _ in ranked])
            return lambda item: told.get(item[0], -1 - item[0])  # alone: its own story

        ranked = fold_ranking(rank, stories_of, wanted, total)
    else:
        ranked = rank(wanted)
    cut = any(c for _, c in rankings)
    shown = ranked[(page - 1) * per_page : wanted]
    exact_ids = {d for d, _ in shown if strict_bits >> d & 1}
    page_hits = [(searcher.stored_fields(d)["id"], score, d in exact_ids) for d, score in shown]
    articles = store.get_many([i for i, _, _ in page_hits])
    highlight = parsed.highlight if parsed is not None else None
    hits = [Hit.of(articles[i], score, highlight, exact) for i, score, exact in page_hits if i in articles]
    facet_values, sizes = _facets(ds, matched_all, parts, filters, store, facet_limit) if facets else ({}, {})
    listed = total if stories is None else stories
    stale = len(hits) < min(per_page, listed - (page - 1) * per_page) and not cut
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
        stale=stale,
        cut=cut,
        stories=stories,
    )


def _matching(
    ds: DocSets, parsed: ParsedQuery | None, ranking: Ranking, scope: int
) -> tuple[ParsedQuery | None, int, int]:
    """The query as searched (perhaps respelled), the documents holding all
    its words and those holding all or some, in the whole archive. A phrase
    past its budget raises TimeUp (search.whoosh_sqlite.ranking.phrases)."""
    if parsed is None:
        return None, ds.live, ds.live
    strict_all = ds.query(parsed.strict)
    if parsed.refine is not None and scope:
        refined = parsed.refine(lambda q: (ds.query(q) & scope).bit_count(), bool(strict_all & scope))
        if refined.strict is not parsed.strict:  # respelled
            strict_all = ds.query(refined.strict)
        parsed = refined
    matched_all = strict_all
    if joins_partial(ranking, parsed, (strict_all & scope).bit_count()):
        matched_all = strict_all | ds.query(parsed.loose)  # type: ignore[arg-type]
    return parsed, strict_all, matched_all


def _ranked(
    searcher: Searcher,
    ds: DocSets,
    parsed: ParsedQuery | None,
    ranking: Ranking,
    order: str,
    strict_bits: int,
    partial: int,
    wanted: int,
    recency: bool,
    deadline: float,
) -> tuple[list[tuple[int, float | None]], bool]:
    """The first `wanted` matches in order, and whether the time budget (CPU
    `deadline`) cut the ranking of the partial ones (then listed by date after the others)."""
    if order != "relevance":
        newest = order == "newest"
        ranked = top_by_date(ds, strict_bits, newest, wanted)
        return ranked + top_by_date(ds, partial, newest, wanted - len(ranked)), False
    assert parsed is not None
    boost = recency and ranking.recency_weight > 0
    # With the boost, whole windows are ranked so that every page cuts the same ones.
    limit = window_limit(wanted) if boost else wanted
    try:
        ranked: list[tuple[int, float | None]] = list(
            top_scored(searcher, ds, _boosted(parsed.strict, parsed), strict_bits, limit, deadline)
        )
    except TimeUp:
        raise QueryError(
            "La ricerca è troppo onerosa: usa meno parole, o parole meno comuni, "
            "oppure restringi con i filtri."
        ) from None
    exact = len(ranked)
    cut = False
    blended = bool(partial) and exact > 0 and blends_partial(ranking.partial_weight, parsed)
    if partial and (exact < limit or blended):
        q = _boosted(parsed.loose, parsed, fallback=True)  # type: ignore[arg-type]
        try:
            some = top_partial(searcher, ds, q, partial, limit if blended else limit - exact, deadline)
            if blended:
                # One ranking: a partial match's score scaled down; on a tie the
                # all-words article stays first (a stable sort).
                weight = ranking.partial_weight
                ranked = sorted(ranked + [(d, s * weight) for d, s in some], key=lambda h: -(h[1] or 0.0))
                ranked, exact = ranked[:limit], min(limit, len(ranked))
            else:
                ranked += some
        except TimeUp:
            # Out of time: the partial matches are all still there, counted and
            # shown, newest first; the page says they are not ranked.
            ranked += top_by_date(ds, partial, True, limit - exact)
            cut = True
    if boost:
        weight, half_life = ranking.recency_weight, ranking.recency_half_life_days
        ranked = rerank(searcher, ranked[:exact], weight, half_life) + rerank(
            searcher, ranked[exact:], weight, half_life
        )
    return ranked, cut


def _reranked(
    searcher: Searcher,
    ranked: list[tuple[int, float | None]],
    by_meaning: Callable[[str, list[tuple[str, float]]], list[tuple[str, float]]],
    text: str,
) -> list[tuple[int, float | None]]:
    """The first RERANK_DEPTH documents re-ordered by `by_meaning`, which
    works on article ids; the rest as they were."""
    head, rest = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
    ids = [searcher.stored_fields(d)["id"] for d, _ in head]
    doc_of = {i: d for i, (d, _) in zip(ids, head, strict=True)}
    order = by_meaning(text, [(i, score or 0.0) for i, (_, score) in zip(ids, head, strict=True)])
    return [(doc_of[i], score) for i, score in order] + rest


class FilterParts(dict):
    """Each set filter's documents as a bitmap, by FilterKind name.

    Kept apart so that each facet can be counted with the other filters
    only (disjunctive facets: a chosen category still shows the others,
    each with the count it would add)."""

    def within(self, bits: int, leave_out: str = "") -> int:
        """`bits` narrowed by every filter but `leave_out`."""
        for name, part in self.items():
            if name != leave_out:
                bits &= part
        return bits


def filter_parts(searcher: Searcher, filters: Filters) -> FilterParts:
    """The filters' bitmaps (search.filters.FILTER_KINDS), resolved here
    rather than handed to whoosh as a query (whoosh treats a filter that
    matches nothing as no filter at all). The bitmaps of the date ranges
    and keys are cached (ranking.docsets), since the same filters come back
    page after page."""
    ds = docsets_for(searcher)
    reader = searcher.reader()
    return FilterParts(
        (kind.name, ds.query(kind.query(filters, reader))) for kind in FILTER_KINDS if kind.is_set(filters)
    )


def filter_docs(searcher: Searcher, filters: Filters) -> int | None:
    """The documents the filters allow, as a bitmap (None: no filters)."""
    parts = filter_parts(searcher, filters)
    if not parts:
        return None
    return parts.within(docsets_for(searcher).live)


def _boosted(q: wq.Query, parsed: ParsedQuery, fallback: bool = False) -> wq.Query:
    """Relevance ranking also rewards the query's words close together; in
    the fallback, synonyms of the words (the thesaurus bonus) too."""
    optional = [parsed.proximity] if parsed.proximity is not None else []
    if fallback and parsed.related is not None:
        optional.append(parsed.related)
    if not optional:
        return q
    return wq.AndMaybe(q, optional[0] if len(optional) == 1 else wq.Or(optional))


_NAMES: dict[tuple[str, str, str], str] = {}


def _display_names(store: Store, column: str, keys: list[str]) -> dict[str, str]:
    """store.display_names, remembered: the query behind it scans every article
    with the key (a GROUP BY), and a key's display form hardly ever changes."""
    path = str(store.path)
    missing = [k for k in keys if (path, column, k) not in _NAMES]
    if missing:
        if len(_NAMES) > 100_000:
            _NAMES.clear()
        for k, v in store.display_names(column, missing).items():
            _NAMES[path, column, k] = v
    return {k: _NAMES[path, column, k] for k in keys if (path, column, k) in _NAMES}


def _facets(
    ds: DocSets, matched: int, parts: FilterParts, filters: Filters, store: Store, limit: int | None
) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """Disjunctive facets: each counted over the matches narrowed by the
    *other* filters, so a chosen value still lists its alternatives with
    the count each would have. Authors and categories most frequent first
    (at most `limit`; None: all), years in order, and, when the dates
    chosen lie within one year, that year's months. Also how many values
    each facet has in all (the page's "mostra tutte")."""
    out: dict[str, list[dict]] = {"author": [], "category": [], "year": [], "month": []}
    sizes: dict[str, int] = {}
    for name, column in (("author", "author_key"), ("category", "category_key")):
        bits = parts.within(matched, leave_out=name)
        counts = {k: n for k, n in ds.facet_counts(bits, column).items() if k} if bits else {}
        chosen = [normalize_key(c) for c in filters.categories] if name == "category" else []
        out[name], sizes[name] = _named(store, column, counts, limit, chosen)
    dated = parts.within(matched, leave_out="dates")
    years = {k: n for k, n in ds.facet_counts(dated, "year").items() if k} if dated else {}
    out["year"] = [{"value": int(y), "count": n} for y, n in sorted(years.items())]
    year = one_year(filters)
    if year is not None and dated:
        for month in range(1, 13):
            first = date(year, month, 1)
            last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            n = (dated & ds.query(date_range_query(first, last))).bit_count()
            if n:
                out["month"].append({"value": f"{year}-{month:02d}", "count": n})
    sizes["year"], sizes["month"] = len(out["year"]), len(out["month"])
    return out, sizes


def _named(
    store: Store, column: str, counts: dict[str, int], limit: int | None, chosen: list[str]
) -> tuple[list[dict], int]:
    """The `limit` most frequent values with their display names, and how
    many there are in all; `chosen` values are listed even past the limit
    (with their count, 0 included), so that the page can show and undo them."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = len(top)
    top = top[:limit] if limit is not None else top
    listed = {k for k, _ in top}
    top += [(k, counts.get(k, 0)) for k in dict.fromkeys(chosen) if k and k not in listed]
    names = _display_names(store, column, [k for k, _ in top])
    facet = "author" if column == "author_key" else "category"
    return [{"value": display_name(facet, names.get(k, k)), "count": n} for k, n in top], total
