"""Soak test: the search page under steady load while an import runs.

    python bench/soak.py                       # 16 clients, 60 s, import of 5,000 articles
    python bench/soak.py --clients 8 --duration 20 --json

Builds a scratch archive (the dev corpus of ../shared, 19,902 articles,
when present, else --base-count generated Italian-like articles; or a copy
of an existing archive with --from DATA INDEX), starts the real server (`cli.py
serve` on 127.0.0.1), warms it up, then for --duration seconds drives the
search page with --clients concurrent clients while `cli.py import` adds
--import-count new articles. Reports requests, errors, latency percentiles
and the server's RSS after warm-up and at the end. Exits 1 when there was
any error, or when the RSS grew by more than --max-growth percent.

Not part of the test suite: it runs for a minute and loads the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"

_VOCABULARY = (
    "governo ministro sindaco regione comune consiglio bilancio scuola ospedale porto treno strada ponte "
    "fiume lago montagna mare spiaggia turismo lavoro sciopero sindacato impresa fabbrica energia gas "
    "luce prezzo inflazione mercato banca credito famiglia giovani anziani studenti università ricerca "
    "museo mostra festival cinema teatro musica concerto calcio squadra partita campionato ciclismo corsa "
    "tappa vittoria sconfitta polizia carabinieri indagine processo tribunale sentenza incendio alluvione "
    "siccità neve pioggia vento"
)
WORDS = _VOCABULARY.split()
CATEGORIES = ["Cronaca", "Politica", "Sport", "Cultura", "Economia"]
AUTHORS = ["Anna Verdi", "Marco Rossi", "Giulia Bianchi", "Luca Neri", None]


def write_articles(path: Path, start: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for n in range(start, start + count):
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 400)))
            record = {
                "id": f"soak-{n:07d}",
                "title": f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {rng.choice(WORDS)} {n}",
                "author": rng.choice(AUTHORS),
                "date": (date(2018, 1, 1) + timedelta(days=rng.randint(0, 2900))).isoformat(),
                "category": rng.choice(CATEGORIES),
                "body": body + ".",
                "source": "Soak",
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def queries(rng: random.Random) -> str:
    """A search page URL, as readers would type and click them."""
    kind = rng.random()
    words = rng.sample(WORDS, rng.choice([1, 1, 2, 2, 3]))
    params: dict[str, str] = {"q": " ".join(words)}
    if kind < 0.1:
        params["q"] = f'"{words[0]} {rng.choice(WORDS)}"'
    elif kind < 0.2:
        params["q"] = words[0][:4] + "*"
    elif kind < 0.3:
        params["categoria"] = rng.choice(CATEGORIES)
    elif kind < 0.4:
        params["ordina"] = rng.choice(["recenti", "meno-recenti"])
    elif kind < 0.5:
        params["da"], params["a"] = "2019-01-01", "2021-12-31"
    return "/?" + urlencode(params)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cli(data: Path, index: Path, *args: str) -> list[str]:
    return [sys.executable, str(CLI), "--data-dir", str(data), "--index-dir", str(index), *args]


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="archivio-soak-"))
    data, index = work / "data", work / "index"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        corpus = ROOT.parent / "shared" / "corpus" / "italian_news_dev.jsonl.gz"
        if args.source:
            shutil.copytree(args.source[0], data)
            shutil.copytree(args.source[1], index)
        elif corpus.exists() and not args.generated:
            # Real articles: an archive whose size and vocabulary look like a
            # newsroom's (the generated one is tiny and uses 90 words).
            subprocess.run(
                cli(data, index, "import", str(corpus)), check=True, env=env, stdout=subprocess.DEVNULL
            )
        else:
            write_articles(work / "base.jsonl", 0, args.base_count, seed=1)
            subprocess.run(
                cli(data, index, "import", str(work / "base.jsonl")),
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        write_articles(work / "new.jsonl", 1_000_000, args.import_count, seed=2)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = cli(data, index, "serve", "--port", str(port), "--threads", str(args.threads))
        server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rss_boot = rss_kb(server.pid)
            stats = drive(base, args.clients, args.warmup, seed=3)  # warm-up, not counted
            rss_start = rss_kb(server.pid)

            importer = subprocess.Popen(
                cli(data, index, "import", str(work / "new.jsonl")),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            import_started = time.monotonic()
            finished: dict[str, float] = {}

            def wait_import() -> None:
                importer.communicate()
                finished["at"] = time.monotonic()

            waiter = threading.Thread(target=wait_import)
            waiter.start()
            timeline: list[tuple[float, float]] = []
            sampling = threading.Event()

            def sample_rss() -> None:
                while not sampling.wait(5.0):
                    elapsed = round(time.monotonic() - import_started)
                    timeline.append((elapsed, round(rss_kb(server.pid) / 1024)))

            sampler = threading.Thread(target=sample_rss)
            sampler.start()
            stats = drive(base, args.clients, args.duration, seed=4)
            rss_end = rss_kb(server.pid)
            sampling.set()
            sampler.join()
            waiter.join()
            import_code = importer.returncode
            import_seconds = finished["at"] - import_started
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    latencies = sorted(stats["latencies"])
    growth = (rss_end - rss_start) / rss_start * 100 if rss_start else 0.0
    return {
        "clients": args.clients,
        "duration_s": args.duration,
        "requests": len(latencies) + stats["failed"],
        "errors": stats["errors"],
        "error_samples": stats["samples"][:5],
        "requests_per_s": round(len(latencies) / args.duration, 1),
        "latency_ms": {
            "p50": round(_pct(latencies, 50) * 1000, 1),
            "p95": round(_pct(latencies, 95) * 1000, 1),
            "p99": round(_pct(latencies, 99) * 1000, 1),
            "max": round(latencies[-1] * 1000, 1) if latencies else None,
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
        "server_rss_mb": {
            "after_boot": round(rss_boot / 1024, 1),
            "start": round(rss_start / 1024, 1),
            "end": round(rss_end / 1024, 1),
            "growth_percent": round(growth, 1),
            # A leak keeps growing; caches filling (bitmaps, results) level off.
            "growth_second_half_percent": _second_half_growth(timeline),
            "timeline": timeline,
        },
        "import": {
            "articles": args.import_count,
            "exit_code": import_code,
            "seconds": round(import_seconds, 1),
        },
        "work_dir": str(work) if args.keep else None,
    }


def _second_half_growth(timeline: list[tuple[float, float]]) -> float | None:
    if len(timeline) < 4:
        return None
    middle, last = timeline[len(timeline) // 2][1], timeline[-1][1]
    return round((last - middle) / middle * 100, 1) if middle else None


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def drive(base: str, clients: int, seconds: float, seed: int) -> dict:
    """`clients` threads requesting search pages for `seconds`."""
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    stats: dict = {"latencies": [], "errors": 0, "failed": 0, "samples": []}

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        while time.monotonic() < stop_at:
            url = base + queries(rng)
            started = time.perf_counter()
            problem = None
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    r.read()
                    if r.status != 200:
                        problem = f"{r.status} {url}"
            except urllib.error.HTTPError as e:
                problem = f"{e.code} {url}"
            except OSError as e:
                problem = f"{type(e).__name__}: {e} {url}"
            elapsed = time.perf_counter() - started
            with lock:
                if problem is None:
                    stats["latencies"].append(elapsed)
                else:
                    stats["errors"] += 1
                    stats["failed"] += 1
                    stats["samples"].append(problem)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of load before measuring")
    parser.add_argument("--import-count", type=int, default=5000)
    parser.add_argument(
        "--generated",
        action="store_true",
        help="start from generated articles even when ../shared/corpus is there",
    )
    parser.add_argument("--base-count", type=int, default=5000, help="articles in the generated archive")
    parser.add_argument(
        "--from",
        dest="source",
        nargs=2,
        metavar=("DATA", "INDEX"),
        help="copy this archive instead of generating one (it is never modified)",
    )
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    parser.add_argument("--max-growth", type=float, default=10.0, help="allowed RSS growth, percent")
    parser.add_argument("--keep", action="store_true", help="keep the scratch archive")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lat, rss = report["latency_ms"], report["server_rss_mb"]
        print(
            f"{report['clients']} clients for {report['duration_s']:g} s, importing "
            f"{report['import']['articles']} articles (exit {report['import']['exit_code']}, "
            f"{report['import']['seconds']} s)"
        )
        print(f"requests: {report['requests']} ({report['requests_per_s']}/s) · errors: {report['errors']}")
        print(
            f"latency: p50 {lat['p50']} ms · p95 {lat['p95']} ms · p99 {lat['p99']} ms · max {lat['max']} ms"
        )
        half = rss["growth_second_half_percent"]
        print(
            f"server RSS: {rss['after_boot']} MB after boot · {rss['start']} MB at start · "
            f"{rss['end']} MB at end ({rss['growth_percent']:+.1f}%; second half "
            f"{'n/a' if half is None else f'{half:+.1f}%'})"
        )
        for sample in report["error_samples"]:
            print("  error:", sample)
    ok = report["errors"] == 0 and report["import"]["exit_code"] == 0
    ok = ok and report["server_rss_mb"]["growth_percent"] <= args.max_growth
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
