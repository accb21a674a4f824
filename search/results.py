"""What a search asks and answers, for every backend: the request (query,
filters, sort, paging), its checks, and the result (hits, counts, facets).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from .article import Article, author_name
from .filters import Filters, make_filters
from .queryparse import Highlight, ParsedQuery, QueryError
from .ranking import Ranking
from .snippets import Segment, highlight_all, snippet, to_html

SORTS = ("relevance", "newest", "oldest")


MAX_PER_PAGE = 100


# Deepest result reachable by paging: bounds the work of a single request.
MAX_DEPTH = 10_000


FACET_SIZE = 20


# "Mostra tutte": a facet lists at most this many values in one answer.
MAX_FACET_LIMIT = 5_000


# The articles holding only some of the query's words join the results
# when fewer than this many hold them all: a constant, so that totals and
# facets never depend on the page size or the sort (a page of 10 used to
# decide it). Ten is the default page: below it a page would show blanks.
FILL_BELOW = 10


@dataclass
class Hit:
    article: Article
    score: float | None
    segments: list[Segment]
    # The article holds every word of the query (False: only some of them).
    all_words: bool = True
    # The title with its matches marked (empty: the title as it is).
    title_segments: list[Segment] = field(default_factory=list)
    # How many other articles tell the same story (search.stories: other
    # outlets, wire copies), in the whole archive.
    copies: int = 0
    # Those articles, oldest first (the page's "e altre N fonti" opens them).
    other_sources: list[Article] = field(default_factory=list)

    @classmethod
    def of(
        cls, article: Article, score: float | None, highlight: Highlight | None, all_words: bool = True
    ) -> Hit:
        """A hit with its snippet and marked title (both backends); no
        highlight (browsing): the article's opening lines, the title as it is."""
        source = snippet_source(article)
        if highlight is None:
            return cls(article, score, snippet(source, Highlight()), all_words)
        return cls(
            article, score, snippet(source, highlight), all_words, highlight_all(article.title, highlight)
        )

    @property
    def snippet_text(self) -> str:
        """The snippet without its marks, as plain text (feeds, spreadsheets)."""
        return "".join(text for text, _ in self.segments)

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
            "all_words": self.all_words,
            "title_html": to_html(self.title_segments or [(a.title, False)]),
            "copies": self.copies,
            "other_sources": [
                {
                    "id": o.id,
                    "title": o.title,
                    "source": o.source,
                    "date": o.date.isoformat() if o.date else None,
                    "url": o.url,
                }
                for o in self.other_sources
            ],
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
    # The order the hits are in: the sort asked for ("newest" when browsing
    # without words asked for relevance).
    sort: str = "relevance"
    # The time budget ran out before the partial matches were ranked: they
    # are listed newest first (counts and facets are still exact).
    cut: bool = False
    # How many values each facet has in all (the lists hold the first FACET_SIZE).
    facet_sizes: dict[str, int] = field(default_factory=dict)
    # Copies folded (SearchRequest.fold): how many stories the `total`
    # articles tell, each listed once (search.folding); None: every copy listed.
    stories: int | None = None

    @classmethod
    def answer(
        cls,
        parsed: ParsedQuery | None,
        request: SearchRequest,
        hits: list[Hit],
        total: int,
        exact_total: int,
        facets: dict[str, list[dict]],
        facet_sizes: dict[str, int],
        started: float,
        sort: str,
        stale: bool = False,
        cut: bool = False,
        stories: int | None = None,
    ) -> SearchResult:
        """A backend's answer to `request` (`parsed` None: browsing), timed
        from `started`; `stories`: the stories among the matches, when folded."""
        return cls(
            query=parsed.text if parsed is not None else "",
            total=total,
            exact_total=exact_total,
            page=request.page,
            per_page=request.per_page,
            fallback=exact_total == 0 and total > 0,
            hits=hits,
            facets=facets,
            facet_sizes=facet_sizes,
            suggestion=parsed.suggestion if parsed is not None else None,
            elapsed=time.perf_counter() - started,
            parsed=parsed,
            stale=stale,
            sort=sort,
            cut=cut,
            stories=stories,
        )

    @property
    def partial_total(self) -> int:
        """Articles holding only some of the words."""
        return self.total - self.exact_total

    @property
    def listed(self) -> int:
        """How many entries the pages list: the stories when copies are
        folded, else the articles."""
        return self.total if self.stories is None else self.stories

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.listed, MAX_DEPTH) // self.per_page))

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
            "partial_total": self.partial_total,
            "sort": self.sort,
            "cut": self.cut,
            "facet_sizes": self.facet_sizes,
            "folded": self.stories is not None,
            "stories": self.stories,
        }


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
            f"Si possono sfogliare solo i primi {MAX_DEPTH} risultati: restringi la ricerca con i filtri."
        )


