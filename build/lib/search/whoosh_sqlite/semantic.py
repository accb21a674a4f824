"""The whoosh archive's article vectors: kept in the live index generation,
carried over by a rebuild, filled in by `archivio embed` and imports, read
by a search to re-rank its fallback (search.semantic)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..article import Article
from ..semantic import Embedder, SemanticUnavailable, load_embedder, rerank_by_meaning
from ..semantic.embedding import embed_into, missing
from ..semantic.model import installed
from ..semantic.vectors import FILE_NAME, VectorFile
from ..settings import SettingError
from .indexer import IndexManager
from .store import Store

Rerank = Callable[[str, list[tuple[str, float]]], list[tuple[str, float]]]


class GenerationVectors:
    """The vectors file of the live generation: present means the archive
    is embedded (the extra is on); a file per generation, one connection
    per thread."""

    def __init__(self, index: IndexManager) -> None:
        self.index = index
        self._local = threading.local()

    def path(self, gen: Path | None = None) -> Path | None:
        gen = gen or self.index.current_generation()
        return gen / FILE_NAME if gen is not None else None

    def enabled(self) -> bool:
        path = self.path()
        return path is not None and path.exists()

    def state(self) -> tuple | None:
        """What identifies the vectors now (None: not embedded): the result
        cache's key holds it, so an `embed` running beside a server is seen
        by its next search, never hidden behind a cached answer."""
        path = self.path()
        if path is None:
            return None
        stats = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(str(path) + suffix)
            except FileNotFoundError:
                if not suffix:
                    return None
                continue
            stats.append((st.st_size, st.st_mtime_ns))
        return tuple(stats)

    def open(self, create: bool = False) -> VectorFile | None:
        """This thread's connection to the live generation's file (None: not embedded)."""
        path = self.path()
        if path is None:
            return None
        cached: VectorFile | None = getattr(self._local, "file", None)
        if cached is not None and cached.path == path and path.exists():
            return cached
        if cached is not None:
            cached.close()
            self._local.file = None
        if not (create or path.exists()):
            return None
        embedder = load_embedder() if create else None
        vectors = VectorFile(path, embedder.name if embedder else "", embedder.dim if embedder else 0, create)
        self._local.file = vectors
        return vectors

    def close(self) -> None:
        cached = getattr(self._local, "file", None)
        if cached is not None:
            cached.close()
            self._local.file = None

    def carry_over(self, old_gen: Path | None, new_gen: Path, store: Store) -> int:
        """Before a rebuild switches: the vectors of the live generation still
        current for the store, copied into the new one (none: not embedded)."""
        old = self.path(old_gen) if old_gen is not None else None
        if old is None or not old.exists():
            return 0
        source = VectorFile(old)
        try:
            target = VectorFile(new_gen / FILE_NAME, source.model, source.dim, create=True)
            try:
                return source.copy_current(target, store.content_hashes())
            finally:
                target.close()
        finally:
            source.close()

    def drop(self) -> bool:
        """Removes the live generation's vectors (the extra off); whether there were any."""
        path = self.path()
        self.close()
        if path is None or not path.exists():
            return False
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return True


def embed_missing(
    vectors: GenerationVectors,
    store: Store,
    locked: Callable[[], object],
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """Embeds every article of the store the live generation has no current
    vector for; returns how many (search.semantic.embedding.embed_into).
    `locked()` gives the writer lock, as a context manager; each batch is
    written into whatever generation is live then."""
    return embed_into(_GenerationSink(vectors, store, locked), load_embedder(), progress, total)


class _GenerationSink:
    """The live generation's vectors file as embed_into's VectorSink."""

    def __init__(self, vectors: GenerationVectors, store: Store, locked: Callable[[], object]) -> None:
        self.vectors, self.store, self.locked = vectors, store, locked

    def open(self, embedder: Embedder) -> str:
        file = self.vectors.open(create=True)
        assert file is not None
        self.file = file
        return file.model

    def todo(self) -> list[str]:
        return missing(self.store.content_hashes(), self.file.digests())

    def articles(self, ids: list[str]) -> Iterator[tuple[Article, str]]:
        """Read in chunks; those removed meanwhile are skipped."""
        for start in range(0, len(ids), 256):
            chunk = ids[start : start + 256]
            articles = self.store.get_many(chunk)
            digests = self.store.content_hashes(list(articles))
            for i in chunk:
                if i in articles:
                    yield articles[i], digests[i]

    def put(self, rows: list[tuple[str, str, np.ndarray]]) -> bool:
        file = self.vectors.open()
        if file is None:
            return False
        file.put(rows)
        return True


def reranker(vectors: GenerationVectors, store: Store, weight: float) -> Rerank | None:
    """What re-ranks a fallback in this archive now (None: the extra is off:
    no vectors, not installed, or a weight of 0)."""
    if weight <= 0 or not vectors.enabled() or not installed():
        return None
    try:
        embedder = load_embedder()
        file = vectors.open()
    except (SemanticUnavailable, SettingError, sqlite3.Error):
        # A bad ARCHIVIO_EMBED_THREADS costs the re-ranking, never the search
        # (`archivio embed` reports it).
        return None
    if file is None or file.model != embedder.name:
        return None

    def rerank(text: str, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        def vectors_of(ids: list[str]):
            return file.get(store.content_hashes(ids))

        try:
            return rerank_by_meaning(text, ranked, embedder, vectors_of, weight)
        except sqlite3.Error:  # a damaged vectors file costs the re-ranking, never the search
            return ranked

    return rerank
