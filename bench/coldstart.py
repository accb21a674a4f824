"""A server's first searches: how fast a freshly started `archivio serve`
answers the first distinct queries it is asked.

    python -m bench.coldstart --data-dir D --index-dir I [--queries 50] [--drop-caches]

Starts the server (one worker, result cache off) on an existing archive,
waits for /healthz, then asks the search page for the first N distinct dev
queries one after another and prints the time of each request as the
client sees it: p50, p95 and the slowest, the server's start-up time and
its memory afterwards. With --drop-caches (root only) the operating
system's page cache is emptied first, so that the index is read from disk
as after a reboot; without it the files may still be in memory from an
earlier run, and the figures are those of a restart, not of a reboot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench.data import load_queries
from bench.speed import peak_rss_mib, start_server

TARGET_P95_MS = 150


def drop_page_cache() -> bool:
    """Empties the OS page cache (Linux, root); False when not allowed."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * p))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--queries", type=int, default=50, help="distinct dev queries asked (default 50)")
    ap.add_argument("--drop-caches", action="store_true", help="empty the OS page cache first (root)")
    args = ap.parse_args(argv)

    texts = list(dict.fromkeys(q["query"] for q in load_queries()))[: args.queries]
    if args.drop_caches:
        print("page cache dropped" if drop_page_cache() else "page cache NOT dropped (needs root)")
    env = dict(os.environ, ARCHIVIO_RESULT_CACHE="0", ARCHIVIO_SEARCH_LOG="0", ARCHIVIO_ACCESS_LOG="0")
    started = time.perf_counter()
    try:
        server, base = start_server(["--data-dir", args.data_dir, "--index-dir", args.index_dir], env)
    except RuntimeError as e:
        sys.exit(str(e))
    ready = time.perf_counter() - started
    try:
        times, errors = [], 0
        for text in texts:
            url = base + "/?" + urllib.parse.urlencode({"q": text})
            t0 = time.perf_counter()
            try:
                urllib.request.urlopen(url, timeout=120).read()
            except urllib.error.HTTPError:
                errors += 1
            times.append((time.perf_counter() - t0) * 1000)
        rss = peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    print(f"server ready (/healthz) after {ready:.2f} s")
    print(
        f"first {len(times)} distinct queries: p50 {statistics.median(times):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms, slowest {max(times):.1f} ms, "
        f"first {times[0]:.1f} ms, errors {errors}"
    )
    print(f"server peak RSS {rss:.0f} MiB")
    # The speed issue's target, for a million articles after a reboot (--drop-caches).
    p95 = percentile(times, 0.95)
    verdict = "met" if p95 <= TARGET_P95_MS else "missed"
    print(f"target (1M, after a reboot): p95 <= {TARGET_P95_MS} ms: {verdict}")


if __name__ == "__main__":
    main()
