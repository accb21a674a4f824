"""Relevance harness: our engine against SQLite FTS5 and plain whoosh.

    python -m bench.relevance                          # default engine + baselines
    python -m bench.relevance --data-dir D --index-dir I   # reuse an imported archive
    python -m bench.relevance --config default --config title2 --config no-fallback
    python -m bench.relevance --list-configs
    python -m bench.relevance --backend postgres --dsn postgresql://archivio@db/archivio --no-baselines

Imports the dev corpus into a temporary archive (or reuses one), runs every
dev query through `Archive.search` with its filters, and prints MRR@10,
Success@1, Success@10, nDCG@10 and empty results, overall and per kind,
side by side with the baselines built in the same process on the same
records. Analysis configs (stemmer, folding, elision) get an index of
their own, built from the same store; ranking configs reuse the index.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.baselines import Fts5Baseline, WhooshBaseline
from bench.data import corpus_path, hard_queries_path, load_corpus, load_queries
from bench.metrics import percentiles, summarize
from search import BACKENDS, Archive, QueryError, open_archive
from search.analysis import DEFAULT_ANALYSIS, AnalysisConfig
from search.ranking import Ranking
from search.synonyms import Synonyms

DEFAULT_RANKING = Ranking()

# name -> (analysis config, ranking, use synonyms)
CONFIGS: dict[str, tuple[AnalysisConfig, Ranking, bool]] = {
    "default": (DEFAULT_ANALYSIS, DEFAULT_RANKING, True),
    "stem-none": (AnalysisConfig(stemmer="none"), DEFAULT_RANKING, True),
    "stem-light": (AnalysisConfig(stemmer="light"), DEFAULT_RANKING, True),
    "no-fold": (AnalysisConfig(fold_accents=False), DEFAULT_RANKING, True),
    "no-elision": (AnalysisConfig(elision=False), DEFAULT_RANKING, True),
    "no-fallback": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, fallback=False), True),
    "prox1": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, proximity_boost=1.0), True),
    "no-typo": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, max_typo_candidates=0), True),
    "no-synonyms": (DEFAULT_ANALYSIS, DEFAULT_RANKING, False),
    "no-respell": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, respell=False), True),
    "title1": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, title_boost=1.0), True),
    "title2": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, title_boost=2.0), True),
    "title3": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, title_boost=3.0), True),
    "title-none": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, title_boost=0.0), True),
    # The fallback's coordination factor (m/n) ** p (search.graded); p0: a plain sum.
    **{
        f"coord-p{p:g}": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, coord_exponent=p), True)
        for p in (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
    },
    "prox2": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, proximity_boost=2.0), True),
    "prox0.5": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, proximity_boost=0.5), True),
    "b0.5": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, b=0.5), True),
    "k1.6": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, k1=1.6), True),
    # The recency boost as a reader turns it on (search(recency=True)).
    "recency": (DEFAULT_ANALYSIS, DEFAULT_RANKING, True),
    "recency0.05": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, recency_weight=0.05), True),
    "recency0.5": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, recency_weight=0.5), True),
    "recency-hl365": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, recency_half_life_days=365), True),
    "recency-hl30": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, recency_half_life_days=30), True),
}


def rank_engine(
    archive: Archive, queries: list[dict], recency: bool = False
) -> tuple[list[dict], list[float]]:
    rows, latencies = [], []
    for q in queries:
        f = q.get("filters") or {}
        started = time.perf_counter()
        try:
            result = archive.search(
                q["query"], author=f.get("author"), category=f.get("category"),
                since=f.get("since"), until=f.get("until"), per_page=10, facets=False,
                recency=recency,
            )
            ranked = [h.article.id for h in result.hits]
        except QueryError:
            ranked = []
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append({"qid": q["qid"], "kind": q["kind"], "ranked": ranked, "relevant": q["relevant"]})
    return rows, latencies


def rank_baseline(system, queries: list[dict]) -> tuple[list[dict], list[float]]:
    rows, latencies = [], []
    for q in queries:
        started = time.perf_counter()
        ranked = system.search(q["query"], q.get("filters") or {}, limit=10)
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append({"qid": q["qid"], "kind": q["kind"], "ranked": ranked, "relevant": q["relevant"]})
    return rows, latencies


def print_table(results: dict[str, dict], reference: str | None) -> None:
    kinds = sorted({k for s in results.values() for k in s["by_kind"]})
    head = f"{'system':<22}{'MRR@10':>8}{'S@1':>7}{'S@10':>7}{'nDCG':>7}{'empty':>6}{'p50ms':>7}{'p95ms':>7}"
    print(head + "".join(f"{k[:9]:>10}" for k in kinds))
    for name, s in results.items():
        o = s["overall"]
        line = (
            f"{name:<22}{o['mrr@10']:>8.3f}{o['s@1']:>7.3f}{o['s@10']:>7.3f}{o['ndcg@10']:>7.3f}"
            f"{o['empty']:>6}{s['p50']:>7.1f}{s['p95']:>7.1f}"
        )
        print(line + "".join(f"{s['by_kind'].get(k, {}).get('mrr@10', 0):>10.3f}" for k in kinds))
    if reference and reference in results:
        ref = results[reference]["overall"]["mrr@10"]
        print(f"\nMRR@10 ratio to {reference}: " + ", ".join(
            f"{n} {s['overall']['mrr@10'] / ref:.3f}" for n, s in results.items() if ref
        ))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="reuse an archive that already holds the dev corpus")
    ap.add_argument("--index-dir")
    ap.add_argument("--config", action="append", help="engine configuration(s) to compare")
    ap.add_argument("--list-configs", action="store_true")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--run-file", default="bench/results/relevance-run.jsonl",
                    help="JSON Lines {qid, ids} of the first config")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--backend", choices=BACKENDS, default="whoosh",
                    help="engine to measure (postgres: the archive in --dsn, imported when empty)")
    ap.add_argument("--dsn", help="PostgreSQL connection string (or $ARCHIVIO_DSN)")
    ap.add_argument("--queries", help="query file (JSON Lines, the dev set's format); "
                    "default: ../shared/eval/queries_dev.jsonl, 'hard' for queries_dev_hard.jsonl")
    args = ap.parse_args(argv)
    if args.list_configs:
        print("\n".join(CONFIGS))
        return
    configs = args.config or ["default"]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s): {unknown}; see --list-configs")
    queries = load_queries(hard_queries_path() if args.queries == "hard" else args.queries)
    tmp = tempfile.TemporaryDirectory(prefix="archivio-relevance-")
    data_dir = Path(args.data_dir) if args.data_dir else Path(tmp.name, "data")
    index_dir = Path(args.index_dir) if args.index_dir else Path(tmp.name, "index")
    postgres = args.backend == "postgres"
    base = open_archive(args.backend, dsn=args.dsn, data_dir=data_dir, index_dir=index_dir)
    if not base.store.count():
        started = time.perf_counter()
        report = base.import_paths([corpus_path()], index=False)
        print(f"imported {report.added} articles in {time.perf_counter() - started:.1f} s")
    if not base.index.exists():
        started = time.perf_counter()
        base.rebuild(procs=args.procs)
        print(f"indexed in {time.perf_counter() - started:.1f} s")

    results: dict[str, dict] = {}
    runs: dict[str, list[dict]] = {}
    for name in configs:
        analysis, ranking, use_synonyms = CONFIGS[name]
        idx = index_dir if analysis == DEFAULT_ANALYSIS else Path(tmp.name, f"index-{name}")
        synonyms = None if use_synonyms else Synonyms([])
        if postgres and analysis != DEFAULT_ANALYSIS:
            print(f"[{name}] skipped: analysis configs need the whoosh backend")
            continue
        if postgres:
            archive = open_archive("postgres", dsn=args.dsn, ranking=ranking, synonyms=synonyms)
        else:
            archive = Archive(data_dir, idx, ranking=ranking, analysis=analysis, synonyms=synonyms)
        if not archive.index.exists():
            started = time.perf_counter()
            archive.rebuild(procs=args.procs)
            print(f"[{name}] own index built in {time.perf_counter() - started:.1f} s")
        rank_engine(archive, queries[:10])  # warm up the searcher
        rows, lat = rank_engine(archive, queries, recency=name.startswith("recency"))
        runs[name] = rows
        results[f"archivio{'-pg' if postgres else ''}:{name}"] = _with_latency(summarize(rows), lat)

    reference = None
    if not args.no_baselines:
        records = list(load_corpus())
        fts = Fts5Baseline(Path(tmp.name, "fts.db"), mode="any")
        fts.build(records)
        fts_all = Fts5Baseline(Path(tmp.name, "fts.db"), mode="all")
        std = WhooshBaseline(Path(tmp.name, "whoosh-std"), mode="all")
        std.build(records)
        for name, system in (("fts5-any-bm25", fts), ("fts5-all", fts_all), ("whoosh-std-all", std)):
            rows, lat = rank_baseline(system, queries)
            results[name] = _with_latency(summarize(rows), lat)
            system.close()
        reference = "fts5-any-bm25"

    print_table(results, reference)
    run_path = Path(args.run_file)
    run_path.parent.mkdir(parents=True, exist_ok=True)
    with run_path.open("w") as f:
        for row in runs[configs[0]]:
            f.write(json.dumps({"qid": row["qid"], "ids": row["ranked"]}) + "\n")
    print(f"\nrun file ({configs[0]}): {run_path}")
    tmp.cleanup()


def _with_latency(summary: dict, latencies: list[float]) -> dict:
    p = percentiles(latencies)
    return {**summary, "p50": p[50], "p95": p[95]}


if __name__ == "__main__":
    main()
