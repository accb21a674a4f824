"""Running a parsed query: filters, fallback, sorting, paging, facets, snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime

from whoosh import collectors, scoring
from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from .analysis import normalize_key
from .article import Article
from .docsets import DocSets
from .queryparse import Highlight, ParsedQuery, QueryError, key_query
from .ranking import Ranking
from .recency import rerank, window_limit
from .snippets import Segment, highlight_all, snippet, to_html
from .store import Store
from .topk import Deadline, TimeUp, clock, docsets_for, loose_groups, top_partial, top_scored

SORTS = ("relevance", "newest", "oldest")
MAX_PER_PAGE = 100
# Deepest result reachable by paging: bounds the work of a single request.
MAX_DEPTH = 10_000
FACET_SIZE = 20
# Budget of the ranking phase of one search (strict plus fallback), in CPU
# seconds of the searching thread (see topk.clock): past it the fallback is
# left out, and a query whose own matches take longer to rank is refused.
# Query parsing caps the other costs (words, patterns, phrases).
TIME_LIMIT = 0.5


@dataclass
class Filters:
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None

    def query(self, reader: IndexReader) -> wq.Query | None:
        parts: list[wq.Query] = []
        if self.author:
            # "Piccirillo" finds "Mario Piccirillo", in any case, with or without accents.
            parts.append(key_query(reader, "author_key", self.author))
        if self.categories:
            parts.append(wq.Or([wq.Term("category_key", normalize_key(c)) for c in self.categories]))
        if self.since or self.until:
            start = datetime.combine(self.since, dtime.min) if self.since else None
            end = datetime.combine(self.until, dtime.max) if self.until else None
            parts.append(wq.DateRange("date", start, end))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)


@dataclass
class Hit:
    article: Article
    score: float | None
    segments: list[Segment]
    # The title with its matches marked (empty: the title as it is).
    title_segments: list[Segment] = field(default_factory=list)

    @classmethod
    def of(cls, article: Article, score: float | None, highlight: Highlight) -> Hit:
        """A hit with its snippet and marked title (both backends)."""
        return cls(
            article,
            score,
            snippet(_snippet_source(article), highlight),
            highlight_all(article.title, highlight),
        )

    def to_dict(self) -> dict:
        a = self.article
        return {
            "id": a.id,
            "title": a.title,
            "subtitle": a.subtitle,
            "author": a.author,
            "date": a.date.isoformat() if a.date else None,
            "category": a.category,
            "source": a.source,
            "url": a.url,
            "score": round(self.score, 4) if self.score is not None else None,
            "snippet": to_html(self.segments),
            "title_html": to_html(self.title_segments or [(a.title, False)]),
        }


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    fallback: bool
    hits: list[Hit]
    facets: dict[str, list[dict]]
    suggestion: str | None = None
    # How many articles contain every term (the rest match only some).
    exact_total: int = 0
    elapsed: float = 0.0
    parsed: ParsedQuery | None = None
    # The page has fewer hits than the total promises: the searcher's snapshot
    # predates a removal, whose deletions it half sees, or whose articles are
    # gone from the store (Archive.search then looks again on a fresh one).
    stale: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_DEPTH) // self.per_page))

    def to_dict(self) -> dict:
        """The JSON schema shared by `cli.py query --json` and /api/search."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "fallback": self.fallback,
            "results": [h.to_dict() for h in self.hits],
            "facets": self.facets,
            "suggestion": self.suggestion,
            "exact_total": self.exact_total,
        }


def weighting(ranking: Ranking) -> scoring.WeightingModel:
    return scoring.BM25F(B=ranking.b, K1=ranking.k1)


def check_paging(page: int, per_page: int, sort: str) -> None:
    """Bad paging or sort is a QueryError; each backend's Archive.search
    checks it first, before any work (run() takes it as checked)."""
    if sort not in SORTS:
        raise QueryError(f"Ordinamento sconosciuto: {sort!r}. Usa uno tra: {', '.join(SORTS)}.")
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise QueryError(f"Risultati per pagina: da 1 a {MAX_PER_PAGE}.")
    if page < 1:
        raise QueryError("Il numero di pagina parte da 1.")
    if (page - 1) * per_page >= MAX_DEPTH:
        raise QueryError(
            f"Si possono sfogliare solo i primi {MAX_DEPTH} risultati: "
            "restringi la ricerca con i filtri."
        )


