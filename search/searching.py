"""Running a parsed query: filters, fallback, sorting, paging, facets, snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime

from whoosh import query as wq
from whoosh import scoring, sorting
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from .analysis import normalize_key
from .article import Article
from .queryparse import ParsedQuery, QueryError, key_query
from .ranking import Ranking
from .snippets import Segment, snippet, to_html
from .store import Store

SORTS = ("relevance", "newest", "oldest")
MAX_PER_PAGE = 100
# Deepest result reachable by paging: bounds the work of a single request.
MAX_DEPTH = 10_000
FACET_SIZE = 20


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
) -> SearchResult:
    """All terms first; if they fill less than the page, partial matches follow.

    Articles with every term always rank above those with only some, so the
    precision of all-terms matching is kept; the graded fallback (more and
    rarer terms first) only adds what the strict query could not find.
    """
    started = time.perf_counter()
    check_paging(page, per_page, sort)
    wanted = page * per_page
    allowed = filter_docs(searcher, filters)
    if allowed is not None and not allowed:
        strict = loose = None  # the filters exclude every article
    else:
        strict = _search(searcher, parsed.strict, parsed, allowed, sort, wanted, facets)
        loose = None
        # With a date sort, mixing partial matches in would hide which is which:
        # partial matches then appear only when nothing matches every term.
        may_fill = sort == "relevance" or strict.is_empty()
        if ranking.fallback and parsed.loose is not None and may_fill and len(strict) < wanted:
            loose = _search(searcher, parsed.loose, parsed, allowed, sort, wanted + len(strict), facets)
    ranked = _merge(strict, loose, sort)
    page_hits = ranked[(page - 1) * per_page : wanted]
    articles = store.get_many([i for i, _ in page_hits])
    hits = [
        Hit(articles[i], score, snippet(_snippet_source(articles[i]), parsed.highlight))
        for i, score in page_hits
        if i in articles
    ]
    counted = loose if loose is not None else strict
    exact_total = len(strict) if strict is not None else 0
    return SearchResult(
        query=parsed.text,
        total=len(counted) if counted is not None else 0,
        exact_total=exact_total,
        page=page,
        per_page=per_page,
        fallback=exact_total == 0 and loose is not None and not loose.is_empty(),
        hits=hits,
        facets=_facets(counted, store) if facets else {},
        suggestion=parsed.suggestion,
        elapsed=time.perf_counter() - started,
        parsed=parsed,
    )


def _merge(strict, loose, sort: str) -> list[tuple[str, float | None]]:
    """Strict hits, then partial ones not already listed, as (id, score)."""

    def pairs(results):
        if results is None:
            return []
        # Sorted by date, whoosh's "score" is the sort key: report no score.
        return [(hit["id"], hit.score if sort == "relevance" else None) for hit in results]

    ranked = pairs(strict)
    seen = {i for i, _ in ranked}
    ranked += [(i, score) for i, score in pairs(loose) if i not in seen]
    return ranked


_FILTER_CACHE: dict[tuple[int, str], set[int]] = {}


def filter_docs(searcher: Searcher, filters: Filters) -> set[int] | None:
    """The documents the filters allow (None: no filters).

    Computed here rather than handed to whoosh as a query: whoosh treats a
    filter that matches nothing as no filter at all. Cached per searcher,
    since the same filters come back page after page.
    """
    q = filters.query(searcher.reader())
    if q is None:
        return None
    key = (id(searcher), repr(q))
    docs = _FILTER_CACHE.get(key)
    if docs is None:
        if len(_FILTER_CACHE) > 256:
            _FILTER_CACHE.clear()
        docs = _FILTER_CACHE[key] = set(q.docs(searcher))
    return docs


def _snippet_source(article: Article) -> str:
    """The subtitle summarises the article: a match there makes a good snippet."""
    return f"{article.subtitle}\n\n{article.body}" if article.subtitle else article.body


def _search(searcher, q, parsed, allowed, sort, limit, facets):
    if parsed.proximity is not None and sort == "relevance":
        q = wq.AndMaybe(q, parsed.proximity)
    kwargs = {}
    if sort != "relevance":
        kwargs = {"sortedby": "date", "reverse": sort == "newest"}
    if facets:
        kwargs["groupedby"] = {
            "author": sorting.FieldFacet("author_key"),
            "category": sorting.FieldFacet("category_key"),
            "year": sorting.FieldFacet("year"),
        }
        kwargs["maptype"] = sorting.Count
    return searcher.search(q, limit=limit, filter=allowed, terms=False, **kwargs)


def _facets(results, store: Store) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"author": [], "category": [], "year": []}
    if results is None:
        return out
    for name, column in (("author", "author_key"), ("category", "category_key")):
        counts = {k: n for k, n in results.groups(name).items() if k}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE]
        names = store.display_names(column, [k for k, _ in top])
        out[name] = [{"value": names.get(k, k), "count": n} for k, n in top]
    years = {k: n for k, n in results.groups("year").items() if k}
    out["year"] = [{"value": int(y), "count": n} for y, n in sorted(years.items())]
    return out
