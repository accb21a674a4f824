"""Figures of an existing PostgreSQL archive, without rebuilding it
(bench.speed --backend postgres imports a fresh database each time):

    python -m bench.pgcheck latency --dsn DSN [--runs 1] [--flavours plain,page]
    python -m bench.pgcheck browse --dsn DSN      # searches without words, facets on
    python -m bench.pgcheck pruning --dsn DSN     # pruned rankings against ranking every match
    python -m bench.pgcheck web --dsn DSN [--workers 2] [--seconds 20]
    python -m bench.pgcheck load --dsn DSN [--clients 8]  # searches at once, in process: cut ones
    python -m bench.pgcheck statements --dsn DSN  # where a search's time goes, per kind of statement

`latency` and `web` are bench.speed's measures; `load` runs the dev
queries twice (text, facets, folded) from `--clients` threads at once and
prints searches a second, p50/p95 and how many results the ranking budget
cut (search.pg.searching.RANKING_SECONDS: wall time, so load cuts more); `pruning` runs the dev
queries (pages 1 and 2) with and without search.pg.searching's pruning,
prints the pages that differ (there must be none), the rankings it proved
and the time of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from archivio.search import QueryError, open_archive
from archivio.search.pg import searching
from bench import speed
from bench.data import load_queries


def latency(dsn: str, runs: int, flavours: tuple[str, ...]) -> None:
    queries = load_queries()
    fn, _ = speed.archivio_query_fn(None, None, speed.pg_query_filters(queries, dsn), dsn=dsn)
    for flavour, p in speed.measure_latency(fn, queries, runs, flavours).items():
        print(f"{flavour:8s} p50 {p[50]:7.1f}  p95 {p[95]:7.1f}  p99 {p[99]:7.1f} ms")


def browse(dsn: str, runs: int) -> None:
    """The most common categories and authors, three years and two
    combinations: the median of `runs` searches each."""
    with psycopg.connect(dsn) as conn:
        categories = [
            r[0]
            for r in conn.execute(
                "SELECT category FROM articles WHERE category IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 6"
            )
        ]
        authors = [
            r[0]
            for r in conn.execute(
                "SELECT author FROM articles WHERE author <> '' GROUP BY 1 ORDER BY count(*) DESC LIMIT 4"
            )
        ]
    if not categories or not authors:
        raise SystemExit("the archive needs articles with categories and authors")
    requests: list[dict] = [{}, *({"category": c} for c in categories), *({"author": a} for a in authors)]
    requests += [{"since": f"{y}-01-01", "until": f"{y}-12-31"} for y in (2017, 2019, 2020)]
    requests += [
        {"category": categories[0], "since": "2020-03-01", "until": "2020-09-30"},
        {"category": categories[1], "author": authors[0]},
    ]
    archive = open_archive("postgres", dsn=dsn)
    archive.result_cache = None
    medians = []
    for request in requests:
        archive.search("", facets=True, **request)  # warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = archive.search("", facets=True, **request)
            times.append((time.perf_counter() - started) * 1000)
        medians.append(statistics.median(times))
        print(f"{medians[-1]:7.1f} ms  total {result.total:7d}  {request}")
    print(
        f"browse p50 {statistics.median(medians):.1f} ms, max {max(medians):.1f} ms, {len(medians)} requests"
    )


def pruning(dsn: str) -> None:
    archive = open_archive("postgres", dsn=dsn)
    archive.result_cache = None
    attempt, tried, proved = searching._pruned, [0], [0]

    def counted(*args):
        pruned = attempt(*args)
        tried[0] += 1
        proved[0] += pruned is not None and pruned.proved
        return pruned

    def page_of(text: str, page: int, prune_above: int) -> tuple[list, float]:
        searching.PRUNE_ABOVE = prune_above
        started = time.perf_counter()
        try:
            hits = archive.search(text, page=page).hits
        except QueryError:
            hits = []
        return [(h.article.id, round(h.score or 0.0, 6)) for h in hits], time.perf_counter() - started

    default = searching.PRUNE_ABOVE
    searching._pruned = counted
    differ, pruned_s, full_s = 0, 0.0, 0.0
    try:
        for q in load_queries():
            for page in (1, 2):
                pruned, seconds = page_of(q["query"], page, default)
                pruned_s += seconds
                every, seconds = page_of(q["query"], page, 10**12)
                full_s += seconds
                if pruned != every:
                    differ += 1
                    print(f"DIFFERS: {q['query']!r}, page {page}")
    finally:
        searching._pruned, searching.PRUNE_ABOVE = attempt, default
    print(f"pages differing: {differ}; rankings past {default:,} matches proved: {proved[0]} of {tried[0]}")
    print(f"searches with pruning {pruned_s:.1f} s, ranking every match {full_s:.1f} s")


def statement_kind(sql: str) -> str:
    """A statement's kind, for `statements`: the facets', a count, the
    vocabulary's, a ranking, a setting, or its first words."""
    s = " ".join(sql.split())
    if "WITH m AS MATERIALIZED" in s:
        return "facets"
    if s.startswith("SELECT count(*)"):
        return "count"
    if "vocabulary" in s:
        return "vocabulary"
    if "ts_rank" in s or "AS score" in s:
        return "rank"
    return "set" if s.startswith("SET") else s[:70]


