"""Archivio's search engine: import, store, analyse, index and query Italian news.

The public API, shared by every backend: `open_archive` gives an
`ArchiveBackend` (whoosh + SQLite by default, or PostgreSQL); searches are
`SearchRequest`s answered by `SearchResult`s. The faces (cli.py, web/)
import these names only. `Archive`, the whoosh archive itself, is loaded
when first asked for, so that a process using PostgreSQL never loads the
whoosh engine (and importing `search` loads neither backend).
"""

from __future__ import annotations

if __name__ != "archivio.search":
    # A checkout's root on sys.path also reaches this folder as `search`: a
    # second copy of the engine (its own caches, its own QueryError) would
    # answer under that name. One name, in a checkout as in a wheel.
    raise ImportError(f"import Archivio's engine as `archivio.search`, not `{__name__}`")

from typing import TYPE_CHECKING, Any

from . import config
from .analysis import normalize_key
from .article import Article, author_name
from .backend import BACKENDS, ArchiveBackend, UnknownBackend, open_archive
from .dates import DateError, format_italian, parse_query_date
from .errors import DatabaseUnavailable, IndexMissing, SemanticUnavailable, WriteFailed, WriterBusy, megabytes
from .exporting import FORMATS as EXPORT_FORMATS
from .exporting import Export, export_lines, export_search
from .filters import FILTER_KINDS
from .freshness import Freshness
from .importers import FORMATS, LABELS, UNKNOWN, CsvMapError, parse_csv_map
from .importing import ImportReport
from .queryparse import QueryError
from .results import (
    FACET_SIZE,
    MAX_DEPTH,
    MAX_FACET_LIMIT,
    MAX_PER_PAGE,
    Filters,
    Hit,
    SearchRequest,
    SearchResult,
)
from .searchlog import SearchLog, log_path
from .settings import SettingError, env_float, env_int
from .snippets import Segment, highlight_all, to_html
from .suggest import Suggestion
from .synonyms import default_synonyms
from .textclean import for_terminal, json_for_terminal
from .warmup import warm

if TYPE_CHECKING:
    from .whoosh_sqlite import Archive


def __getattr__(name: str) -> Any:
    if name == "Archive":
        from .whoosh_sqlite import Archive

        return Archive
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # backends
    "Archive",
    "ArchiveBackend",
    "BACKENDS",
    "UnknownBackend",
    "open_archive",
    # searching
    "FACET_SIZE",
    "FILTER_KINDS",
    "Filters",
    "Freshness",
    "Hit",
    "MAX_DEPTH",
    "MAX_FACET_LIMIT",
    "MAX_PER_PAGE",
    "SearchRequest",
    "SearchResult",
    "Segment",
    "Suggestion",
    # importing
    "Article",
    "CsvMapError",
    "FORMATS",
    "ImportReport",
    "LABELS",
    "UNKNOWN",
    "parse_csv_map",
    # a search's results, all of them (CSV, JSON Lines)
    "EXPORT_FORMATS",
    "Export",
    "export_lines",
    "export_search",
    # settings: the synonyms in use (ARCHIVIO_SYNONYMS), the configuration file
    "config",
    "default_synonyms",
    # a server's start: what its first searches would wait for, loaded before
    "warm",
    # the search log (searches of the site, `archivio report`)
    "SearchLog",
    "log_path",
    # errors
    "DatabaseUnavailable",
    "DateError",
    "IndexMissing",
    "QueryError",
    "SemanticUnavailable",
    "SettingError",
    "WriteFailed",
    "WriterBusy",
    # settings
    "env_float",
    "env_int",
    # presentation and normalisation (the page, the CLI)
    "author_name",
    "for_terminal",
    "format_italian",
    "highlight_all",
    "json_for_terminal",
    "megabytes",
    "normalize_key",
    "parse_query_date",
    "to_html",
]
