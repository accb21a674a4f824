"""The step that embeds the articles a generation has no current vector for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from ..article import Article
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