def run(
    searcher: Searcher,
    store: Store,
    parsed: ParsedQuery,
    filters: Filters,
    ranking: Ranking,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 10,
    facets: bool = True,
    recency: bool = False,
) -> SearchResult:
    """All terms first; when fewer than a page have them all, partial matches follow.

    Articles with every term always rank above those with only some, so the
    precision of all-terms matching is kept; the graded fallback (more and
    rarer terms first) only adds what the strict query could not find.

    Which articles match is worked out on bitmaps (search.docsets): counts
    and facets need no scoring, and only the articles that can reach the
    page are scored (search.topk).

    With `recency` (relevance sort only), newer articles move up within
    each window of the ranking (search.recency); all-terms matches still
    rank above partial ones.
    """
    started = time.perf_counter()
    wanted = page * per_page
    boost = recency and sort == "relevance" and ranking.recency_weight > 0
    # With the boost, whole windows are ranked so that every page cuts the same ones.
    limit = window_limit(wanted) if boost else wanted
    ds = docsets_for(searcher)
    allowed = filter_docs(searcher, filters)
    scope = ds.live if allowed is None else allowed
    strict_bits = loose_bits = 0
    loose_ran = False
    ranked: list[tuple[int, float | None]] = []
    if scope:
        strict_bits = ds.query(parsed.strict) & scope
        if parsed.refine is not None:
            refined = parsed.refine(lambda q: (ds.query(q) & scope).bit_count(), bool(strict_bits))
            if refined.strict is not parsed.strict:  # respelled
                strict_bits = ds.query(refined.strict) & scope
            parsed = refined
        # The budget starts once the matching documents are known: building a
        # word's bitmap is a one-time cost (cached), which on a cold server
        # must not get an ordinary query refused.
        deadline = clock() + TIME_LIMIT
        try:
            q = _boosted(parsed.strict, parsed, sort)
            ranked += _top(searcher, ds, q, strict_bits, sort, limit, deadline)
        except TimeUp:
            raise QueryError(
                "La ricerca è troppo onerosa: usa meno parole, o parole meno comuni, "
                "oppure restringi con i filtri."
            ) from None
        # With a date sort, mixing partial matches in would hide which is which:
        # partial matches then appear only when nothing matches every term.
        # Decided by the count alone, not the page number, so that the total
        # and the facets stay the same from page to page.
        may_fill = (sort == "relevance" or not strict_bits) and strict_bits.bit_count() < per_page
        if ranking.fallback and parsed.loose is not None and may_fill:
            loose_bits = ds.query(parsed.loose) & scope
            partial = loose_bits & ~strict_bits
            q = _boosted(parsed.loose, parsed, sort)
            try:
                if sort == "relevance":
                    groups, scale = loose_groups(parsed.loose)
                    need = limit - len(ranked)
                    ranked += top_partial(searcher, ds, q, groups, scale, partial, need, deadline)
                else:
                    ranked += _top(searcher, ds, q, partial, sort, wanted - len(ranked), deadline)
                loose_ran = True
            except TimeUp:
                loose_bits = 0  # no time left for partial matches: all-terms matches only
    if boost:
        exact = min(len(ranked), strict_bits.bit_count())
        weight, half_life = ranking.recency_weight, ranking.recency_half_life_days
        ranked = rerank(searcher, ranked[:exact], weight, half_life) + rerank(
            searcher, ranked[exact:], weight, half_life
        )
    shown = ranked[(page - 1) * per_page : wanted]
    page_hits = [(searcher.stored_fields(d)["id"], score) for d, score in shown]
    articles = store.get_many([i for i, _ in page_hits])
    hits = [Hit.of(articles[i], score, parsed.highlight) for i, score in page_hits if i in articles]
    counted = loose_bits if loose_ran else strict_bits
    exact_total = strict_bits.bit_count()
    return SearchResult(
        query=parsed.text,
        total=counted.bit_count(),
        exact_total=exact_total,
        page=page,
        per_page=per_page,
        fallback=exact_total == 0 and loose_ran and bool(loose_bits),
        hits=hits,
        facets=_facets(ds, counted, store) if facets else {},
        suggestion=parsed.suggestion,
        elapsed=time.perf_counter() - started,
        parsed=parsed,
        stale=len(hits) < min(per_page, counted.bit_count() - (page - 1) * per_page),
    )


def filter_docs(searcher: Searcher, filters: Filters) -> int | None:
    """The documents the filters allow, as a bitmap (None: no filters).

    Resolved here rather than handed to whoosh as a query: whoosh treats a
    filter that matches nothing as no filter at all. The bitmaps of the
    date ranges and keys are cached (search.docsets), since the same
    filters come back page after page.
    """
    q = filters.query(searcher.reader())
    if q is None:
        return None
    return docsets_for(searcher).query(q)


def _snippet_source(article: Article) -> str:
    """The subtitle summarises the article: a match there makes a good snippet."""
    return f"{article.subtitle}\n\n{article.body}" if article.subtitle else article.body


def _boosted(q: wq.Query, parsed: ParsedQuery, sort: str) -> wq.Query:
    if parsed.proximity is not None and sort == "relevance":
        return wq.AndMaybe(q, parsed.proximity)
    return q


def _top(
    searcher: Searcher, ds: DocSets, q: wq.Query, bits: int, sort: str, limit: int, deadline: float
) -> list[tuple[int, float | None]]:
    """The first `limit` documents of `bits` by relevance or by date."""
    if sort == "relevance":
        return list(top_scored(searcher, ds, q, bits, limit, deadline))
    if limit <= 0 or not bits:
        return []
    collector = searcher.collector(limit=limit, sortedby="date", reverse=sort == "newest", terms=False)
    collector = collectors.FilterCollector(Deadline(collector, deadline), ds.filter(bits))
    searcher.search_with_collector(q, collector)
    # Sorted by date, whoosh's "score" is the sort key: report no score.
    return [(hit.docnum, None) for hit in collector.results()]


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


def _facets(ds: DocSets, bits: int, store: Store) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"author": [], "category": [], "year": []}
    if not bits:
        return out
    for name, column in (("author", "author_key"), ("category", "category_key")):
        counts = {k: n for k, n in ds.facet_counts(bits, column).items() if k}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE]
        names = _display_names(store, column, [k for k, _ in top])
        out[name] = [{"value": names.get(k, k), "count": n} for k, n in top]
    years = {k: n for k, n in ds.facet_counts(bits, "year").items() if k}
    out["year"] = [{"value": int(y), "count": n} for y, n in sorted(years.items())]
    return out
