"""PostgresArchive: the Archive API over PostgreSQL.

Same methods, arguments, return types and errors as search.Archive; the
CLI and the web app get one or the other from search.open_archive.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

import psycopg

from ..analysis import ANALYSIS_VERSION
from ..article import Article
from ..errors import IndexMissing
from ..freshness import IMPORTED, INDEX_CHANGED, Freshness
from ..importers import scan_paths
from ..importing import STORE_BATCH, ImportReport, article_batches, count_dry_run
from ..queryparse import Highlight, QueryError
from ..ranking import Ranking
from ..results import (
    SearchRequest,
    SearchResult,
    with_copies,
)
from ..settings import env_float
from ..suggest import Suggestion
from ..synonyms import Synonyms, default_synonyms
from . import related as related_mod
from . import rum, store, vectors
from . import suggest as suggest_mod
from .connection import STATEMENT_TIMEOUT_MS, Database
from .searching import RANKING_SECONDS, run
from .textprep import VECTORS_SQL, terms, vector_params
from .vocabulary import PgQueryBuilder, VocabularyReader

# Rows whose vectors an older analysis derived (or before the unstemmed vector existed).
OUTDATED = f"(tsv_exact IS NULL OR analysis IS DISTINCT FROM {ANALYSIS_VERSION})"
NO_INDEX = "Indice non trovato nel database PostgreSQL. Esegui `archivio rebuild` per crearlo."


class PostgresArchive:
    """An article archive in PostgreSQL: the `articles` table is the store and the index."""

    def __init__(
        self,
        dsn: str | None = None,
        dsn_read: str | None = None,
        ranking: Ranking | None = None,
        synonyms: Synonyms | None = None,
        lock_timeout: float | None = None,
        pool_size: int | None = None,
    ) -> None:
        dsn = dsn or os.environ.get("ARCHIVIO_DSN")
        if not dsn:
            raise IndexMissing(
                "Manca l'indirizzo del database PostgreSQL: usa --dsn o la variabile ARCHIVIO_DSN."
            )
        self.db = Database(dsn, dsn_read or os.environ.get("ARCHIVIO_DSN_READ"), pool_size)
        self.ranking = ranking or Ranking()
        self._synonyms = synonyms
        self.lock_timeout = (
            lock_timeout if lock_timeout is not None else env_float("ARCHIVIO_LOCK_TIMEOUT", 10.0)
        )
        # Wall seconds for ranking a search's partial matches (searching.RANKING_SECONDS).
        self.ranking_seconds = env_float(
            "ARCHIVIO_PG_RANKING_SECONDS", RANKING_SECONDS, maximum=STATEMENT_TIMEOUT_MS / 1000
        )

    @property
    def synonyms(self) -> Synonyms:
        return self._synonyms or default_synonyms()

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------------------------

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike],
        fmt: str | None = None,
        index: bool = True,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        csv_map: Mapping[str, str] | None = None,
    ) -> ImportReport:
        """Imports files and folders, one transaction per batch of articles
        (store, search vectors and vocabulary together). `index=False` leaves
        the new articles for `rebuild`; an indexed import also indexes them,
        and embeds them when the semantic extra is on (search.pg.vectors)."""
        started = time.perf_counter()
        report = ImportReport()
        items = scan_paths(paths, fmt, csv_map)
        if dry_run:
            count_dry_run(items, report)
            report.elapsed = time.perf_counter() - started
            return report
        with self.db.writing(self.lock_timeout) as conn:
            seen = 0
            for batch, batch_formats in article_batches(items, report, STORE_BATCH):
                if batch:
                    with conn.transaction():
                        results = store.upsert_many(conn, batch, index)
                    for (status, _), item_fmt in zip(results, batch_formats, strict=True):
                        report.count(status, item_fmt)
                seen += len(batch)
                if progress:
                    progress(seen)
            derived = 0
            if index and store.count(conn, "tsv IS NULL"):
                derived = self._derive(conn, "tsv IS NULL", progress)
            if index and (report.added or report.updated or derived):
                vectors.embed_new(self.db, conn)
            with conn.transaction():
                if index and (report.added or report.updated or derived):
                    store.refresh_average_lengths(conn)
                    store.note_event(conn, INDEX_CHANGED)
                store.note_event(conn, IMPORTED)
        report.elapsed = time.perf_counter() - started
        return report

    def rebuild(self, procs: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Re-derives every search vector and the vocabulary from the stored text.

        Batch by batch, each in its own transaction: searches go on meanwhile
        (on the old vectors, then the new). `procs` is accepted for the CLI
        and ignored: the work is PostgreSQL's. The article vectors of the
        semantic extra stay (the text is the same); those missing are then
        embedded, when the extra is on.
        """
        with self.db.writing(self.lock_timeout) as conn:
            rum.ensure(conn)  # made or dropped as ARCHIVIO_PG_RUM says (search.pg.rum)
            store.assign_missing_stories(conn)  # articles stored before stories existed
            count = self._derive(conn, "TRUE", progress)
            vectors.embed_new(self.db, conn)
            with conn.transaction():
                store.note_event(conn, INDEX_CHANGED)
            return count

    def _derive(self, conn: psycopg.Connection, where: str, progress: Callable[[int], None] | None) -> int:
        done = 0
        full = where == "TRUE"
        vocabulary: Counter = Counter()
        batch: list[Article] = []

        def flush() -> None:
            # The author key too: derived from the byline (article.author_key).
            rows = [(*vector_params(a), a.author_key, a.id) for a in batch]
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"UPDATE articles SET {VECTORS_SQL}, author_key = %s WHERE id = %s", rows)
                if not full:
                    store.apply_vocabulary(conn, Counter(t for a in batch for t in terms(a)))
            batch.clear()

        for article in store.iter_all(conn, STORE_BATCH, where if full else f"({where})"):
            batch.append(article)
            if full:
                vocabulary.update(terms(article))
            done += 1
            if len(batch) >= STORE_BATCH:
                flush()
                if progress:
                    progress(done)
        if batch:
            flush()
        if progress:
            progress(done)
        if full:
            # One transaction: readers see the old vocabulary until it commits.
            with conn.transaction():
                conn.execute("DELETE FROM vocabulary")
                with conn.cursor().copy("COPY vocabulary (kind, term, ndoc) FROM STDIN") as copy:
                    for (kind, term), n in vocabulary.items():
                        copy.write_row((kind, term, n))
                store.refresh_average_lengths(conn)
                store.recount_facets(conn)  # what `check` finds astray is set right here
            conn.execute("ANALYZE articles")
            conn.execute("ANALYZE vocabulary")
        return done

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Removes articles (store, search vectors, vocabulary and, by ON DELETE
        CASCADE, article vectors in one transaction); returns those found."""
        ids = list(ids)
        with self.db.writing(self.lock_timeout) as conn, conn.transaction():
            removed = store.delete(conn, list(dict.fromkeys(ids)))
            if removed:
                store.refresh_average_lengths(conn)
                store.note_event(conn, INDEX_CHANGED)
            return removed

    def freshness(self) -> Freshness:
        with self.db.reading() as conn:
            return Freshness.of(store.events(conn))

    def copies(self, article_id: str) -> list[Article]:
        with self.db.reading() as conn:
            return store.other_sources(conn, [article_id]).get(article_id, [])

    def copy_counts(self, article_ids: list[str]) -> dict[str, int]:
        with self.db.reading() as conn:
            return store.copy_counts(conn, article_ids)

    # -- the semantic extra (search.semantic) ------------------------------------------------

    def embed(
        self, progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None
    ) -> int:
        """Embeds the articles without a current vector (all of them the first
        time, which turns the extra on); returns how many. Resumable: each
        batch is committed. `total(n)` is told how many there are to do
        before the first. Raises SemanticUnavailable (the extra not
        installed) and IndexMissing (nothing indexed yet)."""
        self.indexed_count()  # raises IndexMissing with the message
        return vectors.embed(self.db, self.lock_timeout, progress, total)

    def drop_vectors(self) -> bool:
        """Removes the article vectors: the extra off until the next `embed`."""
        with self.db.writing(self.lock_timeout) as conn:
            return vectors.drop(conn)

    def embedded_count(self) -> int | None:
        """Articles with a current vector (None: not embedded)."""
        with self.db.reading() as conn:
            return vectors.embedded_count(conn)

    def export(self, stream: TextIO) -> int:
        """The whole archive as JSON Lines in id order, from one consistent snapshot."""
        count = 0
        with psycopg.connect(self.db.dsn) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                for article in store.iter_all(conn):
                    stream.write(json.dumps(article.to_dict(), ensure_ascii=False))
                    stream.write("\n")
                    count += 1
        return count

    # -- reading -----------------------------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        if "\x00" in article_id:  # no text column can hold it: no such article
            return None
        with self.db.reading() as conn:
            return store.get(conn, article_id)

    def search(self, request: SearchRequest | str = "", **options: Any) -> SearchResult:
        """Searches the archive (see search.Archive.search: no words is browsing
        the filters, newest first); QueryError (Italian) for bad input,
        IndexMissing when nothing is indexed."""
        if not isinstance(request, SearchRequest):
            request = SearchRequest.of(request, **options)
        request = _without_nul(request)
        with self.db.reading() as conn:
            reader = VocabularyReader(conn)
            if not reader.doc_count():
                raise IndexMissing(NO_INDEX)
            text = request.text
            parsed = PgQueryBuilder(reader, self.synonyms, self.ranking).build(text) if text else None
            by_meaning = vectors.reranker(conn, self.ranking.semantic_weight) if parsed else None
            found = run(conn, reader, parsed, request, self.ranking, by_meaning, self.ranking_seconds)
            return with_copies(found, store.other_sources(conn, [h.article.id for h in found.hits]))

    def article_count(self) -> int:
        """Articles in the `articles` table."""
        with self.db.reading() as conn:
            return store.count(conn)

    def indexed_count(self) -> int:
        """Articles indexed (the vocabulary's count); IndexMissing when none is."""
        with self.db.reading() as conn:
            n = VocabularyReader(conn).doc_count()
        if not n:
            raise IndexMissing(NO_INDEX)
        return n

    def has_index(self) -> bool:
        try:
            return self.indexed_count() > 0
        except IndexMissing:
            return False

    def repair(self) -> int | None:
        """Nothing to bring back in step: an import stores and indexes each
        batch in one transaction, so the index never lags the store."""
        return None

    def remove_leftovers(self) -> list[tuple[str, int]]:
        """No folders: an interrupted writer's transaction leaves nothing behind."""
        return []

    def stats(self) -> dict:
        with self.db.reading() as conn:
            stats = store.stats(conn)
            stats["indexed"] = VocabularyReader(conn).doc_count() or None
            stats["embedded"] = vectors.embedded_count(conn)
        return stats

    def check(self) -> dict:
        """Store/index agreement: every article has its search vectors, derived
        by the current analysis, the vocabulary counts the indexed articles,
        and facet_counts counts them per author, category and day. (Articles
        indexed before the unstemmed vector existed, migration 2, or by an
        older analysis, need a rebuild: until then they are searched with
        the current analysis, which finds accented words through the
        unstemmed vector both analyses write alike.) `writer`: the server
        pid of a writer running now, or None."""
        writer = self.db.writer_pid()
        with self.db.reading() as conn:
            total = store.count(conn)
            indexed = VocabularyReader(conn).doc_count()
            missing = sorted(store.ids(conn, "tsv IS NULL"))
            outdated = store.count(conn, f"tsv IS NOT NULL AND {OUTDATED}")
            ranking = rum.status(conn)
            facets_off = store.facet_rows_off(conn)
        counted = total - len(missing)
        return {
            "ok": not missing and not outdated and indexed == counted and not facets_off,
            "analysis": ANALYSIS_VERSION if not outdated else None,
            "outdated": (
                f"{outdated} articoli sono indicizzati con un'analisi del testo precedente "
                f"(attuale: versione {ANALYSIS_VERSION}): accenti, apostrofi, parole composte e numeri "
                "vi sono trattati come prima. Esegui `archivio rebuild` (o `check --fix`)."
                if outdated
                else None
            ),
            "integrity": True,
            "stale": indexed != counted,
            "store": total,
            "index": counted,
            "missing_from_index": missing[:20],
            "missing_from_store": [],
            # The writer's server process: what it has not indexed yet is its work in progress.
            "writer": writer,
            "leftovers": [],
            # search.pg.rum: "rum", "available" (not created here) or "absent".
            "ranking": ranking,
            # Rows of facet_counts (browsing's totals and facets) that differ
            # from the counts of the indexed articles: a rebuild recounts them.
            "facets_off": facets_off,
        }

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Autocomplete suggestions for the text typed so far."""
        return [s.text for s in self.suggestions(prefix, limit)]

    def suggestions(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """The same, with their kind: a word or an article's title."""
        with self.db.reading() as conn:
            return suggest_mod.suggest(conn, _text(prefix) or "", limit)

    def related(self, article_id: str, limit: int = 5) -> list[Article]:
        """Articles most like `article_id`."""
        if "\x00" in article_id:
            return []
        with self.db.reading() as conn:
            return related_mod.related(conn, article_id, limit)

    def highlight_terms(self, query_text: str) -> Highlight:
        """What to mark in an article reached from a search; empty for a bad query."""
        with self.db.reading() as conn:
            builder = PgQueryBuilder(VocabularyReader(conn), self.synonyms, self.ranking)
            try:
                return builder.build(query_text).highlight
            except QueryError:
                return Highlight()


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters: they become spaces."""
    return value.replace("\x00", " ") if value else value


def _without_nul(request: SearchRequest) -> SearchRequest:
    filters = request.filters
    filters = dataclasses.replace(
        filters, author=_text(filters.author), categories=tuple(_text(c) or "" for c in filters.categories)
    )
    return dataclasses.replace(request, text=(_text(request.text) or "").strip(), filters=filters)


__all__ = ["PostgresArchive"]
