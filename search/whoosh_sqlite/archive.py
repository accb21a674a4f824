"""The Archive: the one Python API that the CLI and the web app use."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import shutil
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..analysis import ANALYSIS_VERSION, DEFAULT_ANALYSIS, AnalysisConfig
from ..article import Article
from ..errors import IndexMissing, WriteFailed, megabytes, out_of_space
from ..freshness import IMPORTED, INDEX_CHANGED, Freshness
from ..importers import scan_paths
from ..importing import BATCH_CHARS, STORE_BATCH, ImportReport, article_batches, article_chars, count_dry_run
from ..queryparse import Highlight, QueryError
from ..ranking import Ranking
from ..results import (
    SearchRequest,
    SearchResult,
    with_copies,
)
from ..semantic.model import installed as vectors_installed
from ..settings import env_float
from ..synonyms import Synonyms, default_synonyms
from ..thesaurus import thesaurus_state
from ..upserts import ADDED, UPDATED
from .indexer import IndexManager, damaged, outdated_analysis
from .indexing.builder import default_procs
from .locking import WriterLock, lock_holder
from .querybuilder import WhooshQueryBuilder
from .ranking.docsets import index_version
from .resultcache import ResultCache
from .resultcache import from_environment as result_cache_from_environment
from .searching import run, weighting
from .segcache import cache_mb
from .semantic import GenerationVectors, embed_missing, reranker
from .store import Store

if TYPE_CHECKING:
    from ..suggest import Suggestion

DEFAULT_DATA_DIR = "data"
DEFAULT_INDEX_DIR = "index"
# An import commits the index every this many changed articles.
INDEX_BATCH = 5_000
# In the index folder while the index may lag the store: written before an
# import or a removal first changes the store, deleted once the index has
# caught up. A writer killed in between leaves it behind; `check` reports
# it, and the next import (or `check --fix`) re-indexes the articles it
# lists, incrementally; `rebuild` rebuilds the whole index.
STALE_MARK = "STALE"
# The mark's first line when the lines that follow list every article the
# index may have wrong: a JSON list of ids, fsynced before the store changes
# them, then (once the store committed) {"changed": [...]}, those of the list
# that really changed. The mark starts again from the header after each
# index commit, so a repair re-indexes at most INDEX_BATCH + STORE_BATCH
# articles (5,500): the space of an incremental import, never a second
# index. A mark without the header (older versions) asks for a full rebuild.
STALE_HEADER = "archivio-stale 2"
# Peak disk use of a rebuild beside the live index, per byte of that index:
# 6,000 articles, index 5.9 MB, rebuild --procs 2 peaked at 14.3 MB more
# (the new index and the segment's run files), 2.4 times.
REBUILD_SPACE = 2.5
# What reading a damaged index raises in the middle of a search.
_DAMAGE = (EOFError, OSError, pickle.UnpicklingError, struct.error, zlib.error)


# -- shared by every backend (search.pg too) ----------------------------------------------


# ------------------------------------------------------------------------------------------


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
        lock_timeout: float | None = None,
        analysis: AnalysisConfig = DEFAULT_ANALYSIS,
    ) -> None:
        self.data_dir, self.index_dir = default_dirs(data_dir, index_dir)
        self.ranking = ranking or Ranking()
        self._synonyms = synonyms
        # How long a writer waits for another one to finish before giving up.
        self.lock_timeout = (
            lock_timeout if lock_timeout is not None else env_float("ARCHIVIO_LOCK_TIMEOUT", 10.0)
        )
        cache_mb()  # ARCHIVIO_CACHE_MB checked here, with the other settings
        self.index = IndexManager(self.index_dir, weighting(self.ranking), analysis)
        # The semantic extra's article vectors, in the live generation (search.semantic).
        self.vectors = GenerationVectors(self.index)
        self._local = threading.local()
        # Recent results, dropped when the index changes (None: off).
        self.result_cache: ResultCache | None = result_cache_from_environment()

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
        self.vectors.close()
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
        csv_map: Mapping[str, str] | None = None,
    ) -> ImportReport:
        """Imports files and folders; the store and the index stay in step.

        Articles are stored in batches (one transaction each); the changed
        ones are then indexed incrementally. When there is no index yet, one
        full rebuild at the end is faster than incremental updates.
        `fmt` forces a format (see importers.FORMATS); `csv_map` names the
        CSV column of each field ({"title": "titolo"}). A bad `fmt` or
        `csv_map` raises ValueError before anything is read.
        """
        started = time.perf_counter()
        report = ImportReport()
        items = scan_paths(paths, fmt, csv_map)
        if dry_run:
            count_dry_run(items, report)
            report.elapsed = time.perf_counter() - started
            return report
        with self._writer_lock(), self._out_of_space():
            # A writer that died between the store and the index left the mark:
            # the articles it lists are re-indexed first (the space of an
            # incremental import); without a list, this import ends with a
            # full rebuild.
            stale = self.index_stale()
            if stale and index and self.index.exists():
                reindexed = self._repair_locked()
                if reindexed is not None:
                    report.repaired, report.reindexed, stale = True, reindexed, False
            incremental = index and not stale and self.index.exists()
            if self.index.exists():
                self._mark_stale()
            pending: list[Article] = []
            pending_chars = 0
            seen = 0
            for batch, batch_formats in article_batches(items, report, STORE_BATCH):
                marked = self.index.exists()
                if marked:
                    self._note_stale([article.id for article in batch])
                results = self.store.upsert_many(batch)
                for (status, article), item_fmt in zip(results, batch_formats, strict=True):
                    report.count(status, item_fmt)
                    if status in (ADDED, UPDATED) and incremental:
                        pending.append(article)
                        pending_chars += article_chars(article)
                if marked:
                    self._note_stale([a.id for status, a in results if status in (ADDED, UPDATED)], True)
                seen += len(batch)
                if progress:
                    progress(seen)
                if len(pending) >= INDEX_BATCH or pending_chars >= BATCH_CHARS:
                    self.index.update(pending)
                    pending.clear()
                    pending_chars = 0
                    self._restart_stale()  # the index holds everything stored so far
            if pending:
                self.index.update(pending)
            if index and not incremental and (stale or self.store.count()):
                self._rebuild_locked(progress=progress)  # notes INDEX_CHANGED itself
                report.repaired = report.repaired or stale
            else:
                if incremental or not (stale or report.added or report.updated):
                    self._clear_stale()
                if incremental and (report.added or report.updated or report.repaired):
                    self.store.note_event(INDEX_CHANGED)
            if incremental and (report.added or report.updated):
                self._embed_new()
            self.store.note_event(IMPORTED)
        report.elapsed = time.perf_counter() - started
        return report

    def repair(self) -> int | None:
        """Brings an index that lags the store (an interrupted writer) back in
        step by re-indexing the articles the mark lists, incrementally; returns
        how many, or None when that cannot be done (no index, no mark, a mark
        without its list): then only `rebuild` can."""
        with self._writer_lock(), self._out_of_space():
            if not self.index_stale() or not self.index.exists():
                return None
            reindexed = self._repair_locked()
            if reindexed is not None:
                self.store.note_event(INDEX_CHANGED)
            return reindexed

    def _repair_locked(self) -> int | None:
        ids = self._stale_ids()
        if ids is None:
            return None
        reindexed = 0
        for start in range(0, len(ids), INDEX_BATCH):
            chunk = ids[start : start + INDEX_BATCH]
            found = self.store.get_many(chunk)
            # Each listed article as the store holds it now; gone ones out of the index.
            self.index.update(found.values(), delete_ids=[i for i in chunk if i not in found])
            reindexed += len(found)
        self._clear_stale()
        return reindexed

    @contextmanager
    def _out_of_space(self) -> Iterator[None]:
        """A full disk during an import, a removal or a repair: WriteFailed,
        saying what stayed. (A rebuild's own message comes from _rebuild_locked.)"""
        try:
            yield
        except (OSError, sqlite3.Error) as e:
            if not out_of_space(e):
                raise
            free = shutil.disk_usage(self.index_dir).free
            raise WriteFailed(
                "Spazio su disco esaurito: operazione interrotta. Gli articoli salvati finora restano "
                "nell'archivio; l'indice resta quello di prima. Libera spazio (ora "
                f"{megabytes(free)} liberi in {self.index_dir}), poi ripeti l'importazione "
                "o esegui `archivio check --fix`: gli articoli rimasti fuori dall'indice vengono "
                "indicizzati senza ricostruirlo."
            ) from None

    def space_needed(self) -> int:
        """Bytes a rebuild needs free beside the live index: the new index
        plus phase 1's run files, REBUILD_SPACE times the live index (or the
        store's size when there is no index yet: the index is smaller)."""
        return int(REBUILD_SPACE * self.index.size()) or self.store.path.stat().st_size

    def rebuild(self, procs: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Rebuilds the whole index from the store, switching to it atomically,
        in `procs` processes (None: indexing.builder.default_procs, one per core)."""
        with self._writer_lock():
            return self._rebuild_locked(procs, progress)

    def _rebuild_locked(self, procs: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        self.store.assign_missing_stories()  # articles stored before stories existed
        total = self.store.count()
        try:
            count = self.index.rebuild(
                self.store.iter_all(),
                procs=procs or default_procs(total),
                progress=progress,
                total=total,
                before_switch=lambda live, new: self.vectors.carry_over(live, new, self.store),
            )
        except (OSError, sqlite3.Error) as e:
            if not out_of_space(e):
                raise
            needed, free = self.space_needed(), shutil.disk_usage(self.index_dir).free
            raise WriteFailed(
                "Spazio su disco esaurito: ricostruzione dell'indice annullata (la cartella parziale è "
                "stata rimossa). L'archivio è intatto; l'indice precedente, se c'è, resta in uso. "
                f"Una ricostruzione scrive un secondo indice accanto a quello attuale: servono circa "
                f"{megabytes(needed)} liberi in {self.index_dir}, ora {megabytes(free)}."
            ) from None
        self._clear_stale()
        self._embed_new()
        self.store.note_event(INDEX_CHANGED)
        return count

    # -- the semantic extra (search.semantic) ------------------------------------------

    def embed(
        self, progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None
    ) -> int:
        """Embeds the articles the live index generation has no current vector
        for (all of them the first time, which turns the extra on); returns
        how many. Resumable: each batch is committed. `total(n)` is told how
        many there are to do before the first. Raises SemanticUnavailable
        (the extra not installed) and IndexMissing (no index yet)."""
        if not self.index.exists():
            self.index.open()  # raises IndexMissing with the message
        return embed_missing(self.vectors, self.store, self._writer_lock, progress, total)

    def drop_vectors(self) -> bool:
        """Removes the article vectors: the extra off until the next `embed`."""
        with self._writer_lock():
            return self.vectors.drop()

    def embedded_count(self) -> int | None:
        """Articles with a current vector in the live generation (None: not embedded)."""
        file = self.vectors.open() if self.vectors.enabled() else None
        return file.count_current(self.store.path) if file is not None else None

    def _embed_new(self) -> None:
        """After an import or a rebuild, the new and changed articles embedded
        (the caller holds the writer lock) when the extra is on and installed."""
        if self.vectors.enabled() and vectors_installed():
            embed_missing(self.vectors, self.store, contextlib.nullcontext)

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Removes articles from the index, then the store; returns those found.

        In that order a search running meanwhile never finds an article that
        the store no longer has (a page with a hole in it).
        """
        ids = list(ids)
        with self._writer_lock(), self._out_of_space():
            found = list(self.store.get_many(list(dict.fromkeys(ids))))
            was_stale = self.index_stale()
            has_index = self.index.exists()
            if has_index and found:
                self._mark_stale()
                self._note_stale(found)
                self.index.update([], delete_ids=found)
            removed = self.store.delete(ids)
            vectors = self.vectors.open() if self.vectors.enabled() else None
            if vectors is not None:
                vectors.remove(removed)
            if has_index and not was_stale:
                self._clear_stale()
            if removed:
                self.store.note_event(INDEX_CHANGED)
            return removed

    def freshness(self) -> Freshness:
        return Freshness.of(self.store.events())

    def copies(self, article_id: str) -> list[Article]:
        return self.store.other_sources([article_id]).get(article_id, [])

    def copy_counts(self, article_ids: list[str]) -> dict[str, int]:
        return self.store.copy_counts(article_ids)

    # -- the index-lags-store mark ------------------------------------------------

    def index_stale(self) -> bool:
        """True when a writer stopped between changing the store and the index."""
        return (self.index_dir / STALE_MARK).exists()

    def _mark_stale(self) -> None:
        path = self.index_dir / STALE_MARK
        if path.exists():
            return
        with open(path, "w") as f:
            f.write(f"{STALE_HEADER}\npid {os.getpid()}\n")
            f.flush()
            os.fsync(f.fileno())
        fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _note_stale(self, ids: list[str], changed: bool = False) -> None:
        """Adds `ids` to the mark: before the store changes them, or (`changed`)
        after it committed, as the ones of the batch before that changed."""
        line = json.dumps({"changed": ids} if changed else ids)
        with open(self.index_dir / STALE_MARK, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _restart_stale(self) -> None:
        """The index just caught up with the store: a fresh mark, listing nothing."""
        tmp = self.index_dir / (STALE_MARK + ".tmp")
        with open(tmp, "w") as f:
            f.write(f"{STALE_HEADER}\npid {os.getpid()}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.index_dir / STALE_MARK)

    def _stale_ids(self) -> list[str] | None:
        """The ids the mark lists, or None when it does not list them all."""
        try:
            lines = (self.index_dir / STALE_MARK).read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        if not lines or lines[0] != STALE_HEADER:
            return None
        ids: dict[str, None] = {}
        last: list[str] = []
        for line in lines[2:]:
            try:
                value = json.loads(line)
            except ValueError:
                continue  # torn by a kill before its batch reached the store
            if isinstance(value, dict):
                for i in set(last) - set(value.get("changed", [])):
                    ids.pop(i, None)  # stored unchanged: the index has it right
                last = []
            elif isinstance(value, list):
                last = [i for i in value if isinstance(i, str) and i not in ids]
                ids.update(dict.fromkeys(last))
        return list(ids)

    def _clear_stale(self) -> None:
        (self.index_dir / STALE_MARK).unlink(missing_ok=True)

    def export(self, stream: TextIO) -> int:
        """Writes the whole archive to `stream` as JSON Lines in the corpus schema
        (id, title, subtitle, author, date, category, body, url, source), in id
        order; returns how many articles. Importing the output into an empty
        archive gives the same articles.

        Streams from the store a batch at a time, inside one read transaction:
        a consistent snapshot even while an import writes (WAL lets it go on).
        """
        store = self.store
        count = 0
        store.db.execute("BEGIN")
        try:
            for article in store.iter_all():
                stream.write(json.dumps(article.to_dict(), ensure_ascii=False))
                stream.write("\n")
                count += 1
        finally:
            store.db.execute("COMMIT")
        return count

    # -- reading ---------------------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        return self.store.get(article_id)

    def search(self, request: SearchRequest | str = "", **options: Any) -> SearchResult:
        """Searches the archive: a SearchRequest, or the words and the
        arguments of SearchRequest.of (which checks them). No words: the
        articles the filters allow (all of them without filters), newest
        first unless the sort says oldest. Raises QueryError (Italian
        message) for bad input and IndexMissing when there is no usable index."""
        if not isinstance(request, SearchRequest):
            request = SearchRequest.of(request, **options)
        text = request.text
        cache = self.result_cache
        if cache is not None:
            started = time.perf_counter()
            # The thesaurus is installed, removed or changed apart from the index.
            thesaurus = thesaurus_state() if self.ranking.thesaurus_weight > 0 else None
            index = index_version(self.index.searcher())
            key = (index, id(self.synonyms), self.vectors.state(), thesaurus, request)
            cached = cache.get(key)
            if isinstance(cached, SearchResult):
                return dataclasses.replace(cached, elapsed=time.perf_counter() - started)

        def attempt() -> SearchResult:
            searcher = self.index.searcher()
            builder = WhooshQueryBuilder(searcher.reader(), self.synonyms, self.ranking)
            parsed = builder.build(text) if text else None
            by_meaning = reranker(self.vectors, self.store, self.ranking.semantic_weight) if parsed else None
            try:
                found = run(searcher, self.store, parsed, request, self.ranking, by_meaning)
                return with_copies(found, self.store.other_sources([h.article.id for h in found.hits]))
            except _DAMAGE as e:  # a segment damaged where opening did not look
                raise damaged(self.index.current_generation() or self.index_dir, e) from e

        result = attempt()
        if result.stale:
            # This thread's searcher predates a removal (the index drops an
            # article just before the store does): look again on a fresh one.
            self.index.close()
            result = attempt()
        if cache is not None and not result.stale:
            cache.put(key, result)
        return result

    def article_count(self) -> int:
        """Articles in the store."""
        return self.store.count()

    def indexed_count(self) -> int:
        """Articles in the index; IndexMissing when there is none."""
        return self.index.doc_count()

    def has_index(self) -> bool:
        return self.index.exists()

    def stats(self) -> dict:
        stats = self.store.stats()
        try:
            stats["indexed"] = self.index.doc_count()
        except IndexMissing:
            stats["indexed"] = None
        stats["embedded"] = self.embedded_count()
        return stats

    def check(self) -> dict:
        """Store/index agreement: counts, the ids present on one side only, the
        store's own integrity, and whether a writer stopped half-way (`stale`:
        the index may hold older versions of some articles). `writer`: the pid
        of a writer running now (0 if unknown), whose work in progress explains
        any difference; None when none runs. `leftovers`: folders of rebuilds
        and imports that stopped (name, bytes), listed only when no writer runs."""
        lock = self.data_dir / "archivio.lock"
        writer = lock_holder(lock)
        report = self._compare()
        if not report["ok"] and writer is None:
            # A writer may have started while the two sides were read.
            writer = lock_holder(lock)
        leftovers = self.index.leftover_builds() if writer is None else []
        report["writer"] = writer
        report["leftovers"] = leftovers
        report["ok"] = report["ok"] and not leftovers
        return report

    def remove_leftovers(self) -> list[tuple[str, int]]:
        """Removes the folders of rebuilds and imports that stopped; returns them."""
        with self._writer_lock():
            return self.index.remove_leftovers()

    def _compare(self) -> dict:
        integrity = self.store.integrity_ok()
        store_ids = self.store.ids()
        stale = self.index_stale()
        try:
            index_ids = self.index.doc_ids()
        except IndexMissing as e:
            return {
                "ok": False,
                "integrity": integrity,
                "stale": stale,
                "store": len(store_ids),
                "index": None,
                "error": str(e),
                "missing_from_index": len(store_ids),
                "missing_from_store": 0,
            }
        missing = store_ids - index_ids
        extra = index_ids - store_ids
        analysis = self.index.analysis_version()
        return {
            "ok": not missing and not extra and integrity and not stale and analysis >= ANALYSIS_VERSION,
            "analysis": analysis,
            "outdated": outdated_analysis(analysis) if analysis < ANALYSIS_VERSION else None,
            "integrity": integrity,
            "stale": stale,
            "store": len(store_ids),
            "index": len(index_ids),
            "missing_from_index": sorted(missing)[:20] if missing else [],
            "missing_from_store": sorted(extra)[:20] if extra else [],
        }

    # -- for the web page: autocomplete, related articles, article highlights -----
    # (the logic lives in search/suggest.py and search/related.py)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Autocomplete suggestions for the text typed so far. Raises IndexMissing."""
        return [s.text for s in self.suggestions(prefix, limit)]

    def suggestions(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """The same, with their kind: a word or an article's title. Raises IndexMissing."""
        from .suggest import suggest

        return suggest(self.index.searcher(), self.store, prefix, limit)

    def related(self, article_id: str, limit: int = 5) -> list[Article]:
        """Articles most like `article_id` (more-like-this). Raises IndexMissing."""
        from .related import related

        return related(self.index.searcher(), self.store, article_id, limit)

    def highlight_terms(self, query_text: str) -> Highlight:
        """What to mark in an article reached from a search; empty for a bad query."""
        builder = WhooshQueryBuilder(self.index.searcher().reader(), self.synonyms, self.ranking)
        try:
            parsed = builder.build(query_text)
        except QueryError:
            return Highlight()
        return parsed.highlight


__all__ = ["Archive", "ImportReport"]
