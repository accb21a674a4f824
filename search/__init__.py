"""Archivio's search engine: import, store, analyse, index and query Italian news."""

from .analysis import normalize_key
from .archive import Archive, ImportReport
from .article import Article, author_name
from .backend import BACKENDS, UnknownBackend, open_archive
from .dates import DateError, format_italian, parse_query_date
from .indexer import IndexMissing
from .locking import WriteFailed, WriterBusy
from .queryparse import QueryError
from .searching import FACET_SIZE, MAX_FACET_LIMIT, SearchResult
from .settings import env_float, env_int
from .snippets import highlight_all, to_html

__all__ = [
    "Archive",
    "Article",
    "BACKENDS",
    "DateError",
    "FACET_SIZE",
    "ImportReport",
    "IndexMissing",
    "MAX_FACET_LIMIT",
    "QueryError",
    "SearchResult",
    "UnknownBackend",
    "WriteFailed",
    "WriterBusy",
    "author_name",
    "env_float",
    "env_int",
    "format_italian",
    "highlight_all",
    "normalize_key",
    "open_archive",
    "parse_query_date",
    "to_html",
]
