"""Speed benchmark: Archivio side by side with SQLite FTS5, plain whoosh and tantivy.

    python -m bench.speed                              # the dev corpus (19,902 articles)
    python -m bench.speed --scale 100000               # dev corpus, then 100,000 articles
    python -m bench.speed --sizes 20k,100k,1m --runs 3 --build-runs 1   # 1M: about an hour
    python -m bench.speed --sizes 20k --skip-web --skip-baselines       # quick look
    python -m bench.speed --backend postgres --dsn "host=127.0.0.1 port=5432 user=postgres" --skip-baselines

For every size it writes the corpus (replicated with new ids, urls and
dates shifted back by 397 days per copy) to a work directory, imports it into an
Archivio store, then measures, each figure the median of --runs runs:

- full rebuild (`cli.py rebuild`, with the default processes unless --procs N;
  a subprocess): seconds, articles/s,
  peak RSS of the whole process tree (sampled from /proc), index size on disk;
  the baselines build the same records in a subprocess of their own
  (tantivy: its official Python bindings, one indexing thread, the Italian
  chain of bench.baselines, any term; only when the dev extra installed it);
- incremental import of 1,000 new articles into the existing index
  (`cli.py import`, a subprocess; the FTS5 and whoosh equivalents likewise);
- warm query latency p50/p95/p99 in-process over the dev queries, four
  flavours: plain; category + date-range filter; facet counts (author,
  category, year); and "page" = filter + facets, the search page's request
  (tantivy: plain and filter only). Archivio's result cache is off for these;
- the web server (`cli.py serve`): requests/s, p95 and errors with
  `wrk -t2 -c8 -d20s` on `/?q=...` cycling through the dev queries, plus
  the server's peak RSS, with the result cache off and on.

With `--backend postgres` the same figures are taken for the PostgreSQL
backend. `--dsn` names a server (any database on it; the user must be
allowed to create databases): each size gets a fresh database
`archivio_bench_<size>` there, dropped first if an earlier run left it.
The "full build" is then `cli.py import` of the whole corpus into the empty
database (articles, vectors and vocabulary in one pass), and the rebuild
`cli.py rebuild` re-deriving the vectors and vocabulary of the full
database; the size is the database's (`pg_database_size`: the store, the
text index and the vocabulary together), after the import and again after
a rebuild (which leaves the old row versions for VACUUM to reuse). Memory
figures are the client's (the `archivio` process), not the server's. The
web server runs with `--backend postgres` (no result cache on that backend,
so only the cache-off figure).

Ratios are Archivio / baseline; for times lower is better, for rates
(articles/s, requests/s) higher is better.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

from bench.data import SHIFT_DAYS, corpus_path, load_corpus, load_queries
from bench.metrics import percentiles

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"
DEV_SIZE = "20k"
INCREMENT = 1_000
FACET_SIZE = 20
FLAVOURS = ("plain", "filter", "facets", "page")
NA = float("nan")
LAST_CPU = NA  # CPU seconds of the last run_measured() command
LAST_RSS = NA  # its peak summed RSS (MiB)


# -- corpus at scale -------------------------------------------------------------------------


def parse_size(text: str) -> int | None:
    """'20k' / 'dev' is the dev corpus as it is (None); '100k', '1m', '250000' are counts."""
    t = text.strip().lower()
    if t in ("dev", DEV_SIZE):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", t)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)])


def copy_of(rec: dict, k: int) -> dict | None:
    """Copy k of a record: new id, url and date. None when it could not be told
    apart from the original (no date: the store would see a duplicate)."""
    if k == 0:
        return rec
    if not rec.get("date"):
        return None
    copy = dict(rec, id=f"{rec['id']}-r{k}")
    # Backwards: the importer rejects dates in the future.
    copy["date"] = (date.fromisoformat(rec["date"]) - timedelta(days=k * SHIFT_DAYS)).isoformat()
    if rec.get("url"):
        # The store treats a known url as the same article: make each copy's unique.
        sep = "&" if "?" in rec["url"] else "?"
        copy["url"] = f"{rec['url']}{sep}copia={k}"
    return copy


def scaled_records(n: int | None, first_copy: int = 0) -> Iterator[dict]:
    """n records: the dev corpus, then whole copies of it (copy-major, so every
    original is present at every size), truncated to n. Streams."""
    k = first_copy
    produced = 0
    while True:
        for rec in load_corpus():
            if n is not None and produced >= n:
                return
            copy = copy_of(rec, k)
            if copy is not None:
                produced += 1
                yield copy
        if n is None:
            return
        k += 1


def write_jsonl(records: Iterator[dict], path: Path) -> tuple[int, int]:
    """Writes records; returns (count, raw text bytes of title+subtitle+body)."""
    count = raw = 0
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            count += 1
            raw += sum(len((rec.get(k) or "").encode()) for k in ("title", "subtitle", "body"))
    return count, raw


# Records per corpus file: the importer refuses files over 512 MB.
FILE_RECORDS = 100_000


def write_corpus(records: Iterator[dict], folder: Path) -> tuple[int, int]:
    """Writes records as JSON Lines files of FILE_RECORDS in `folder`;
    returns (count, raw text bytes)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = raw = 0
    for n in itertools.count():
        batch = list(itertools.islice(records, FILE_RECORDS))
        if not batch:
            break
        c, r = write_jsonl(iter(batch), folder / f"part-{n:03d}.jsonl")
        count, raw = count + c, raw + r
    return count, raw


