"""What a search can be narrowed to: the filters, and the one table that
says, for each, what the page, the API, the command line and both backends
call it and how it is matched.

A filter is a field of `Filters` (frozen: the result cache keys on the whole
request) and one `FilterKind` in FILTER_KINDS: its name (the key of its
part in each backend: a bitmap in the whoosh engine, a SQL clause in
PostgreSQL, and of the facet it narrows, if any), the API arguments
`SearchRequest.of` takes, the page's URL parameters, the CLI's options, and
its meaning as a whoosh query (which the whoosh engine turns into a bitmap).
PostgreSQL compiles each kind by name (search.pg.sqlquery.SQL_FILTERS);
tests/test_architecture.py checks that every kind is known to both
backends, the page and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime

from whoosh import query as wq
from whoosh.reading import IndexReader

from .analysis import normalize_key
from .article import author_name
from .dates import DateError, parse_query_date
from .queryparse import QueryError, key_query


@dataclass(frozen=True)
class Filters:
    """What a search is narrowed to. Frozen and hashable: the result cache
    keys on the whole value, so a filter added here is in the key too."""

    author: str | None = None
    categories: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


def _author_query(filters: Filters, reader: IndexReader) -> wq.Query:
    # "Piccirillo" finds "Mario Piccirillo", in any case, with or without accents.
    return key_query(reader, "author_key", author_name(filters.author))


def _category_query(filters: Filters, reader: IndexReader) -> wq.Query:
    return wq.Or([wq.Term("category_key", normalize_key(c)) for c in filters.categories])


def _read_author(arguments: dict) -> dict:
    return {"author": arguments.get("author") or None}


def _read_categories(arguments: dict) -> dict:
    category = arguments.get("category")
    categories = [category] if isinstance(category, str) else list(category or [])
    return {"categories": tuple(c for c in categories if c)}


def _read_dates(arguments: dict) -> dict:
    try:
        since = parse_query_date(arguments.get("since"), "iniziale")
        until = parse_query_date(arguments.get("until"), "finale")
    except DateError as e:
        raise QueryError(str(e)) from None
    if since and until and since > until:
        raise QueryError("La data iniziale è successiva a quella finale.")
    return {"since": since, "until": until}


def date_range_query(since: date | None, until: date | None) -> wq.Query:
    """Articles dated from `since` to `until`, both included (either open)."""
    start = datetime.combine(since, dtime.min) if since else None
    end = datetime.combine(until, dtime.max) if until else None
    return wq.DateRange("date", start, end)


@dataclass(frozen=True)
class CliOption:
    """A command-line option of `archivio query` that sets one API argument."""

    names: tuple[str, ...]
    argument: str
    metavar: str
    help: str
    multiple: bool = False


@dataclass(frozen=True)
class FilterKind:
    """One filter, as every layer knows it."""

    # Its part's key in both backends, and the facet it narrows ("" for none).
    name: str
    # The arguments of SearchRequest.of (and make_filters) that set it.
    arguments: tuple[str, ...]
    # The page's and the JSON API's URL parameters.
    params: tuple[str, ...]
    # The CLI's options (`archivio query`), Italian help included.
    options: tuple[CliOption, ...]
    # Its API arguments (a dict holding any of `arguments`) -> Filters fields;
    # QueryError (Italian) for a bad value.
    read: Callable[[dict], dict]
    # Whether a Filters value sets it.
    is_set: Callable[[Filters], bool]
    # Its meaning, as a whoosh query over the index's keyword and date fields.
    query: Callable[[Filters, IndexReader], wq.Query]
    # Counted by a facet of the same name (facets leave their own filter out).
    faceted: bool = True


FILTER_KINDS: tuple[FilterKind, ...] = (
    FilterKind(
        name="author",
        arguments=("author",),
        params=("autore",),
        options=(CliOption(("--author", "--autore"), "author", "NOME", "Solo articoli di questo autore."),),
        read=_read_author,
        is_set=lambda f: bool(f.author),
        query=_author_query,
    ),
    FilterKind(
        name="category",
        arguments=("category",),
        params=("categoria",),
        options=(
            CliOption(
                ("--category", "--categoria"), "category", "NOME", "Solo questa categoria (ripetibile).", True
            ),
        ),
        read=_read_categories,
        is_set=lambda f: bool(f.categories),
        query=_category_query,
    ),
    FilterKind(
        name="dates",
        arguments=("since", "until"),
        params=("da", "a"),
        options=(
            CliOption(("--since", "--da"), "since", "DATA", "Dalla data (AAAA-MM-GG o GG/MM/AAAA), inclusa."),
            CliOption(
                ("--until", "--a"), "until", "DATA", "Fino alla data (AAAA-MM-GG o GG/MM/AAAA), inclusa."
            ),
        ),
        read=_read_dates,
        is_set=lambda f: bool(f.since or f.until),
        query=lambda f, reader: date_range_query(f.since, f.until),
    ),
)


def make_filters(**arguments: object) -> Filters:
    """The filters from the API's arguments (each kind's `arguments`; None or
    empty: not set). QueryError (Italian) for a bad value; TypeError for an
    argument no filter takes (a programming error, not the reader's)."""
    known = {name for kind in FILTER_KINDS for name in kind.arguments}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise TypeError(f"unknown filter arguments: {', '.join(unknown)}")
    fields: dict[str, object] = {}
    for kind in FILTER_KINDS:
        fields.update(kind.read(arguments))
    return Filters(**fields)  # type: ignore[arg-type]
