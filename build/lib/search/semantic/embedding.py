"""The step that embeds the articles an archive has no current vector for,
shared by the backends through `VectorSink`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from ..article import Article
from ..errors import WriteFailed
from .model import Embedder, passage_text

# Articles embedded per call to the model and per commit: ~8 s of work on
# one core, so an interrupted `archivio embed` loses little and a writer
# waiting for the lock between batches waits little.
BATCH = 32


def missing(current: Mapping[str, str], embedded: Mapping[str, str]) -> list[str]:
    """The ids of `current` ({id: content hash}, the store) whose vector is
    missing or was computed from other content, in the store's order."""
    return [i for i, digest in current.items() if embedded.get(i) != digest]


def embed_batches(
    articles: Iterable[tuple[Article, str]], embedder: Embedder, batch: int = BATCH
) -> Iterator[list[tuple[str, str, np.ndarray]]]:
    """(id, content hash, vector) rows, one list per batch of (article, the
    content hash the store holds for it)."""
    chunk: list[tuple[Article, str]] = []
    for item in articles:
        chunk.append(item)
        if len(chunk) == batch:
            yield _embedded(chunk, embedder)
            chunk = []
    if chunk:
        yield _embedded(chunk, embedder)


def _embedded(items: list[tuple[Article, str]], embedder: Embedder) -> list[tuple[str, str, np.ndarray]]:
    vectors = embedder.passages([passage_text(a) for a, _ in items])
    return [(a.id, digest, v) for (a, digest), v in zip(items, vectors, strict=True)]


class VectorSink(Protocol):
    """Where a backend keeps its article vectors, as `embed_into` fills them."""

    def locked(self) -> AbstractContextManager[object]:
        """The archive's writer lock (a no-op when the caller already holds it)."""
        ...

    def open(self, embedder: Embedder) -> str:
        """Under the lock: makes room for vectors of `embedder` (the extra
        on); returns the model of the vectors already there (its name if none)."""
        ...

    def todo(self) -> list[str]:
        """Under the lock: the ids of the articles without a current vector, in id order."""
        ...

    def articles(self, ids: list[str]) -> Iterable[tuple[Article, str]]:
        """(article, its content hash in the store) for these ids, without
        the lock; those removed meanwhile are skipped."""
        ...

    def put(self, rows: list[tuple[str, str, np.ndarray]]) -> bool:
        """Under the lock: stores (id, content hash, vector) rows in one
        commit; False, storing nothing, when the vectors were dropped meanwhile."""
        ...


def embed_into(
    sink: VectorSink,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """Embeds every article `sink` has no current vector for; returns how
    many. The model runs outside the writer lock; each batch is written
    under it, so imports and rebuilds can run between batches, and a
    stopped run resumes where it was. `total(n)` is told how many there
    are to do before the first."""
    with sink.locked():
        model = sink.open(embedder)
        if model != embedder.name:
            raise WriteFailed(
                f"I vettori dell'indice vengono da un altro modello ({model}): "
                "eseguili di nuovo con `archivio embed --drop` e poi `archivio embed`."
            )
        todo = sink.todo()
    if total:
        total(len(todo))
    done = 0
    for rows in embed_batches(sink.articles(todo), embedder):
        with sink.locked():
            if not sink.put(rows):  # dropped meanwhile
                return done
        done += len(rows)
        if progress:
            progress(done)
    return done