def read_jsonl(path: Path) -> Iterator[dict]:
    """The records of a JSON Lines file, or of every one in a folder."""
    if path.is_dir():
        for part in sorted(path.glob("*.jsonl")):
            yield from read_jsonl(part)
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


# -- processes: wall time and peak RSS of a process tree ---------------------------------------


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process. PSS splits shared pages among the processes
    sharing them: forked workers share the parent's pages, which a sum of
    RSS would count once per process."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def tree_memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over a process and its descendants."""
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        r, s = _memory_kib(p)
        rss, pss = rss + r, pss + s
        todo += _children(p)
    return rss, pss


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Runs a command; returns (seconds, peak memory in MiB of its process tree,
    as PSS). The CPU seconds it used (all its processes) go to LAST_CPU, the
    peak of the tree's summed RSS (shared pages counted per process) to LAST_RSS."""
    global LAST_CPU, LAST_RSS
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = peak_rss = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_rss
        while not stop.is_set():
            rss, pss = tree_memory_kib(proc.pid)
            peak, peak_rss = max(peak, pss), max(peak_rss, rss)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.decode()[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_RSS = peak_rss / 1024
    return elapsed, peak / 1024


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def cli(*args: str) -> list[str]:
    return [sys.executable, str(CLI), *args]


def worker(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.speed", "_worker", *args]


# -- baselines built and updated in a subprocess (`_worker`) --------------------------------


def worker_main(argv: list[str]) -> None:
    """`python -m bench.speed _worker {build|add} {fts5|whoosh|tantivy} CORPUS DIR`."""
    from bench.baselines import Fts5Baseline, TantivyBaseline, WhooshBaseline

    action, system, corpus, target = argv
    records = read_jsonl(Path(corpus))
    if system == "fts5":
        baseline = Fts5Baseline(Path(target) / "fts.db", mode="any")
    elif system == "tantivy":
        baseline = TantivyBaseline(Path(target) / "tantivy")
        if action == "add":
            baseline.open()
    else:
        baseline = WhooshBaseline(Path(target) / "whoosh")
    if action == "build":
        baseline.build(records)
    else:
        baseline.add(records)


# -- query latency --------------------------------------------------------------------------


# The most common category, and one article's category and date, in either store.
COMMON_CATEGORY_SQL = (
    "SELECT min(category) FROM articles WHERE category_key != '' GROUP BY category_key "
    "ORDER BY count(*) DESC LIMIT 1"
)
ARTICLE_SQL = "SELECT category, date FROM articles WHERE id = {}"


def query_filters(queries: list[dict], data_dir: Path) -> dict[str, dict]:
    """The filter of the "filter" flavour, per query, read from the SQLite store."""
    import sqlite3

    db = sqlite3.connect(data_dir / "archive.sqlite")
    try:
        return filters_from(
            queries,
            db.execute(COMMON_CATEGORY_SQL).fetchone()[0],
            lambda i: db.execute(ARTICLE_SQL.format("?"), (i,)).fetchone(),
        )
    finally:
        db.close()


def pg_query_filters(queries: list[dict], dsn: str) -> dict[str, dict]:
    """The same filters, read from the PostgreSQL backend's `articles` table."""
    import psycopg

    with psycopg.connect(dsn) as db:
        return filters_from(
            queries,
            db.execute(COMMON_CATEGORY_SQL).fetchone()[0],
            lambda i: db.execute(ARTICLE_SQL.format("%s"), (i,)).fetchone(),
        )


def filters_from(queries: list[dict], common: str, article: Callable[[str], tuple | None]) -> dict[str, dict]:
    """The category of the article sought (else the query's, else the most common
    one) and the year around its date; `article(id)` gives (category, date)."""
    out = {}
    for q in queries:
        row = article(q["relevant"][0])
        category = (row[0] if row and row[0] else None) or (q.get("filters") or {}).get("category") or common
        day = date.fromisoformat(str(row[1])) if row and row[1] else date(2021, 6, 1)
        since, until = day - timedelta(days=183), day + timedelta(days=182)
        out[q["qid"]] = {"category": category, "since": since.isoformat(), "until": until.isoformat()}
    return out


def measure_latency(
    fn: Callable[[dict, str], object], queries: list[dict], runs: int, flavours: tuple[str, ...] = FLAVOURS
) -> dict[str, dict]:
    """Per flavour: the median over `runs` passes of each pass's p50/p95/p99 (ms)."""
    for q in queries:  # warm: searcher, caches of posting lists, page cache
        fn(q, "plain")
    out = {}
    for flavour in flavours:
        fn(queries[0], flavour)
        passes = []
        for _ in range(runs):
            lat = []
            for q in queries:
                started = time.perf_counter()
                fn(q, flavour)
                lat.append((time.perf_counter() - started) * 1000)
            passes.append(percentiles(lat))
        out[flavour] = {p: statistics.median(x[p] for x in passes) for p in (50, 95, 99)}
    return out


def archivio_query_fn(
    data_dir: Path | None, index_dir: Path | None, filters: dict[str, dict], dsn: str | None = None
):
    from archivio.search import Archive, QueryError, open_archive

    archive = open_archive("postgres", dsn=dsn) if dsn else Archive(data_dir, index_dir)
    if hasattr(archive, "result_cache"):
        archive.result_cache = None  # latency is measured without the result cache

    def fn(q: dict, flavour: str):
        f = filters[q["qid"]] if flavour in ("filter", "page") else {}
        try:
            return archive.search(q["query"], facets=flavour in ("facets", "page"), **f)
        except QueryError:
            return None

    return fn, archive


def fts5_query_fn(db: Path, filters: dict[str, dict]):
    """FTS5 any-term: the top 10, and for facets also the total and three GROUP BYs."""
    from bench.baselines import Fts5Baseline, norm

    fts = Fts5Baseline(db, mode="any")

    def fn(q: dict, flavour: str):
        f = filters[q["qid"]] if flavour in ("filter", "page") else {}
        ids = fts.search(q["query"], f, limit=10)
        if flavour in ("facets", "page"):
            expr = fts.match_expression(q["query"])
            if not expr:
                return ids
            where, args = "fts MATCH ?", [expr]
            if f:
                where += " AND d.category = ? AND d.date >= ? AND d.date <= ?"
                args += [norm(f["category"]), f["since"], f["until"]]
            base = f"FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE {where}"
            fts.conn.execute(f"SELECT count(*) {base}", args).fetchone()
            for col in ("d.author", "d.category", "substr(d.date, 1, 4)"):
                fts.conn.execute(
                    f"SELECT {col} AS v, count(*) AS n {base} AND {col} != '' "
                    f"GROUP BY v ORDER BY n DESC LIMIT {FACET_SIZE}",
                    args,
                ).fetchall()
        return ids

    return fn, fts


def whoosh_query_fn(path: Path, filters: dict[str, dict]):
    """Plain whoosh, all terms; facets with whoosh's groupedby on its ID fields."""
    from whoosh import index, sorting

    from bench.baselines import WhooshBaseline

    wb = WhooshBaseline(path, mode="all")
    wb.ix = index.open_dir(str(path))
    wb.searcher = wb.ix.searcher()
    groups = {
        "author": sorting.FieldFacet("author"),
        "category": sorting.FieldFacet("category"),
        "date": sorting.FieldFacet("date"),
    }

    def fn(q: dict, flavour: str):
        f = filters[q["qid"]] if flavour in ("filter", "page") else {}
        if flavour not in ("facets", "page"):
            return wb.search(q["query"], f, limit=10)
        parsed = wb.parse(q["query"])
        if parsed is None:
            return []
        results = wb.searcher.search(
            parsed, filter=wb.filter_query(f), limit=10, groupedby=groups, maptype=sorting.Count
        )
        years: dict[str, int] = {}
        for day, n in results.groups("date").items():
            years[day[:4]] = years.get(day[:4], 0) + n
        results.groups("author")
        results.groups("category")
        return [hit["id"] for hit in results]

    return fn, wb


def tantivy_query_fn(path: Path, filters: dict[str, dict]):
    """tantivy, any term, its Italian chain (bench.baselines.TantivyBaseline): the
    top 10; with facets, the total too (its Python bindings have no facet
    counts over text fields: the facets and page rows stay empty)."""
    from bench.baselines import TantivyBaseline

    tb = TantivyBaseline(path).open()

    def fn(q: dict, flavour: str):
        if flavour in ("facets", "page"):
            return None
        f = filters[q["qid"]] if flavour == "filter" else {}
        return tb.search(q["query"], f, limit=10)

    return fn, tb


def tantivy_installed() -> bool:
    try:
        import tantivy  # noqa: F401 - only asks whether the dev extra is there
    except ImportError:
        return False
    return True


# -- web -----------------------------------------------------------------------------------

WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%%d p50=%%d p95=%%d p99=%%d non2xx=%%d sockerr=%%d\\n",
    summary.requests, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


# Seconds a started server has to answer /healthz (a million articles open in ~1 s).
SERVER_START = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return NA


def server_peak_rss_mib(pid: int) -> float:
    """Peak RSS of the server: its own plus its workers' (serve --workers)."""
    return sum(peak_rss_mib(p) for p in [pid, *_workers(pid)])


def worker_peak_rss_mib(pid: int) -> float:
    """The largest peak RSS of one process serving searches: a worker's
    (serve --workers), or the server's own when it has none."""
    return max(peak_rss_mib(p) for p in _workers(pid) or [pid])


def _workers(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_server(archive_args: list[str], env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    """`archivio serve` on a free port: the process and its base URL, once
    /healthz answers (a 503 is an answer). RuntimeError when it exits or
    stays silent for SERVER_START seconds."""
    port = free_port()
    server = subprocess.Popen(
        cli(*archive_args, "serve", "--port", str(port), *extra),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=60).read()
            return server, base
        except urllib.error.HTTPError:
            return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                server.wait()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.05)


def measure_web(
    archive_args: list[str],
    queries: list[dict],
    work: Path,
    seconds: int,
    cache: bool,
    workers: int = 1,
) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found (apt-get install wrk)")
    env = dict(os.environ, ARCHIVIO_RESULT_CACHE="256" if cache else "0")
    server, base = start_server(archive_args, env, "--workers", str(workers))
    try:
        paths = ["/?" + urllib.parse.urlencode({"q": q["query"]}) for q in queries]
        for _ in range(workers):  # warm every worker's searchers like the in-process warm-up
            for p in paths:
                # A query refused on a cold cache (see searching.TIME_LIMIT) still warms it.
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(base + p, timeout=60).read()
        script = work / "wrk.lua"
        script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
        out = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), base + "/"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        m = re.search(r"RESULT requests=(\d+) p50=(\d+) p95=(\d+) p99=(\d+) non2xx=(\d+) sockerr=(\d+)", out)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        return {
            "rps": rps,
            "p50_ms": int(m.group(2)) / 1000,
            "p95_ms": int(m.group(3)) / 1000,
            "p99_ms": int(m.group(4)) / 1000,
            "errors": int(m.group(5)) + int(m.group(6)),
            "rss_mib": server_peak_rss_mib(server.pid),
            "worker_rss_mib": worker_peak_rss_mib(server.pid),
        }
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- one size ------------------------------------------------------------------------------


def median_of(runs: int, fn: Callable[[int], tuple[float, ...]]) -> tuple[float, ...]:
    results = [fn(i) for i in range(runs)]
    return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))


