"""Smoke benchmark: build the baselines on the full dev corpus, score the dev queries.

Run: python -m bench.baselines_check
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.baselines import Fts5Baseline, TantivyBaseline, WhooshBaseline
from bench.data import load_corpus, load_queries
from bench.metrics import percentiles, summarize


def evaluate(system, queries: list[dict]) -> tuple[dict, list[float]]:
    rows, latencies = [], []
    for q in queries:
        start = time.perf_counter()
        ranked = system.search(q["query"], q.get("filters") or {}, limit=10)
        latencies.append((time.perf_counter() - start) * 1000)
        rows.append(
            {
                "qid": q["qid"],
                "kind": q["kind"],
                "ranked": ranked,
                "relevant": q["relevant"],
            }
        )
    return summarize(rows), latencies


def main() -> None:
    records = list(load_corpus())
    queries = load_queries()
    print(f"{len(records)} records, {len(queries)} queries")
    with tempfile.TemporaryDirectory(prefix="archivio-baselines-") as tmp:
        fts_any = Fts5Baseline(Path(tmp, "fts.db"), mode="any")
        fts_any.build(records)
        # "all" reuses the same database: only the MATCH expression differs.
        fts_all = Fts5Baseline(Path(tmp, "fts.db"), mode="all")
        fts_all.build_seconds = fts_any.build_seconds
        whoosh_all = WhooshBaseline(Path(tmp, "whoosh"), mode="all")
        whoosh_all.build(records)
        systems = {
            "fts5-all": fts_all,
            "fts5-any": fts_any,
            "whoosh-std-all": whoosh_all,
        }
        try:
            tantivy_any = TantivyBaseline(Path(tmp, "tantivy"))
        except ImportError:
            print("tantivy-it-any skipped: the tantivy package is missing")
        else:
            tantivy_any.build(records)
            systems["tantivy-it-any"] = tantivy_any

        print(
            f"{'system':<16}{'MRR@10':>8}{'S@1':>7}{'S@10':>7}{'nDCG':>7}{'empty':>6}"
            f"{'build s':>9}{'size MB':>9}{'p50 ms':>8}{'p95 ms':>8}"
        )
        for name, system in systems.items():
            summary, latencies = evaluate(system, queries)
            o, p = summary["overall"], percentiles(latencies)
            print(
                f"{name:<16}{o['mrr@10']:>8.3f}{o['s@1']:>7.3f}{o['s@10']:>7.3f}"
                f"{o['ndcg@10']:>7.3f}{o['empty']:>6}{system.build_seconds:>9.1f}"
                f"{system.size_bytes() / 1e6:>9.1f}{p[50]:>8.1f}{p[95]:>8.1f}"
            )
        for system in systems.values():
            system.close()


if __name__ == "__main__":
    main()