def statements(dsn: str) -> None:
    """The 150 dev queries as the page asks them (text, facets, folded, 10
    a page), after a warm pass: per kind of statement, how many and how
    long; and how many results the ranking budget cut."""
    queries = [q["query"] for q in load_queries()]
    archive = open_archive("postgres", dsn=dsn)
    archive.result_cache = None
    spent: dict[str, list[float]] = {}
    execute, recording = psycopg.Connection.execute, [False]

    def timed(self, query, params=None, **options):
        started = time.perf_counter()
        cursor = execute(self, query, params, **options)
        if recording[0]:
            spent.setdefault(statement_kind(str(query)), []).append(time.perf_counter() - started)
        return cursor

    def search(text: str) -> bool:
        try:
            return archive.search(text, facets=True).cut
        except QueryError:
            return False

    psycopg.Connection.execute = timed
    try:
        for text in queries:
            search(text)
        recording[0] = True
        started = time.perf_counter()
        cut = sum(search(text) for text in queries)
        seconds = time.perf_counter() - started
    finally:
        psycopg.Connection.execute = execute
    print(f"{len(queries)} searches: {seconds:.1f} s, {cut} cut by the ranking budget")
    for kind, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        print(f"{sum(times):7.2f} s {len(times):6d}  {kind}")


def load(dsn: str, clients: int) -> None:
    texts = [q["query"] for q in load_queries()] * 2
    archive = open_archive("postgres", dsn=dsn)
    archive.result_cache = None

    def one(text: str) -> tuple[bool, float]:
        started = time.perf_counter()
        try:
            return archive.search(text, facets=True).cut, time.perf_counter() - started
        except QueryError:
            return False, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(one, texts))
    seconds = time.perf_counter() - started
    times = sorted(t for _, t in done)
    print(
        f"{len(done)} searches, {clients} at once: {len(done) / seconds:.1f}/s, "
        f"p50 {times[len(times) // 2] * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms, "
        f"cut {sum(c for c, _ in done)}"
    )


def web(dsn: str, workers: int, seconds: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        print(
            speed.measure_web(
                ["--backend", "postgres", "--dsn", dsn], load_queries(), Path(work), seconds, False, workers
            )
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("latency", "browse", "pruning", "web", "load", "statements"))
    ap.add_argument("--dsn", required=True, help="the archive's PostgreSQL connection string")
    ap.add_argument("--runs", type=int, default=1, help="latency: passes over the dev queries")
    ap.add_argument("--repeat", type=int, default=5, help="browse: searches per request (their median)")
    ap.add_argument("--flavours", default=",".join(speed.FLAVOURS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8, help="load: searches at once")
    args = ap.parse_args(argv)
    if args.what == "latency":
        latency(args.dsn, args.runs, tuple(args.flavours.split(",")))
    elif args.what == "browse":
        browse(args.dsn, args.repeat)
    elif args.what == "pruning":
        pruning(args.dsn)
    elif args.what == "load":
        load(args.dsn, args.clients)
    elif args.what == "statements":
        statements(args.dsn)
    else:
        web(args.dsn, args.workers, args.seconds)


if __name__ == "__main__":
    main()