def increment_files(work: Path, count: int, runs: int) -> list[Path]:
    """A different 1,000 new articles for each run, copies numbered past any used
    before (a counter in the work dir, so a reused store never sees them twice)."""
    counter = work / "next-copy.txt"
    first = int(counter.read_text()) if counter.exists() else (count // 19_902) + 10
    counter.write_text(str(first + runs))
    inc_files = []
    for i in range(runs):
        path = work / f"new-{i}.jsonl"
        write_jsonl(
            (rec for _, rec in zip(range(INCREMENT), scaled_records(None, first + i), strict=False)), path
        )
        inc_files.append(path)
    return inc_files


def bench_size(n: int | None, args: argparse.Namespace, work: Path, queries: list[dict]) -> dict:
    label = "dev" if n is None else f"{n:,}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    count, raw = write_corpus(scaled_records(n), corpus)
    print(f"\n[{label}] {count:,} articles, {raw / 1e6:.1f} MB of text  (work dir {work})", flush=True)
    r: dict = {"articles": count, "raw_mb": raw / 1e6}
    if args.backend == "postgres":
        inc_files, filters, archive_args = bench_postgres(r, args, work, corpus, queries)
    else:
        inc_files, filters, archive_args = bench_whoosh(r, args, work, corpus, queries)
    out = {"archivio": r}
    if not args.skip_baselines:
        for system in ("fts5", "whoosh", "tantivy"):
            if system == "tantivy" and not tantivy_installed():
                print("  tantivy: not installed (pip install -e '.[dev]')", flush=True)
                continue
            b: dict = {}
            target = work / system
            if system == "whoosh" and args.skip_whoosh_build_above and count > args.skip_whoosh_build_above:
                continue

            def build(_: int, system: str = system, target: Path = target) -> tuple[float, ...]:
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                secs, rss = run_measured(worker("build", system, str(corpus), str(target)))
                return secs, rss, LAST_CPU, LAST_RSS

            b["build_s"], b["build_rss"], b["build_cpu"], b["build_rss_sum"] = median_of(
                args.build_runs, build
            )
            b["size_mb"] = dir_size(target) / 1e6

            def add(i: int, system: str = system, target: Path = target) -> tuple[float]:
                return (run_measured(worker("add", system, str(inc_files[i]), str(target)))[0],)

            (b["inc_s"],) = median_of(args.runs, add)
            if system == "fts5":
                fn, handle = fts5_query_fn(target / "fts.db", filters)
            elif system == "tantivy":
                fn, handle = tantivy_query_fn(target / "tantivy", filters)
            else:
                fn, handle = whoosh_query_fn(target / "whoosh", filters)
            flavours = ("plain", "filter") if system == "tantivy" else FLAVOURS
            b["latency"] = measure_latency(fn, queries, args.baseline_runs or args.runs, flavours)
            handle.close()
            print(
                f"  {system}: build {b['build_s']:.1f} s, inc {b['inc_s']:.2f} s, "
                f"latency {json.dumps(b['latency'])}",
                flush=True,
            )
            out[system] = b
    if not args.skip_web:
        # The PostgreSQL backend has no result cache: one measurement.
        for cache in (False,) if args.backend == "postgres" else (False, True):
            key = "web_cached" if cache else "web"
            runs = [
                measure_web(archive_args, queries, work, args.web_seconds, cache, args.web_workers)
                for _ in range(args.web_runs)
            ]
            r[key] = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
            print(f"  web (cache {'on' if cache else 'off'}): {json.dumps(r[key])}", flush=True)
    return out


def bench_whoosh(
    r: dict, args: argparse.Namespace, work: Path, corpus: Path, queries: list[dict]
) -> tuple[list[Path], dict[str, dict], list[str]]:
    """The whoosh engine's figures into `r`; the increment files, the query
    filters and the CLI arguments naming the archive."""
    count = r["articles"]
    data, index = work / "data", work / "index"
    if (data / "archive.sqlite").exists() and store_count(data) != count:
        # A reused work dir whose store is not the corpus (say, an earlier
        # run stopped before taking its increments out): start it again.
        shutil.rmtree(data)
        shutil.rmtree(index, ignore_errors=True)
    # The store is filled once; every rebuild then streams from it.
    if not (data / "archive.sqlite").exists():
        started = time.perf_counter()
        subprocess.run(
            cli("--data-dir", str(data), "--index-dir", str(index), "import", "--no-index", str(corpus)),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"  store import {time.perf_counter() - started:.1f} s", flush=True)
    procs = ["--procs", str(args.procs)] if args.procs else []

    def rebuild(_: int) -> tuple[float, float, float, float]:
        secs, rss = run_measured(cli("--data-dir", str(data), "--index-dir", str(index), "rebuild", *procs))
        return secs, rss, LAST_CPU, LAST_RSS

    print(f"  load average before the rebuilds: {os.getloadavg()[0]:.2f}", flush=True)
    r["build_s"], r["build_rss"], r["build_cpu"], r["build_rss_sum"] = median_of(args.build_runs, rebuild)
    # The live generation only: a rebuild keeps the previous one for open readers.
    live = index / (index / "CURRENT").read_text().strip()
    r["size_mb"] = dir_size(live) / 1e6
    print(
        f"  archivio rebuild {r['build_s']:.1f} s ({r['build_cpu']:.0f} CPU s), "
        f"{r['build_rss']:.0f} MiB, {r['size_mb']:.1f} MB",
        flush=True,
    )

    inc_files = increment_files(work, count, args.runs)

    def incremental(i: int) -> tuple[float]:
        return (
            run_measured(
                cli("--data-dir", str(data), "--index-dir", str(index), "import", str(inc_files[i]))
            )[0],
        )

    (r["inc_s"],) = median_of(args.runs, incremental)
    print(f"  archivio incremental {r['inc_s']:.2f} s; load average {os.getloadavg()[0]:.2f}", flush=True)

    filters = query_filters(queries, data)
    fn, archive = archivio_query_fn(data, index, filters)
    r["latency"] = measure_latency(fn, queries, args.runs)
    print("  archivio latency " + json.dumps(r["latency"]), flush=True)
    # The increments go again, so that the store stays the corpus for the
    # next run (the web figures are taken with their deletions in the index).
    archive.remove(increment_ids(inc_files))
    archive.close()

    return inc_files, filters, ["--data-dir", str(data), "--index-dir", str(index)]


def store_count(data: Path) -> int:
    with contextlib.closing(sqlite3.connect(data / "archive.sqlite")) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def increment_ids(inc_files: list[Path]) -> list[str]:
    return [json.loads(line)["id"] for path in inc_files for line in path.open(encoding="utf-8")]


def fresh_database(admin_dsn: str, name: str) -> str:
    """An empty database `name` on the server of `admin_dsn` (dropped first
    when an earlier run left it); its DSN."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def database_mb(dsn: str) -> tuple[float, float]:
    """(whole database, the text indexes alone: stems and exact words) in MB."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        total, gin = conn.execute(
            "SELECT pg_database_size(current_database()), pg_relation_size('articles_tsv') "
            "+ coalesce(pg_relation_size(to_regclass('articles_tsv_exact')), 0)"
        ).fetchone()
    return total / 1e6, gin / 1e6


