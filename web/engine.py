"""The faces' way to the engine: the app's one Archive, its search slots,
and the searches a request makes with the URL's parameters."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from archivio.search import (
    FACET_SIZE,
    ArchiveBackend,
    Article,
    DateError,
    IndexMissing,
    QueryError,
    SearchRequest,
    SearchResult,
)

from .accesslog import count_results
from .metrics import count_search
from .params import SORTS, PageBeyondEnd, Params

log = logging.getLogger(__name__)

STATS_TTL = 60.0
MAX_ID_CHARS = 200


class Busy(RuntimeError):
    """No search slot freed up in time: the server is overloaded."""


def archive() -> ArchiveBackend:
    return current_app.extensions["archivio"]


@contextmanager
def engine_slot() -> Iterator[None]:
    """Index work runs a few requests at a time (ARCHIVIO_SEARCH_CONCURRENCY).

    Searching is CPU-bound Python: threads only interleave under the GIL,
    so running them one by one costs no throughput, keeps each search's
    own time short (the engine's time budget measures wall-clock time) and
    turns overload into a quick 503 instead of ever longer waits.
    """
    slots = current_app.extensions["archivio_slots"]
    if not slots.acquire(timeout=float(current_app.config["ARCHIVIO_SEARCH_WAIT"])):
        raise Busy("Il servizio è molto occupato in questo momento: riprova tra qualche secondo.")
    try:
        yield
    finally:
        slots.release()


def find_article(article_id: str) -> Article | None:
    """Looks the id up in the store only (it is never used as a path)."""
    if not article_id or len(article_id) > MAX_ID_CHARS:
        return None
    return archive().get(article_id)


def run_search(params: Params, per_page: int) -> SearchResult:
    """The engine's search for these parameters; a page past the end is an error."""
    with engine_slot():
        result = engine_search(params, per_page)
    count_results(result.total)
    if params.pagina == 1:  # a new search, not another page of one
        _log_search(params, result)
        count_search(result.total)
    if params.pagina > result.pages:
        raise PageBeyondEnd(
            f"La pagina {params.pagina} non esiste: "
            + (
                "la ricerca non ha trovato articoli."
                if not result.total
                else f"i risultati occupano {_pages_text(result.pages)}."
            ),
            result.pages,
        )
    return result


def _log_search(params: Params, result: SearchResult) -> None:
    """Into the search log, when there is one; a log that cannot be written
    never fails the search (it says so in the server's log)."""
    search_log = current_app.extensions.get("archivio_search_log")
    if search_log is None:
        return
    filters = {"autore": params.autore, "categoria": list(params.categorie), "da": params.da, "a": params.a}
    try:
        search_log.record(params.q, filters, result.total, result.elapsed * 1000)
    except sqlite3.Error:
        log.warning("search log not written", exc_info=True)


def search_request(
    params: Params, per_page: int = 10, facet_limit: int | None = FACET_SIZE, facets: bool = True
) -> SearchRequest:
    """The engine's request for the URL's parameters (checked: QueryError, DateError)."""
    sort, recency = SORTS[params.ordina]
    return SearchRequest.of(
        params.q,
        author=params.autore or None,
        category=list(params.categorie),
        since=params.da or None,
        until=params.a or None,
        sort=sort,
        page=params.pagina,
        per_page=per_page,
        recency=recency,
        facets=facets,
        facet_limit=facet_limit,
        fold=params.folded,
    )


def engine_search(params: Params, per_page: int, facet_limit: int | None = FACET_SIZE) -> SearchResult:
    """One engine pass: hits, totals and (disjunctive) facets for these parameters."""
    return archive().search(search_request(params, per_page, facet_limit))


def unfiltered_total(q: str) -> int | None:
    """How many articles the words find without any filter (the empty state's
    "senza filtri gli articoli sono N"); None when that search cannot run.

    A second search, made only when the filters leave nothing: the filtered
    result cannot give this number. Its facets each leave out one filter
    only, miss articles without that field and stop at FACET_SIZE values;
    and the engine settles the query within the filters (a word respelled
    when the words never meet there, the partial matches joining when
    fewer than FILL_BELOW articles there hold every word), so the same
    words without filters can match other articles."""
    try:
        with engine_slot():
            return archive().search(q, per_page=1, facets=False, fold=False).total
    except (QueryError, DateError):
        return None


def _pages_text(pages: int) -> str:
    return "una sola pagina" if pages == 1 else f"{pages} pagine"


def home_stats() -> dict | None:
    """Archive statistics for the home page, refreshed every minute."""
    now = time.monotonic()
    cached = current_app.extensions.get("archivio_stats")
    if cached and now - cached[0] < STATS_TTL:
        return cached[1]
    try:
        stats = archive().stats()
    except Exception:  # the home page must render even with a broken store
        log.exception("stats unavailable")
        return None
    if stats.get("indexed") is None:
        raise IndexMissing("Indice non disponibile.")
    current_app.extensions["archivio_stats"] = (now, stats)
    return stats
