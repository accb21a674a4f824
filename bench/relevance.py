"""Relevance harness: our engine against SQLite FTS5, plain whoosh and tantivy.

    python -m bench.relevance                          # both query sets, default engine + baselines
    python -m bench.relevance --data-dir D --index-dir I   # reuse an imported archive
    python -m bench.relevance --queries hard           # one set: dev, hard or a JSON Lines file
    python -m bench.relevance --config default --config title2 --config no-fallback
    python -m bench.relevance --list-configs
    python -m bench.relevance --backend postgres --dsn postgresql://archivio@db/archivio --no-baselines

Imports the dev corpus into a temporary archive (or reuses one), runs the
query sets (by default both: dev, ../shared/eval/queries_dev.jsonl, and
dev-hard, queries_dev_hard.jsonl) through `Archive.search` with their
filters, and prints one table per set: MRR@10, Success@1, Success@10,
nDCG@10, empty results and p50/p95 latency overall, and MRR@10 per kind,
side by side with the baselines built once, in the same process, on the
same records: FTS5 any term (bm25, the reference), FTS5 all terms, plain
whoosh all terms, and tantivy any term with an Italian chain (stop words,
folding, Snowball stemmer; when the tantivy package is installed). Under
each table, per kind: the best system, and whether the first engine
config is at or above the best baseline. Analysis configs (stemmer,
folding, elision) get an index of their own, built from the same store;
ranking configs reuse the index.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from archivio.search import BACKENDS, Archive, QueryError, open_archive
from archivio.search.analysis import DEFAULT_ANALYSIS, AnalysisConfig
from archivio.search.ranking import Ranking
from archivio.search.synonyms import Synonyms
from bench.baselines import Fts5Baseline, TantivyBaseline, WhooshBaseline
from bench.data import corpus_path, hard_queries_path, load_corpus, load_queries, queries_path
from bench.metrics import percentiles, summarize

DEFAULT_RANKING = Ranking()

# name -> (analysis config, ranking, use synonyms)
CONFIGS: dict[str, tuple[AnalysisConfig, Ranking, bool]] = {
    "default": (DEFAULT_ANALYSIS, DEFAULT_RANKING, True),
    "stem-none": (AnalysisConfig(stemmer="none"), DEFAULT_RANKING, True),
    "stem-light": (AnalysisConfig(stemmer="light"), DEFAULT_RANKING, True),
    "no-fold": (AnalysisConfig(fold_accents=False), DEFAULT_RANKING, True),
    "no-elision": (AnalysisConfig(elision=False), DEFAULT_RANKING, True),
    "no-fallback": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, fallback=False), True),
    "no-blend": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, partial_weight=0.0, pg_partial_weight=0.0), True),
    "pg-blend-0.5": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, pg_partial_weight=0.5), True),
    "pg-ts-rank": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, pg_bm25=False, pg_partial_weight=0.5), True),
    "prox1": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, proximity_boost=1.0), True),
    "no-typo": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, max_typo_candidates=0), True),
    "no-synonyms": (DEFAULT_ANALYSIS, DEFAULT_RANKING, False),
    "no-synonym-stems": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, synonyms_by_stem=False), True),
    "no-thesaurus": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, thesaurus_weight=0.0), True),
    "no-semantic": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, semantic_weight=0.0), True),
    "no-semantic-no-thesaurus": (
        DEFAULT_ANALYSIS,
        replace(DEFAULT_RANKING, semantic_weight=0.0, thesaurus_weight=0.0),
        True,
    ),
    "thesaurus-0.15": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, thesaurus_weight=0.15), True),
    "thesaurus-0.5": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, thesaurus_weight=0.5), True),
    "no-numbers": (DEFAULT_ANALYSIS, replace(DEFAULT_RANKING, number_words=False), True),
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


# -- query sets ------------------------------------------------------------------------------------


@dataclass
class QuerySet:
    name: str  # its table's title
    suffix: str  # of its run file when several sets run
    queries: list[dict]


# --queries NAME -> (title, query file); without --queries both run, in this order.
NAMED_SETS = {"dev": ("dev", queries_path), "hard": ("dev-hard", hard_queries_path)}


def load_sets(choice: str | None) -> list[QuerySet]:
    """Both named sets when `choice` is None, else the named set or the JSON Lines file."""
    if choice is None:
        return [QuerySet(title, key, load_queries(path())) for key, (title, path) in NAMED_SETS.items()]
    if choice in NAMED_SETS:
        title, path = NAMED_SETS[choice]
        return [QuerySet(title, choice, load_queries(path()))]
    return [QuerySet(Path(choice).stem, Path(choice).stem, load_queries(choice))]


# -- timing one system on one set ------------------------------------------------------------------

Search = Callable[[dict], list[str]]  # a query record -> the top 10 ids


def engine_search(archive: Archive, recency: bool = False, copies: str = "fold") -> Search:
    """The engine's top 10 ids. `copies`: "fold" (the default: each story once)
    counts a story as found when the article sought is any of its copies, as
    the reader finds it behind "e altre N fonti"; "fold-strict" only when the
    listed copy is the one sought; "all" lists every copy in its place."""

    def search(q: dict) -> list[str]:
        f = q.get("filters") or {}
        try:
            result = archive.search(
                q["query"],
                author=f.get("author"),
                category=f.get("category"),
                since=f.get("since"),
                until=f.get("until"),
                per_page=10,
                facets=False,
                recency=recency,
                fold=copies != "all",
            )
        except QueryError:
            return []
        if copies != "fold":
            return [h.article.id for h in result.hits]
        relevant = set(q["relevant"])
        return [
            next((o.id for o in h.other_sources if o.id in relevant), h.article.id)
            if h.article.id not in relevant
            else h.article.id
            for h in result.hits
        ]

    return search


def baseline_search(system) -> Search:
    return lambda q: system.search(q["query"], q.get("filters") or {}, limit=10)


def rank(search: Search, queries: list[dict]) -> tuple[list[dict], list[float]]:
    """Rows {qid, kind, ranked, relevant} and each query's milliseconds."""
    rows, latencies = [], []
    for q in queries:
        started = time.perf_counter()
        ranked = search(q)
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append({"qid": q["qid"], "kind": q["kind"], "ranked": ranked, "relevant": q["relevant"]})
    return rows, latencies