def vacuum(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) articles")
        conn.execute("VACUUM (ANALYZE) vocabulary")


def bench_postgres(
    r: dict, args: argparse.Namespace, work: Path, corpus: Path, queries: list[dict]
) -> tuple[list[Path], dict[str, dict], list[str]]:
    """The PostgreSQL backend's figures into `r` (see the module docstring);
    the increment files, the query filters and the CLI arguments naming the archive."""
    if not args.dsn:
        raise SystemExit("--backend postgres needs --dsn (a server where the user may create databases)")
    dsn = ""
    archive_args: list[str] = []

    def full_import(_: int) -> tuple[float, float, float, float]:
        nonlocal dsn, archive_args
        dsn = fresh_database(args.dsn, f"archivio_bench_{work.name}")
        archive_args = ["--backend", "postgres", "--dsn", dsn]
        secs, rss = run_measured(cli(*archive_args, "import", str(corpus)))
        return secs, rss, LAST_CPU, LAST_RSS

    print(f"  load average before the imports: {os.getloadavg()[0]:.2f}", flush=True)
    r["import_s"], r["import_rss"], r["import_cpu"], r["import_rss_sum"] = median_of(
        args.build_runs, full_import
    )
    r["size_mb"], r["gin_mb"] = database_mb(dsn)
    print(
        f"  archivio import {r['import_s']:.1f} s ({r['import_cpu']:.0f} CPU s), "
        f"{r['import_rss']:.0f} MiB, database {r['size_mb']:.1f} MB (GIN {r['gin_mb']:.1f} MB)",
        flush=True,
    )

    def rebuild(_: int) -> tuple[float, float, float, float]:
        secs, rss = run_measured(cli(*archive_args, "rebuild"))
        return secs, rss, LAST_CPU, LAST_RSS

    r["build_s"], r["build_rss"], r["build_cpu"], r["build_rss_sum"] = median_of(args.build_runs, rebuild)
    r["rebuilt_size_mb"], _ = database_mb(dsn)
    print(
        f"  archivio rebuild {r['build_s']:.1f} s ({r['build_cpu']:.0f} CPU s), "
        f"{r['build_rss']:.0f} MiB, database {r['rebuilt_size_mb']:.1f} MB after it",
        flush=True,
    )

    inc_files = increment_files(work, r["articles"], args.runs)

    def incremental(i: int) -> tuple[float]:
        return (run_measured(cli(*archive_args, "import", str(inc_files[i])))[0],)

    (r["inc_s"],) = median_of(args.runs, incremental)
    print(f"  archivio incremental {r['inc_s']:.2f} s; load average {os.getloadavg()[0]:.2f}", flush=True)

    # The steady state, not autovacuum catching up with the rebuild's row versions.
    vacuum(dsn)
    filters = pg_query_filters(queries, dsn)
    fn, archive = archivio_query_fn(None, None, filters, dsn=dsn)
    r["latency"] = measure_latency(fn, queries, args.runs)
    archive.close()
    print("  archivio latency " + json.dumps(r["latency"]), flush=True)
    return inc_files, filters, archive_args


