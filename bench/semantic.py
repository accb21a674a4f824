"""What the semantic extra costs (search.semantic): embedding and query time.

    python -m bench.semantic                       # 200 corpus articles (demo when absent)
    python -m bench.semantic --articles 500 --threads 1 --threads 2
    python -m bench.semantic --data-dir D --index-dir I   # + search latency on an embedded archive

1. Embedding: `Archive.embed` on a scratch archive of --articles articles,
   in a child process per thread count (ARCHIVIO_EMBED_THREADS: OpenMP
   reads it once, when the engine loads): seconds per article, articles per second, and
   the time 1M articles would take at that rate.
2. Query vectors: the model's time to embed each dev-hard query (cold: the
   per-process cache of query vectors cleared before each).
3. With --data-dir/--index-dir of an embedded archive (`archivio embed`):
   the dev-hard queries that fall back (no article holds every word), each
   run with the extra off (Ranking.semantic_weight 0) and on, alternating,
   query-vector cache cleared: p50/p95 of both and of the difference. The
   others never touch the model (tests/test_semantic.py checks it).

Not a test: figures for the README and the closing notes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data import corpus_path, hard_queries_path, load_corpus, load_queries
from bench.metrics import percentiles

ROOT = Path(__file__).resolve().parents[1]


def embedding_rate(articles: int, threads: int) -> dict:
    """Embeds `articles` articles in a child process with `threads` OpenMP threads."""
    with tempfile.TemporaryDirectory(prefix="archivio-semantic-") as tmp:
        source = Path(tmp, "articoli.jsonl")
        if corpus_path().exists():
            rows = list(load_corpus(limit=articles))
            source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        else:
            source = ROOT / "demo" / "articoli"
        script = (
            "import json, sys, time\n"
            "from archivio.search import Archive\n"
            f"a = Archive({str(Path(tmp, 'data'))!r}, {str(Path(tmp, 'index'))!r})\n"
            f"a.import_paths([{str(source)!r}])\n"
            "from archivio.search.semantic import load_embedder\n"
            "load_embedder()\n"
            "t = time.perf_counter(); n = a.embed(); s = time.perf_counter() - t\n"
            "print(json.dumps({'articles': n, 'seconds': s}))\n"
        )
        env = {**os.environ, "ARCHIVIO_EMBED_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", script]
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        figures = json.loads(out.stdout.splitlines()[-1])
    per_article = figures["seconds"] / max(figures["articles"], 1)
    return {**figures, "threads": threads, "s_per_article": per_article, "hours_1m": per_article * 1e6 / 3600}


def query_vector_times(texts: list[str]) -> list[float]:
    from archivio.search.semantic import load_embedder

    embedder = load_embedder()
    embedder.query("riscaldamento")  # first call: the model's pages in memory
    times = []
    for text in texts:
        embedder._queries.clear()  # type: ignore[attr-defined]
        started = time.perf_counter()
        embedder.query(text)
        times.append((time.perf_counter() - started) * 1000)
    return times


def search_latency(data_dir: str, index_dir: str, queries: list[dict]) -> dict[str, list[float]]:
    from archivio.search import Archive
    from archivio.search.ranking import Ranking
    from archivio.search.semantic import load_embedder

    embedder = load_embedder()
    off = Archive(data_dir, index_dir, ranking=Ranking(semantic_weight=0.0))
    on = Archive(data_dir, index_dir)
    if on.embedded_count() is None:
        raise SystemExit(f"{index_dir}: no vectors (run `archivio embed` first)")
    fallback = [q for q in queries if off.search(q["query"], per_page=10, facets=False).exact_total == 0]
    times: dict[str, list[float]] = {"off": [], "on": [], "added": []}
    for q in fallback:
        pair = {}
        for name, archive in (("off", off), ("on", on)):
            embedder._queries.clear()  # type: ignore[attr-defined]
            started = time.perf_counter()
            archive.search(q["query"], per_page=10, facets=False)
            pair[name] = (time.perf_counter() - started) * 1000
            times[name].append(pair[name])
        times["added"].append(pair["on"] - pair["off"])
    return times


def _line(name: str, values: list[float]) -> str:
    p = percentiles(values)
    return f"{name:<28} p50 {p[50]:7.1f} ms   p95 {p[95]:7.1f} ms   (n={len(values)})"


def main(argv: list[str] | None = None) -> None:
    os.environ["ARCHIVIO_RESULT_CACHE"] = "0"  # every search runs
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--threads", type=int, action="append", help="OpenMP threads (default: 1 and 2)")
    ap.add_argument("--data-dir")
    ap.add_argument("--index-dir")
    args = ap.parse_args(argv)
    queries = load_queries(hard_queries_path())
    print("embedding (Archive.embed, title + subtitle + opening, 400 characters):")
    for threads in args.threads or [1, 2]:
        r = embedding_rate(args.articles, threads)
        print(
            f"  {threads} thread(s): {r['articles']} articles in {r['seconds']:.1f} s, "
            f"{r['s_per_article']:.3f} s/article, {1 / r['s_per_article']:.1f} articles/s; "
            f"1M articles: {r['hours_1m']:.1f} h"
        )
    print(_line("query vector (cold)", query_vector_times([q["query"] for q in queries])))
    if args.data_dir and args.index_dir:
        times = search_latency(args.data_dir, args.index_dir, queries)
        print("dev-hard queries that fall back, searched with the extra off and on:")
        for name in ("off", "on", "added"):
            print("  " + _line(name, times[name]))


if __name__ == "__main__":
    main()
