"""The whoosh index on disk: generations, atomic rebuilds, incremental updates.

Layout of the index directory:

    CURRENT        name of the live generation; replaced atomically
    gen-000003/    the live whoosh index
    gen-000002/    the previous one, kept so readers still open on it finish
    gen-000004.building/   a rebuild in progress (left over if it was killed)

A rebuild writes a whole new generation beside the live one and switches
CURRENT with os.replace, so a reader sees the old index or the new one,
never a half-built one; a killed rebuild leaves CURRENT untouched.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index
from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from .analysis import DEFAULT_ANALYSIS, AnalysisConfig
from .article import Article
from .schema import build_schema, document

CURRENT = "CURRENT"
BUILDING = ".building"
# whoosh's own write lock: how long an incremental writer waits for it.
WRITER_TIMEOUT = 10.0


class IndexMissing(RuntimeError):
    """There is no usable index; the message says to run `rebuild`."""


class IndexManager:
    def __init__(
        self,
        index_dir: str | Path,
        weighting: WeightingModel | None = None,
        analysis: AnalysisConfig = DEFAULT_ANALYSIS,
    ) -> None:
        self.dir = Path(index_dir)
        self.weighting = weighting
        # Used for new generations only; an index keeps the schema it was built with.
        self.analysis = analysis
        self._local = threading.local()

    # -- locating ------------------------------------------------------------

    def current_generation(self) -> Path | None:
        try:
            name = (self.dir / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        path = self.dir / name
        return path if name and path.is_dir() else None

    def exists(self) -> bool:
        return self.current_generation() is not None

    def open(self) -> Index:
        gen = self.current_generation()
        if gen is None:
            raise IndexMissing(f"Indice non trovato in {self.dir}. Esegui `archivio rebuild` per crearlo.")
        try:
            return whoosh_index.open_dir(str(gen))
        except Exception as e:  # whoosh raises several kinds for a damaged index
            raise IndexMissing(
                f"Indice danneggiato in {gen} ({e.__class__.__name__}). "
                "Esegui `archivio rebuild` per ricostruirlo dall'archivio."
            ) from e

    # -- reading ---------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher for this thread, reused until the index changes.

        whoosh readers share file handles, so each thread keeps its own.
        The freshness check is throttled: it lists a directory.
        """
        local = self._local
        now = time.monotonic()
        searcher: Searcher | None = getattr(local, "searcher", None)
        if searcher is not None and now - local.checked < 0.5:
            return searcher
        gen = self.current_generation()
        if searcher is not None and gen == local.generation and searcher.up_to_date():
            local.checked = now
            return searcher
        if searcher is not None:
            searcher.close()
        local.searcher = None
        ix = self.open()
        fresh = ix.searcher(weighting=self.weighting) if self.weighting else ix.searcher()
        local.searcher, local.generation, local.checked = fresh, gen, now
        return fresh

    def close(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # -- writing ---------------------------------------------------------------

    def rebuild(
        self,
        articles: Iterable[Article],
        procs: int = 1,
        progress: Callable[[int], None] | None = None,
        limitmb: int = 256,
    ) -> int:
        """Indexes `articles` into a new generation, then switches to it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        name = self._next_generation_name()
        building = self.dir / (name + BUILDING)
        building.mkdir()
        ix = whoosh_index.create_in(str(building), build_schema(self.analysis))
        if procs > 1:
            writer = ix.writer(procs=procs, limitmb=limitmb, multisegment=True)
        else:
            writer = ix.writer(limitmb=limitmb)
        count = 0
        try:
            for article in articles:
                writer.add_document(**document(article))
                count += 1
                if progress and count % 200 == 0:
                    progress(count)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        if progress:
            progress(count)
        ix.close()
        _fsync_dir(building)
        final = self.dir / name
        os.rename(building, final)
        self._switch_to(name)
        self._remove_old_generations(keep={name, self._previous})
        return count

    def writer(self) -> IndexWriter:
        """A writer on the live index (incremental import or removal)."""
        return self.open().writer(timeout=WRITER_TIMEOUT)

    def update(self, articles: Iterable[Article], delete_ids: Iterable[str] = ()) -> None:
        writer = self.writer()
        try:
            for article_id in delete_ids:
                writer.delete_by_term("id", article_id)
            for article in articles:
                writer.update_document(**document(article))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise

    def doc_ids(self) -> set[str]:
        with self.open().searcher() as s:
            return {fields["id"] for fields in s.all_stored_fields()}

    def doc_count(self) -> int:
        with self.open().searcher() as s:
            return s.doc_count()

    # -- generations -------------------------------------------------------------

    _previous: str | None = None

    def _next_generation_name(self) -> str:
        numbers = [
            int(p.name.split("-")[1].removesuffix(BUILDING))
            for p in self.dir.glob("gen-*")
            if p.name.split("-")[1].removesuffix(BUILDING).isdigit()
        ]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def _switch_to(self, name: str) -> None:
        current = self.current_generation()
        self._previous = current.name if current else None
        tmp = self.dir / (CURRENT + ".tmp")
        with open(tmp, "w") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / CURRENT)
        _fsync_dir(self.dir)

    def _remove_stale_builds(self) -> None:
        for p in self.dir.glob("gen-*" + BUILDING):
            shutil.rmtree(p, ignore_errors=True)

    def _remove_old_generations(self, keep: set[str | None]) -> None:
        for p in self.dir.glob("gen-*"):
            if p.name not in keep and not p.name.endswith(BUILDING):
                shutil.rmtree(p, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
