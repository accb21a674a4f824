"""Facet counts at a million documents: three ways, side by side.

    python -m bench.facets [--docs 1000000] [--authors 3000]

The whoosh engine counts a facet's values among a search's matches (a
bitmap, a Python int). Measured here on synthetic fields of a million
documents (authors Zipf-distributed, 25 categories, 12 years, 144 months),
for match sets of every size:

- one bitmap per value, AND and popcount (the engine before 2026-12-07);
- pyroaring: a Roaring bitmap per value and the matches converted to one,
  intersection cardinalities (when pyroaring is installed; not a dependency);
- each document's value number in one array, gathered at the matches and
  counted with numpy's bincount (the engine now: DocSets.facet_counts).

Prints the median time of each and the memory the per-value structures take.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from archivio.search.whoosh_sqlite.ranking.docsets import member_array


def field(rng: np.random.Generator, n: int, values: int, zipf: bool) -> np.ndarray:
    p = 1 / np.arange(1, values + 1) ** 1.1 if zipf else np.ones(values)
    return rng.choice(values, size=n, p=p / p.sum()).astype(np.int32)


def bitmap(ids: np.ndarray, n: int) -> int:
    buf = np.zeros((n + 7) // 8, dtype=np.uint8)
    np.bitwise_or.at(buf, ids >> 3, (1 << (ids & 7)).astype(np.uint8))
    return int.from_bytes(buf.tobytes(), "little")


def median_ms(fn: Callable[[], object], runs: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--authors", type=int, default=3_000)
    args = ap.parse_args(argv)
    n = args.docs
    rng = np.random.default_rng(1)
    fields = {
        "author": field(rng, n, args.authors, True),
        "category": field(rng, n, 25, True),
        "year": field(rng, n, 12, False),
        "month": field(rng, n, 144, False),
    }
    per_value = {f: [np.flatnonzero(c == v) for v in range(c.max() + 1)] for f, c in fields.items()}
    ints = {f: [bitmap(ids, n) for ids in lists] for f, lists in per_value.items()}
    print(f"{n:,} documents, {sum(len(v) for v in per_value.values()):,} facet values")
    print(f"  one bitmap per value: {sum(sys.getsizeof(b) for v in ints.values() for b in v) / 1e6:.1f} MB")
    print(f"  value numbers: {sum(c.nbytes for c in fields.values()) / 1e6:.1f} MB")
    try:
        from pyroaring import BitMap
    except ImportError:
        BitMap = None  # noqa: N806
        print("  pyroaring: not installed (pip install pyroaring)")
    roaring = {}
    if BitMap is not None:
        roaring = {f: [BitMap(ids.astype(np.uint32)) for ids in lists] for f, lists in per_value.items()}
        size = sum(len(b.serialize()) for v in roaring.values() for b in v)
        print(f"  pyroaring: {size / 1e6:.1f} MB serialized")

    print("| matches | bitmap per value (ms) | pyroaring (ms) | bincount (ms) |")
    print("|---:|---:|---:|---:|")
    for size in (n, n // 10, n // 100, 2_000):
        matches = bitmap(np.sort(rng.choice(n, size=size, replace=False)), n)

        def by_bitmaps(matches: int = matches) -> dict:
            return {f: [(matches & b).bit_count() for b in v] for f, v in ints.items()}

        def by_roaring(matches: int = matches) -> dict:
            m = BitMap(member_array(matches).astype(np.uint32))
            return {f: [m.intersection_cardinality(b) for b in v] for f, v in roaring.items()}

        def by_bincount(matches: int = matches) -> dict:
            docs = member_array(matches)
            return {f: np.bincount(c[docs], minlength=c.max() + 1).tolist() for f, c in fields.items()}

        a, expected = median_ms(by_bitmaps)
        c, counted = median_ms(by_bincount)
        assert counted == expected
        b = "—"
        if BitMap is not None:
            ms, found = median_ms(by_roaring)
            assert found == expected
            b = f"{ms:.1f}"
        print(f"| {size:,} | {a:.1f} | {b} | {c:.1f} |", flush=True)


if __name__ == "__main__":
    main()
