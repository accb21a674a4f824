"""The Archive: the one Python API that the CLI and the web app use."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .analysis import DEFAULT_ANALYSIS, AnalysisConfig
from .article import Article
from .dates import DateError, parse_query_date
from .importers import Rejection, read_paths
from .indexer import IndexManager, IndexMissing
from .locking import WriterLock
from .queryparse import Highlight, QueryBuilder, QueryError
from .ranking import Ranking
from .searching import Filters, SearchResult, check_paging, run, weighting
from .store import ADDED, DUPLICATE, UNCHANGED, UPDATED, Store
from .synonyms import Synonyms, default_synonyms

DEFAULT_DATA_DIR = "data"
DEFAULT_INDEX_DIR = "index"
STORE_BATCH = 500
# An import commits the index every this many changed articles.
INDEX_BATCH = 5_000


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def count(self, status: str) -> None:
        key = {ADDED: "added", UPDATED: "updated", UNCHANGED: "unchanged", DUPLICATE: "duplicates"}[status]
        setattr(self, key, getattr(self, key) + 1)

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "rejected": [{"path": r.path, "location": r.location, "reason": r.reason} for r in self.rejected],
        }


def default_dirs(
    data_dir: str | os.PathLike | None, index_dir: str | os.PathLike | None
) -> tuple[Path, Path]:
    """Options win over ARCHIVIO_DATA / ARCHIVIO_INDEX, which win over ./data and ./index."""
    data = data_dir or os.environ.get("ARCHIVIO_DATA") or DEFAULT_DATA_DIR
    index = index_dir or os.environ.get("ARCHIVIO_INDEX") or DEFAULT_INDEX_DIR
    return Path(data), Path(index)


class Archive:
    """An article archive: a SQLite store plus the whoosh index derived from it."""

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        index_dir: str | os.PathLike | None = None,
        ranking: Ranking | None = None,
        synonyms: Synonyms | None = None,
        lock_timeout: float = 10.0,
        analysis: AnalysisConfig = DEFAULT_ANALYSIS,
    ) -> None:
        self.data_dir, self.index_dir = default_dirs(data_dir, index_dir)
        self.ranking = ranking or Ranking()
        self._synonyms = synonyms
        self.lock_timeout = lock_timeout
        self.index = IndexManager(self.index_dir, weighting(self.ranking), analysis)
        self._local = threading.local()

    @property
    def store(self) -> Store:
        """A store connection for the calling thread (sqlite3 objects are per thread)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.data_dir / "archive.sqlite")
        return store

    @property
    def synonyms(self) -> Synonyms:
        return self._synonyms or default_synonyms()

    def close(self) -> None:
        self.index.close()
        store = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None

    def _writer_lock(self) -> WriterLock:
        return WriterLock(self.data_dir / "archivio.lock", self.lock_timeout)

    # -- writing ---------------------------------------------------------------------

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike],
        fmt: str | None = None,
        index: bool = True,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Imports files and folders; the store and the index stay in step.

        Articles are stored in batches (one transaction each); the changed
        ones are then indexed incrementally. When there is no index yet, one
        full rebuild at the end is faster than incremental updates.
        """
        started = time.perf_counter()
        report = ImportReport()
        if dry_run:
            for item in read_paths(paths, fmt):
                if isinstance(item, Rejection):
                    report.rejected.append(item)
                else:
                    report.added += 1
            report.elapsed = time.perf_counter() - started
            return report
        with self._writer_lock():
            incremental = index and self.index.exists()
            pending: list[Article] = []
            batch: list[Article] = []
            seen = 0

            def flush_store() -> None:
                for status, article in self.store.upsert_many(batch):
                    report.count(status)
                    if status in (ADDED, UPDATED) and incremental:
                        pending.append(article)
                batch.clear()

            for item in read_paths(paths, fmt):
                if isinstance(item, Rejection):
                    report.rejected.append(item)
                    continue
                batch.append(item)
                seen += 1
                if len(batch) >= STORE_BATCH:
                    flush_store()
                    if progress:
                        progress(seen)
                if len(pending) >= INDEX_BATCH:
                    self.index.update(pending)
                    pending.clear()
            flush_store()
            if progress:
                progress(seen)
            if pending:
                self.index.update(pending)
            if index and not incremental and self.store.count():
                self._rebuild_locked()
        report.elapsed = time.perf_counter() - started
        return report

    def rebuild(self, procs: int = 1, progress: Callable[[int], None] | None = None) -> int:
        """Rebuilds the whole index from the store, switching to it atomically."""
        with self._writer_lock():
            return self._rebuild_locked(procs, progress)

    def _rebuild_locked(self, procs: int = 1, progress: Callable[[int], None] | None = None) -> int:
        return self.index.rebuild(self.store.iter_all(), procs=procs, progress=progress)

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Removes articles from the store and the index; returns those found."""
        ids = list(ids)
        with self._writer_lock():
            removed = self.store.delete(ids)
            if removed and self.index.exists():
                self.index.update([], delete_ids=removed)
            return removed

    # -- reading ---------------------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        return self.store.get(article_id)

    def search(
        self,
        text: str,
        author: str | None = None,
        category: str | list[str] | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 10,
        facets: bool = True,
    ) -> SearchResult:
        """Searches the archive. Raises QueryError (Italian message) for bad input
        and IndexMissing when there is no usable index."""
        categories = [category] if isinstance(category, str) else list(category or [])
        try:
            filters = Filters(
                author=author or None,
                categories=[c for c in categories if c],
                since=parse_query_date(since, "iniziale"),
                until=parse_query_date(until, "finale"),
            )
        except DateError as e:
            raise QueryError(str(e)) from None
        if filters.since and filters.until and filters.since > filters.until:
            raise QueryError("La data iniziale è successiva a quella finale.")
        check_paging(page, per_page, sort)
        searcher = self.index.searcher()
        parsed = QueryBuilder(searcher.reader(), self.synonyms, self.ranking).build(text)
        return run(searcher, self.store, parsed, filters, self.ranking, sort, page, per_page, facets)

    def stats(self) -> dict:
        stats = self.store.stats()
        try:
            stats["indexed"] = self.index.doc_count()
        except IndexMissing:
            stats["indexed"] = None
        return stats

    def check(self) -> dict:
        """Store/index agreement: counts and the ids present on one side only."""
        store_ids = self.store.ids()
        try:
            index_ids = self.index.doc_ids()
        except IndexMissing as e:
            return {
                "ok": False,
                "store": len(store_ids),
                "index": None,
                "error": str(e),
                "missing_from_index": len(store_ids),
                "missing_from_store": 0,
            }
        missing = store_ids - index_ids
        extra = index_ids - store_ids
        return {
            "ok": not missing and not extra and self.store.integrity_ok(),
            "store": len(store_ids),
            "index": len(index_ids),
            "missing_from_index": sorted(missing)[:20] if missing else [],
            "missing_from_store": sorted(extra)[:20] if extra else [],
        }

    # -- for the web page: autocomplete, related articles, article highlights -----
    # (the logic lives in search/suggest.py and search/related.py)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Autocomplete suggestions for the text typed so far. Raises IndexMissing."""
        from .suggest import suggest

        return suggest(self.index.searcher(), self.store, prefix, limit)

    def related(self, article_id: str, limit: int = 5) -> list[Article]:
        """Articles most like `article_id` (more-like-this). Raises IndexMissing."""
        from .related import related

        return related(self.index.searcher(), self.store, article_id, limit)

    def highlight_terms(self, query_text: str) -> Highlight:
        """What to mark in an article reached from a search; empty for a bad query."""
        builder = QueryBuilder(self.index.searcher().reader(), self.synonyms, self.ranking)
        try:
            parsed = builder.build(query_text)
        except QueryError:
            return Highlight()
        return parsed.highlight


__all__ = ["Archive", "ImportReport"]