def measure(search: Search, queries: list[dict]) -> tuple[dict, list[dict]]:
    """The summary with p50/p95 of one system on one set, warmed up on its first 10 queries; and its rows."""
    rank(search, queries[:10])
    rows, latencies = rank(search, queries)
    p = percentiles(latencies)
    return {**summarize(rows), "p50": p[50], "p95": p[95]}, rows


# -- the systems ---------------------------------------------------------------------------------


def prepare_archive(args: argparse.Namespace, data_dir: Path, index_dir: Path) -> None:
    """Imports the dev corpus into an empty store and builds a missing index; else only reads."""
    base = open_archive(args.backend, dsn=args.dsn, data_dir=data_dir, index_dir=index_dir)
    if not base.article_count():
        started = time.perf_counter()
        report = base.import_paths([corpus_path()], index=False)
        print(f"imported {report.added} articles in {time.perf_counter() - started:.1f} s")
    if not base.has_index():
        started = time.perf_counter()
        base.rebuild(procs=args.procs)
        print(f"indexed in {time.perf_counter() - started:.1f} s")
    base.close()


def open_config(name: str, args: argparse.Namespace, data_dir: Path, index_dir: Path, tmp: Path):
    """The archive of one engine config (None when the backend cannot run it); builds its own index."""
    analysis, ranking, use_synonyms = CONFIGS[name]
    synonyms = None if use_synonyms else Synonyms([])
    if args.backend == "postgres":
        if analysis != DEFAULT_ANALYSIS:
            print(f"[{name}] skipped: analysis configs need the whoosh backend")
            return None
        return open_archive("postgres", dsn=args.dsn, ranking=ranking, synonyms=synonyms)
    idx = index_dir if analysis == DEFAULT_ANALYSIS else tmp / f"index-{name}"
    archive = Archive(data_dir, idx, ranking=ranking, analysis=analysis, synonyms=synonyms)
    if not archive.index.exists():
        started = time.perf_counter()
        archive.rebuild(procs=args.procs)
        print(f"[{name}] own index built in {time.perf_counter() - started:.1f} s")
    return archive