# -- the table -----------------------------------------------------------------------------


def _fmt(v: float, unit: str) -> str:
    if v != v:  # NaN
        return "—"
    if unit == "int":
        return f"{v:,.0f}"
    return f"{v:,.2f}" if v < 10 else f"{v:,.1f}"


def _ratio(ours: float, base: float) -> str:
    if ours != ours or base != base or not base:
        return "—"
    return f"{ours / base:.2f}"


def figure(d: dict, *path: object) -> float:
    """The figure at `path` in nested results; NaN when it was not measured."""
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return NA
        d = d[p]
    return float(d)


def print_table(label: str, res: dict) -> None:
    a, f, w, t = res["archivio"], res.get("fts5", {}), res.get("whoosh", {}), res.get("tantivy", {})
    n = a["articles"]

    rows: list[tuple[str, str, tuple]] = [
        ("rebuild time (s)", "s", ("build_s",)),
        ("rebuild articles/s", "int", ("rate",)),
        ("rebuild CPU seconds (all processes)", "s", ("build_cpu",)),
        ("rebuild peak memory, PSS of all processes (MiB)", "int", ("build_rss",)),
        ("rebuild peak RSS summed over processes (MiB)", "int", ("build_rss_sum",)),
        ("index size (MB)", "s", ("size_mb",)),
        ("index size / raw text", "s", ("size_ratio",)),
        ("incremental +1,000 (s)", "s", ("inc_s",)),
    ]
    if "import_s" in a:  # PostgreSQL: the full import is the build; the size is the database's
        a["import_rate"] = n / a["import_s"]
        rows[:0] = [
            ("import into an empty database (s)", "s", ("import_s",)),
            ("import articles/s", "int", ("import_rate",)),
            ("import CPU seconds (client)", "s", ("import_cpu",)),
            ("import peak memory, PSS (client, MiB)", "int", ("import_rss",)),
        ]
        rows[rows.index(("index size (MB)", "s", ("size_mb",)))] = (
            "database size, store included (MB)",
            "s",
            ("size_mb",),
        )
        rows.insert(-1, ("database size after a rebuild (MB)", "s", ("rebuilt_size_mb",)))
        rows.insert(-1, ("of which text indexes (GIN, MB)", "s", ("gin_mb",)))
    for d in (a, f, w, t):
        if "build_s" in d:
            d["rate"] = n / d["build_s"]
            d["size_ratio"] = d["size_mb"] / a["raw_mb"]
    for flavour in FLAVOURS:
        for p in (50, 95, 99):
            rows.append((f"query {flavour} p{p} (ms)", "s", ("latency", flavour, p)))
    print(f"\n### {label}: {n:,} articles, {a['raw_mb']:.1f} MB raw text")
    ours = "archivio (postgres)" if "import_s" in a else "archivio"
    print(f"| metric | {ours} | fts5 any | whoosh std | tantivy any | ÷ fts5 | ÷ whoosh | ÷ tantivy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, unit, path in rows:
        ours, fv, wv, tv = figure(a, *path), figure(f, *path), figure(w, *path), figure(t, *path)
        print(
            f"| {name} | {_fmt(ours, unit)} | {_fmt(fv, unit)} | {_fmt(wv, unit)} | {_fmt(tv, unit)} "
            f"| {_ratio(ours, fv)} | {_ratio(ours, wv)} | {_ratio(ours, tv)} |"
        )
    for key, title in (("web", "result cache off"), ("web_cached", "result cache on")):
        if key in a:
            web = a[key]
            print(
                f"| web req/s ({title}) | {web['rps']:,.0f} | — | — | — "
                f"| target 400: {web['rps'] / 400:.2f} | | |"
            )
            print(
                f"| web p95 ms / errors / server RSS MiB, all and largest worker ({title}) | "
                f"{web['p95_ms']:.0f} / {web['errors']:.0f} / {web['rss_mib']:.0f}, "
                f"{web.get('worker_rss_mib', NA):.0f} | — | — | — | | | |"
            )


# -- the targets ----------------------------------------------------------------------


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """The speed targets that the measured sizes can answer: (target, figures, met)."""
    out: list[tuple[str, str, bool]] = []

    def fig(label: str, system: str, *path: object) -> float:
        return figure(results, label, system, *path)

    def add(name: str, ours: float, other: float, text: str, met: bool) -> None:
        if ours == ours and other == other:  # both measured (not NaN)
            out.append((name, text, met))

    ours_plain, tantivy_plain = (fig("100k", s, "latency", "plain", 95) for s in ("archivio", "tantivy"))
    add(
        "plain query p95 at 100k <= 4x tantivy's",
        ours_plain,
        tantivy_plain,
        f"{ours_plain:.1f} vs {tantivy_plain:.2f} ms: {ours_plain / tantivy_plain:.1f}x",
        ours_plain <= 4 * tantivy_plain,
    )
    page, plain = fig("100k", "archivio", "latency", "page", 95), fig("100k", "fts5", "latency", "plain", 95)
    add(
        "search page p95 at 100k <= FTS5 any-term plain p95",
        page,
        plain,
        f"{page:.1f} vs {plain:.1f} ms: {page / plain:.2f}",
        page <= plain,
    )
    big = fig("1m", "archivio", "latency", "page", 95)
    add(
        "search page p95 at 1M <= 10 ms",
        big,
        big,
        f"{big:.1f} ms",
        big <= 10,
    )
    add(
        "search page p95 at 1M <= 5x p95 at 100k",
        big,
        page,
        f"{big:.1f} vs {page:.1f} ms: {big / page:.1f}x",
        big <= 5 * page,
    )
    for label in results:
        # The speed issue asks 6x at 100k (the default settings: one process
        # per core); the sizes around it keep the first wave's 3x.
        times = 6 if label == "100k" else 3
        ours, theirs = fig(label, "archivio", "rate"), fig(label, "whoosh", "rate")
        add(
            f"rebuild >= {times}x plain whoosh's articles/s ({label})",
            ours,
            theirs,
            f"{ours:,.0f} vs {theirs:,.0f}/s: {ours / theirs:.1f}x",
            ours >= times * theirs,
        )
    rss = fig("1m", "archivio", "build_rss_sum")
    add("rebuild peak RSS at 1M < 2 GiB", rss, rss, f"{rss:,.0f} MiB", rss < 2048)
    for label in ("100k", "1m"):
        build, inc = fig(label, "archivio", "build_s"), fig(label, "archivio", "inc_s")
        add(
            f"incremental +1,000 >= 10x faster than a rebuild ({label})",
            inc,
            build,
            f"{inc:.2f} vs {build:.1f} s: {build / inc:.0f}x",
            build >= 10 * inc,
        )
    for label in results:
        ratio = fig(label, "archivio", "size_ratio")
        add(f"index size <= 1.5x raw text ({label})", ratio, ratio, f"{ratio:.2f}", ratio <= 1.5)
    rps, errors = fig("100k", "archivio", "web", "rps"), fig("100k", "archivio", "web", "errors")
    add(
        "search page at 100k >= 400 req/s, 8 clients, no errors (result cache off, a worker per core)",
        rps,
        errors,
        f"{rps:,.0f} req/s, {errors:.0f} errors",
        rps >= 400 and errors == 0,
    )
    worker = fig("1m", "archivio", "web", "worker_rss_mib")
    add("server RSS at 1M <= 800 MiB per worker", worker, worker, f"{worker:,.0f} MiB", worker <= 800)
    return out


def print_targets(results: dict) -> None:
    rows = targets(results)
    if not rows:
        return
    print("\n## Targets (sizes measured in this report)")
    print("| target | figures | met |")
    print("|---|---|---|")
    for name, text, met in rows:
        print(f"| {name} | {text} | {'yes' if met else '**no**'} |")


def load_results(paths: list[str]) -> dict:
    """Results saved by --json (several runs merged, later files winning per
    size and system: a run that left plain whoosh out keeps an earlier one's)."""
    results: dict = {}
    for path in paths:
        for label, res in json.loads(Path(path).read_text()).items():
            for system in res.values():
                # JSON made the percentiles' keys strings.
                for flavour, pct in system.get("latency", {}).items():
                    system["latency"][flavour] = {int(k): v for k, v in pct.items()}
            results.setdefault(label, {}).update({name: figures for name, figures in res.items() if figures})
    return results


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        worker_main(argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes",
        type=lambda s: [parse_size(x) for x in s.split(",")],
        help="comma-separated: 20k (the dev corpus), 100k, 1m, or counts",
    )
    ap.add_argument("--scale", type=parse_size, help="one more size after the dev corpus, e.g. 100000")
    ap.add_argument(
        "--backend",
        choices=("whoosh", "postgres"),
        default="whoosh",
        help="engine to measure (default whoosh)",
    )
    ap.add_argument(
        "--dsn",
        help="--backend postgres: a PostgreSQL server where the user may create "
        "databases (each size gets archivio_bench_<size>)",
    )
    ap.add_argument(
        "--procs", type=int, default=None, help="rebuild processes (default: the engine's, one per core)"
    )
    ap.add_argument("--runs", type=int, default=3, help="runs per latency / incremental figure")
    ap.add_argument("--build-runs", type=int, default=3, help="runs per full-build figure")
    ap.add_argument(
        "--baseline-runs",
        type=int,
        help="latency passes for the baselines (default --runs; plain whoosh's "
        "filtered queries take ~1 s each at 100,000 articles)",
    )
    ap.add_argument("--web-runs", type=int, default=1)
    ap.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="serve --workers for the web figures (default: one per core, as a site "
        "would run it; at 100k on 2 cores, 1 worker ~130 req/s, 2 workers ~210-225)",
    )
    ap.add_argument("--web-seconds", type=int, default=20)
    ap.add_argument("--skip-web", action="store_true")
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument(
        "--skip-whoosh-build-above",
        type=int,
        default=0,
        help="leave plain whoosh out above this many articles (0: never)",
    )
    ap.add_argument("--work-dir", help="keep corpora, stores and indexes here (default: a temp dir)")
    ap.add_argument("--json", dest="json_out", help="also write the raw figures to this file")
    ap.add_argument(
        "--report",
        nargs="+",
        metavar="JSON",
        help="measure nothing: print the tables and targets of runs saved with --json "
        "(e.g. a 20k+100k run and a 1m run)",
    )
    args = ap.parse_args(argv)
    if args.report:
        results = load_results(args.report)
        for label, res in results.items():
            print_table(label, res)
        print_targets(results)
        return
    sizes = args.sizes or [None] + ([args.scale] if args.scale else [])
    if not corpus_path().exists():
        ap.error(f"dev corpus not found: {corpus_path()}")
    queries = load_queries()
    tmp = None
    if args.work_dir:
        work = Path(args.work_dir)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="archivio-speed-")
        work = Path(tmp.name)
    results = {}
    try:
        for n in sizes:
            label = DEV_SIZE if n is None else f"{n // 1000}k" if n < 1_000_000 else f"{n / 1e6:g}m"
            results[label] = bench_size(n, args, work / label, queries)
            print_table(label, results[label])
    finally:
        if tmp is not None:
            tmp.cleanup()
    print("\n## Summary")
    for label, res in results.items():
        print_table(label, res)
    print_targets(results)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