_SURROGATES = re.compile("[\ud800-\udfff]")


def normalize_query_text(text: str | None) -> str:
    """The query as searched: no lone surrogates (undecodable bytes of a
    command-line argument), no outer spaces. Empty: browsing, no words."""
    return _SURROGATES.sub(" ", text or "").strip()


def check_facet_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= MAX_FACET_LIMIT:
        raise QueryError(f"Valori per faccetta: da 1 a {MAX_FACET_LIMIT}.")


def blends_partial(weight: float, parsed: ParsedQuery) -> bool:
    """Whether, sorted by relevance, the partial matches are ranked together
    with the all-words ones (scaled by `weight`, the backend's
    Ranking.partial_weight or pg_partial_weight) rather than after them: not
    when the query quotes a phrase."""
    return weight > 0 and not parsed.quotes_phrase


def joins_partial(ranking: Ranking, parsed: ParsedQuery, exact_total: int) -> bool:
    """Whether the articles with only some of the words join the results:
    when fewer than FILL_BELOW hold them all (never decided by the page)."""
    return ranking.fallback and parsed.loose is not None and exact_total < FILL_BELOW


def snippet_source(article: Article) -> str:
    """The subtitle summarises the article: a match there makes a good snippet."""
    return f"{article.subtitle}\n\n{article.body}" if article.subtitle else article.body


def display_name(facet: str, value: str) -> str:
    """How a facet value is shown: an author by the name in the byline."""
    return author_name(value) if facet == "author" else value


def one_year(filters: Filters) -> int | None:
    """The year the chosen dates lie within, if they lie within one."""
    if filters.since and filters.until and filters.since.year == filters.until.year:
        return filters.since.year
    return None


@dataclass(frozen=True)
class SearchRequest:
    """One search, checked: what every backend's `search` runs. Frozen and
    hashable, so the value itself is the result cache's key: a field added
    here is in the key too. Make one with `SearchRequest.of`, which checks."""

    text: str = ""
    filters: Filters = Filters()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    facets: bool = True
    # Boost newer articles at equal relevance (search.recency).
    recency: bool = False
    # Values listed per facet (None: all).
    facet_limit: int | None = FACET_SIZE
    # Each story once, at its best article's place, the other sources with it
    # (search.folding); False: every copy in its own place.
    fold: bool = True

    @classmethod
    def of(
        cls,
        text: str = "",
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 10,
        facets: bool = True,
        recency: bool = False,
        facet_limit: int | None = FACET_SIZE,
        fold: bool = True,
        **filters: object,
    ) -> SearchRequest:
        """The request for these arguments (the API's), checked before any
        work: QueryError with an Italian message for bad dates, paging,
        sort or facet limit. `filters`: the filters' arguments (author,
        category, since, until: search.filters.FILTER_KINDS). No words
        (`text` empty): browsing the filters."""
        checked = make_filters(**filters)
        check_paging(page, per_page, sort)
        check_facet_limit(facet_limit)
        return cls(
            normalize_query_text(text),
            checked,
            sort,
            page,
            per_page,
            facets,
            recency,
            facet_limit,
            bool(fold),
        )


def with_copies(result: SearchResult, others: dict[str, list[Article]]) -> SearchResult:
    """`result` with each hit's other sources (search.stories), from
    `others` (article id -> the other articles of its story; absent: none)."""
    for hit in result.hits:
        hit.other_sources = others.get(hit.article.id, [])
        hit.copies = len(hit.other_sources)
    return result
