"""Lexical score blended with semantic similarity, for the fallback's top."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import TypeVar

import numpy as np

from .model import Embedder

K = TypeVar("K", bound=Hashable)

# How many of the fallback's first candidates are re-ordered. A study on
# another hard set: re-ranking the lexical top 30 gave all of the gain;
# adding the dense nearest neighbours as candidates added nothing.
RERANK_DEPTH = 30


def blend(
    ranked: list[tuple[K, float]], similarity: Mapping[K, float], weight: float
) -> list[tuple[K, float]]:
    """`ranked` (best first, lexical scores) re-ordered by
    score / top score + weight * z(similarity), z the similarity's standard
    score among the candidates that have one (0 for those without: an
    article not yet embedded keeps its lexical standing). The scores
    returned are that blend times the top score, on the lexical scale.
    Fewer than two similarities, or no spread: the order is unchanged."""
    if not ranked or weight <= 0:
        return ranked
    known = [similarity[k] for k, _ in ranked if k in similarity]
    if len(known) < 2:
        return ranked
    mean = sum(known) / len(known)
    spread = (sum((s - mean) ** 2 for s in known) / len(known)) ** 0.5
    top = max(score for _, score in ranked)
    if spread <= 1e-9 or top <= 0:
        return ranked

    def blended(item: tuple[K, float]) -> float:
        key, score = item
        z = (similarity[key] - mean) / spread if key in similarity else 0.0
        return score / top + weight * z

    # sorted is stable: equal blends keep the lexical order.
    return [(key, blended((key, score)) * top) for key, score in sorted(ranked, key=blended, reverse=True)]


def rerank_by_meaning(
    text: str,
    ranked: list[tuple[str, float]],
    embedder: Embedder,
    vectors_of: Callable[[list[str]], Mapping[str, np.ndarray]],
    weight: float,
) -> list[tuple[str, float]]:
    """The fallback's first candidates (article id, lexical score), re-ordered
    by `blend` with the cosine of the query's vector to each article's."""
    vectors = vectors_of([key for key, _ in ranked])
    if len(vectors) < 2:
        return ranked
    query = embedder.query(text)
    similarity = {key: float(np.dot(vector, query)) for key, vector in vectors.items()}
    return blend(ranked, similarity, weight)