def build_baselines(tmp: Path) -> dict[str, object]:
    """The baselines by row name, each index built once on the dev corpus."""
    records = list(load_corpus())
    systems: dict[str, object] = {"fts5-any-bm25": built(Fts5Baseline(tmp / "fts.db", mode="any"), records)}
    try:
        tantivy = TantivyBaseline(tmp / "tantivy")  # title x3, as FTS5
    except ImportError:
        print("tantivy rows skipped: the tantivy package is missing (pip install -e '.[dev]')")
    else:
        systems["tantivy-it-any"] = built(tantivy, records)
        # The same index, title x1 (tantivy's own default): its x3 weighs more than FTS5's.
        systems["tantivy-it-any-title1"] = tantivy.with_title_boost(1.0)
    # "all" reads the same database: only the MATCH expression differs.
    systems["fts5-all"] = Fts5Baseline(tmp / "fts.db", mode="all")
    systems["whoosh-std-all"] = built(WhooshBaseline(tmp / "whoosh-std", mode="all"), records)
    return systems


def built(system, records: list[dict]):
    """`system` after its build, whose time and size are printed."""
    system.build(records)
    size = system.size_bytes() / 1e6
    print(f"built {type(system).__name__} in {system.build_seconds:.1f} s ({size:.0f} MB)")
    return system


# -- the report ------------------------------------------------------------------------------------


def mrr(summary: dict, kind: str) -> float:
    """MRR@10 of one kind, or overall for "all"; 0 for a kind the set lacks."""
    stats = summary["overall"] if kind == "all" else summary["by_kind"].get(kind, {})
    return stats.get("mrr@10", 0.0)


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
        print(line + "".join(f"{mrr(s, k):>10.3f}" for k in kinds))
    if reference and reference in results:
        ref = results[reference]["overall"]["mrr@10"]
        print(
            f"MRR@10 ratio to {reference}: "
            + ", ".join(f"{n} {s['overall']['mrr@10'] / ref:.3f}" for n, s in results.items() if ref)
        )


def print_best_by_kind(results: dict[str, dict], engine: str | None, baselines: list[str]) -> None:
    """Per kind (and "all"), by MRR@10: the engine against the best baseline, and the best system(s)."""
    kinds = ["all", *sorted({k for s in results.values() for k in s["by_kind"]})]
    compare = engine in results and bool(baselines)
    if compare:
        print(f"MRR@10 per kind: {engine} against the best baseline; the best system (= for a tie)")
        print(f"{'kind':<12}{'engine':>7}  {'best baseline':<28}{'gap':>7}  {'verdict':<13}best")
    else:
        print(f"MRR@10 per kind: the best system (= for a tie)\n{'kind':<12}best")
    for kind in kinds:
        top = max(mrr(s, kind) for s in results.values())
        best = "=".join(n for n, s in results.items() if mrr(s, kind) >= top - 1e-9)
        line = f"{kind:<12}"
        if compare:
            rival = max(baselines, key=lambda n: mrr(results[n], kind))
            ours, theirs = mrr(results[engine], kind), mrr(results[rival], kind)
            verdict = "at or above" if ours >= theirs - 1e-9 else "below"
            line += f"{ours:>7.3f}  {rival:<22}{theirs:>6.3f}{ours - theirs:>+7.3f}  {verdict:<13}"
        print(f"{line}{best} {top:.3f}")


