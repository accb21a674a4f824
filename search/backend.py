"""The seam between the faces and the engines: one factory for every backend.

    open_archive()                                   # whoosh + SQLite in ./data, ./index
    open_archive(backend="postgres", dsn="postgresql://archivio@db/archivio")

Arguments win over the environment (ARCHIVIO_BACKEND, ARCHIVIO_DSN,
ARCHIVIO_DSN_READ, ARCHIVIO_DATA, ARCHIVIO_INDEX). Both archives implement
`ArchiveBackend` (tests/test_architecture.py checks the names and the
signatures); the CLI and the web app use nothing else of them. Each backend
is imported only when it is opened: PostgreSQL never loads the whoosh
engine, nor whoosh PostgreSQL's driver.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TextIO

from .article import Article
from .freshness import Freshness
from .importing import ImportReport
from .queryparse import Highlight
from .results import SearchRequest, SearchResult
from .settings import SettingError
from .suggest import Suggestion

BACKENDS = ("whoosh", "postgres")


class ArchiveBackend(Protocol):
    """What an archive offers the faces, whatever keeps it. Every method
    answers the same on every backend; errors are search.errors' (and
    QueryError, DateError), with Italian messages."""

    # -- reading ------------------------------------------------------------------------

    def search(self, request: SearchRequest | str = "", **options: Any) -> SearchResult:
        """A SearchRequest, or the words and SearchRequest.of's arguments."""
        ...

    def get(self, article_id: str) -> Article | None: ...

    def related(self, article_id: str, limit: int = 5) -> list[Article]: ...

    def suggest(self, prefix: str, limit: int = 8) -> list[str]: ...

    def suggestions(self, prefix: str, limit: int = 8) -> list[Suggestion]: ...

    def highlight_terms(self, query_text: str) -> Highlight: ...

    def export(self, stream: TextIO) -> int: ...

    # -- state --------------------------------------------------------------------------

    def article_count(self) -> int: ...

    def indexed_count(self) -> int:
        """IndexMissing when there is no index."""
        ...

    def has_index(self) -> bool: ...

    def stats(self) -> dict: ...

    def copies(self, article_id: str) -> list[Article]:
        """The other articles of the article's story (search.stories: the same
        news item from other outlets, wire copies), oldest first."""
        ...

    def copy_counts(self, article_ids: list[str]) -> dict[str, int]:
        """For each of `article_ids` that has copies, how many (one query for a page)."""
        ...

    def freshness(self) -> Freshness:
        """How many times the searchable index changed, when the last import
        finished (search.freshness; /metrics reads it)."""
        ...

    def check(self) -> dict: ...

    # -- writing (one writer at a time: WriterBusy past the lock timeout) ---------------

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike],
        fmt: str | None = None,
        index: bool = True,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        csv_map: Mapping[str, str] | None = None,
    ) -> ImportReport: ...

    def rebuild(self, procs: int | None = None, progress: Callable[[int], None] | None = None) -> int: ...

    def repair(self) -> int | None:
        """Re-indexes what an interrupted writer left out; None when only a rebuild can."""
        ...

    def remove(self, ids: Iterable[str]) -> list[str]: ...

    def remove_leftovers(self) -> list[tuple[str, int]]: ...

    # -- the semantic extra (search.semantic) --------------------------------------------

    def embed(
        self, progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None
    ) -> int:
        """Embeds the articles without a current vector (turns the extra on); resumable."""
        ...

    def drop_vectors(self) -> bool:
        """Removes every article vector (the extra off); whether there were any."""
        ...

    def embedded_count(self) -> int | None:
        """Articles with a current vector (None: the extra is off)."""
        ...

    def close(self) -> None: ...


class UnknownBackend(ValueError):
    """A backend name that is not one of BACKENDS (the message is Italian)."""


def backend_name(backend: str | None = None) -> str:
    name = (backend or os.environ.get("ARCHIVIO_BACKEND") or "whoosh").strip().lower()
    if name in ("pg", "postgresql"):
        name = "postgres"
    if name not in BACKENDS:
        raise UnknownBackend(f"Backend sconosciuto: {name!r}. Usa uno tra: {', '.join(BACKENDS)}.")
    return name


def open_archive(
    backend: str | None = None,
    dsn: str | None = None,
    dsn_read: str | None = None,
    data_dir: str | os.PathLike | None = None,
    index_dir: str | os.PathLike | None = None,
    **options: Any,
) -> ArchiveBackend:
    """The archive of `backend` ("whoosh", the default, or "postgres").

    `options` go to the archive's constructor (ranking, synonyms, lock_timeout).
    """
    if backend_name(backend) == "postgres":
        try:
            from .pg import PostgresArchive
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("psycopg"):
                raise
            raise SettingError(
                "Il motore postgres richiede il pacchetto aggiuntivo: pip install 'archivio[postgres]'."
            ) from None

        return PostgresArchive(dsn, dsn_read, **options)
    from .whoosh_sqlite import Archive

    return Archive(data_dir, index_dir, **options)


__all__ = ["BACKENDS", "ArchiveBackend", "UnknownBackend", "backend_name", "open_archive"]
