"""Archivio's search engine: import, store, analyse, index and query Italian news."""

from .analysis import normalize_key
from .archive import Archive, ImportReport, megabytes
from .article import Article, author_name
from .backend import BACKENDS, UnknownBackend, open_archive
from .dates import DateError, format_italian, parse_query_date
from .importers import FORMATS, UNKNOWN, CsvMapError, parse_csv_map
from .indexer import IndexMissing
from .locking import WriteFailed, WriterBusy
from .queryparse import QueryError
from .searching import FACET_SIZE, MAX_FACET_LIMIT, SearchResult
from .settings import SettingError, env_float, env_int
from .snippets import Segment, highlight_all, to_html
from .textclean import for_terminal, json_for_terminal


def __getattr__(name: str) -> object:
    # The PostgreSQL backend's names load psycopg: only when asked for.
    if name == "DatabaseUnavailable":
        from .pg.connection import DatabaseUnavailable

        return DatabaseUnavailable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Archive",
    "Article",
    "BACKENDS",
    "CsvMapError",
    "DatabaseUnavailable",
    "DateError",
    "FACET_SIZE",
    "FORMATS",
    "ImportReport",
    "IndexMissing",
    "MAX_FACET_LIMIT",
    "QueryError",
    "SearchResult",
    "Segment",
    "SettingError",
    "UNKNOWN",
    "UnknownBackend",
    "WriteFailed",
    "WriterBusy",
    "author_name",
    "env_float",
    "env_int",
    "for_terminal",
    "format_italian",
    "highlight_all",
    "json_for_terminal",
    "megabytes",
    "normalize_key",
    "open_archive",
    "parse_csv_map",
    "parse_query_date",
    "to_html",
]