def write_run(path: Path, rows: list[dict]) -> None:
    """JSON Lines {qid, ids}: the rankings, to compare two versions of the engine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps({"qid": row["qid"], "ids": row["ranked"]}) + "\n")


def run_path(run_file: str, qset: QuerySet, several: bool) -> Path:
    """--run-file itself for one set; with several, one file each: relevance-run-dev.jsonl, -hard..."""
    path = Path(run_file)
    return path.with_name(f"{path.stem}-{qset.suffix}{path.suffix}") if several else path


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="reuse an archive that already holds the dev corpus")
    ap.add_argument("--index-dir")
    ap.add_argument("--config", action="append", help="engine configuration(s) to compare")
    ap.add_argument("--list-configs", action="store_true")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument(
        "--run-file",
        default="bench/results/relevance-run.jsonl",
        help="JSON Lines {qid, ids} of the first config; with both query sets, one "
        "file per set, suffixed -dev and -hard before the extension "
        "(relevance-run-dev.jsonl, relevance-run-hard.jsonl)",
    )
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument(
        "--copies",
        choices=("fold", "fold-strict", "all"),
        default="fold",
        help="fold (the engine's default: each story once, found when the article sought is any "
        "of its copies), fold-strict (found only when it is the copy listed) or all (every copy listed)",
    )
    ap.add_argument(
        "--backend",
        choices=BACKENDS,
        default="whoosh",
        help="engine to measure (postgres: the archive in --dsn, imported when empty)",
    )
    ap.add_argument("--dsn", help="PostgreSQL connection string (or $ARCHIVIO_DSN)")
    ap.add_argument(
        "--queries",
        help="one query set only: 'dev' (../shared/eval/queries_dev.jsonl), "
        "'hard' (queries_dev_hard.jsonl) or a JSON Lines file in their format; default: both",
    )
    args = ap.parse_args(argv)
    unknown = [c for c in args.config or [] if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s): {unknown}; see --list-configs")
    return args


def measure_engine(
    args, configs: list[str], sets: list[QuerySet], data_dir: Path, index_dir: Path, tmp: Path
) -> tuple[dict[str, dict[str, dict]], dict[str, list[dict]], str | None]:
    """Each config on each set: summaries by set and system, the rows of the first
    config that ran (by set, for the run files) and that config's row name."""
    results: dict[str, dict[str, dict]] = {s.name: {} for s in sets}
    runs: dict[str, list[dict]] = {}
    engine = None
    for name in configs:
        archive = open_config(name, args, data_dir, index_dir, tmp)
        if archive is None:
            continue
        system = f"archivio{'-pg' if args.backend == 'postgres' else ''}:{name}"
        engine = engine or system
        search = engine_search(archive, recency=name.startswith("recency"), copies=args.copies)
        for qset in sets:
            results[qset.name][system], rows = measure(search, qset.queries)
            runs.setdefault(qset.name, rows)
        archive.close()
    return results, runs, engine


def print_report(
    sets: list[QuerySet], results: dict[str, dict[str, dict]], engine: str | None, baselines: list[str]
) -> None:
    """A table per set, then its best system per kind (when there is more than one system)."""
    reference = "fts5-any-bm25" if "fts5-any-bm25" in baselines else None
    for qset in sets:
        print(f"\n== {qset.name}: {len(qset.queries)} queries ==")
        print_table(results[qset.name], reference)
        if len(results[qset.name]) > 1:
            print()
            print_best_by_kind(results[qset.name], engine, baselines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.list_configs:
        print("\n".join(CONFIGS))
        return
    sets = load_sets(args.queries)
    tmp = tempfile.TemporaryDirectory(prefix="archivio-relevance-")
    data_dir = Path(args.data_dir) if args.data_dir else Path(tmp.name, "data")
    index_dir = Path(args.index_dir) if args.index_dir else Path(tmp.name, "index")
    prepare_archive(args, data_dir, index_dir)
    configs = args.config or ["default"]
    results, runs, engine = measure_engine(args, configs, sets, data_dir, index_dir, Path(tmp.name))

    baselines = {} if args.no_baselines else build_baselines(Path(tmp.name))
    for name, system in baselines.items():  # each index built once, searched for every set
        for qset in sets:
            results[qset.name][name], _ = measure(baseline_search(system), qset.queries)
        system.close()

    print_report(sets, results, engine, list(baselines))
    print()
    for qset in sets:
        if qset.name in runs:
            path = run_path(args.run_file, qset, len(sets) > 1)
            write_run(path, runs[qset.name])
            print(f"run file ({qset.name}, {engine}): {path}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
