"""Ranking metrics for the eval queries (binary relevance) and latency stats."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence


def _first_hit(ranked: Sequence[str], relevant: Iterable[str], k: int) -> int | None:
    rel = set(relevant)
    for i, doc_id in enumerate(ranked[:k]):
        if doc_id in rel:
            return i + 1
    return None


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """1/rank of the first relevant id (any of them) within the top k, else 0."""
    rank = _first_hit(ranked, relevant, k)
    return 1.0 / rank if rank else 0.0


def success_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    return 1.0 if _first_hit(ranked, relevant, k) else 0.0


def ndcg_at(ranked: Sequence[str], relevant: Sequence[str], k: int = 10) -> float:
    """Binary-gain nDCG; every relevant id (target included) has gain 1."""
    rel = set(relevant)
    if not rel:
        return 0.0
    seen: set[str] = set()  # a duplicated id in the ranking must not earn gain twice
    dcg = 0.0
    for i, doc_id in enumerate(ranked[:k]):
        if doc_id in rel and doc_id not in seen:
            seen.add(doc_id)
            dcg += 1.0 / math.log2(i + 2)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / ideal


def _stats(rows: list[dict]) -> dict:
    n = len(rows)

    def mean(values: Iterable[float]) -> float:
        return sum(values) / n if n else 0.0

    return {
        "n": n,
        "mrr@10": mean(reciprocal_rank(r["ranked"], r["relevant"], 10) for r in rows),
        "s@1": mean(success_at(r["ranked"], r["relevant"], 1) for r in rows),
        "s@10": mean(success_at(r["ranked"], r["relevant"], 10) for r in rows),
        "ndcg@10": mean(ndcg_at(r["ranked"], r["relevant"], 10) for r in rows),
        "empty": sum(1 for r in rows if not r["ranked"]),
    }


def summarize(rows: Iterable[dict]) -> dict:
    """Rows {qid, kind, ranked, relevant} -> {"overall": s, "by_kind": {kind: s}}.

    s = {n, mrr@10, s@1, s@10, ndcg@10, empty}; empty counts queries with no hits.
    """
    rows = list(rows)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_kind[r.get("kind") or "unknown"].append(r)
    return {
        "overall": _stats(rows),
        "by_kind": {k: _stats(v) for k, v in sorted(by_kind.items())},
    }


def percentiles(values: Iterable[float], ps: Sequence[float] = (50, 95, 99)) -> dict[float, float]:
    """Linear interpolation between closest ranks (numpy's default method)."""
    xs = sorted(values)
    if not xs:
        return {p: math.nan for p in ps}
    out = {}
    for p in ps:
        pos = (len(xs) - 1) * p / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, len(xs) - 1)
        out[p] = xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return out


def median(values: Iterable[float]) -> float:
    return percentiles(values, (50,))[50]
