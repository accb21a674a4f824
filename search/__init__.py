"""Archivio's search engine: import, store, analyse, index and query Italian news."""

from .archive import Archive, ImportReport
from .article import Article
from .backend import BACKENDS, UnknownBackend, open_archive
from .dates import DateError
from .indexer import IndexMissing
from .locking import WriteFailed, WriterBusy
from .queryparse import QueryError
from .searching import SearchResult

__all__ = [
    "Archive",
    "Article",
    "BACKENDS",
    "DateError",
    "ImportReport",
    "IndexMissing",
    "QueryError",
    "SearchResult",
    "UnknownBackend",
    "WriteFailed",
    "WriterBusy",
    "open_archive",
]
