"""Hostile import files: peak memory and time of `python cli.py import` on each.

Builds the bombs of issue 14 (and their cousins) in a temporary folder,
imports each one into its own fresh archive in a child process, and prints
the child's peak RSS (wait4's ru_maxrss) and wall time beside the limits:
600 MB of memory for any import, and the file and record caps. Never a test:
the largest bombs take minutes.

    python bench/bombs.py            # every bomb, full size (~10 min on 2 cores)
    python bench/bombs.py --scale 0.1 --only blank,csv
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 600
MB = 1024 * 1024


def _gzip_repeat(path: Path, unit: bytes, total: int, head: bytes = b"", tail: bytes = b"") -> None:
    """`head`, then `unit` repeated to `total` bytes, then `tail`, gzip-compressed as written."""
    block = unit * max(1, MB // len(unit))
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(head)
        written = 0
        while written < total:
            f.write(block)
            written += len(block)
        f.write(tail)


def _plain_repeat(path: Path, unit: bytes, total: int, head: bytes = b"", tail: bytes = b"") -> None:
    block = unit * max(1, MB // len(unit))
    with open(path, "wb") as f:
        f.write(head)
        written = 0
        while written < total:
            f.write(block)
            written += len(block)
        f.write(tail)


def _csv_rows(path: Path, total: int) -> None:
    """A real-looking CSV: header, then long articles with quoted multi-line bodies."""
    body = "Il consiglio comunale ha approvato il bilancio, con il voto contrario dell'opposizione. " * 40
    with open(path, "w", encoding="utf-8") as f:
        f.write("id;titolo;data;testo\n")
        n = 0
        while f.tell() < total:
            f.write(f'csv-{n};"Notizia {n}";2024-01-{n % 28 + 1:02d};"{body}\n\n{body}"\n')
            n += 1


def _long_articles(path: Path, total: int) -> None:
    """JSON Lines of articles at the 1,000,000-character cap, of distinct
    words (a whole store batch of them is ~500 MB of text), gzip."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        n = written = 0
        while written < total:
            body = " ".join(f"parola{(n * 7919 + i) % 200_000}" for i in range(80_000))[:999_000]
            line = json.dumps({"id": f"lungo-{n}", "title": f"Articolo lungo {n}", "body": body}) + "\n"
            f.write(line)
            written += len(line)
            n += 1


RSS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Bomba</title>'
WXR_HEAD = (
    b'<?xml version="1.0"?><rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Sito</title>'
)


def _wxr_caption(path: Path, total: int) -> None:
    """One post whose content is `total` bytes of unclosed [caption] shortcodes."""
    body = b"[caption id=x]testo " * (total // 20)
    path.write_bytes(
        WXR_HEAD
        + b"<item><title>Didascalie</title><content:encoded><![CDATA["
        + body
        + b"]]></content:encoded><wp:post_type>post</wp:post_type><wp:status>publish</wp:status></item>"
        + b"</channel></rss>"
    )


# name -> (file name, builder(path, scale), what it is)
BOMBS: dict[str, tuple[str, Callable[[Path, float], None], str]] = {
    "blank": (
        "vuote.jsonl.gz",
        lambda p, s: _gzip_repeat(p, b"\n", int(500 * MB * s)),
        "500 MB of blank lines, gzip (under the 512 MB cap)",
    ),
    "blank-over": (
        "vuote-oltre.jsonl.gz",
        lambda p, s: _gzip_repeat(p, b"\n", int(1024 * MB * s)),
        "1 GB of blank lines, gzip (over the cap)",
    ),
    "json-objects": (
        "oggetti.json.gz",
        lambda p, s: _gzip_repeat(p, b"{},", int(2000 * MB * s), head=b"[", tail=b"{}]"),
        "JSON array of 2 GB of {} (gzip ~2 MB)",
    ),
    "json-one-record": (
        "un-record.json.gz",
        lambda p, s: _gzip_repeat(
            p, b"{},", int(400 * MB * s), head=b'[{"title":"x","body":[', tail=b"{}]}]"
        ),
        "JSON array of one 400 MB record",
    ),
    "jsonl-values": (
        "valori.jsonl.gz",
        lambda p, s: _gzip_repeat(p, b"{},", int(15 * MB * s), head=b'{"a":[', tail=b"{}]}\n"),
        "one 15 MB JSON line of {} (under the 16 MB line cap)",
    ),
    "rss-items": (
        "voci.rss.gz",
        lambda p, s: _gzip_repeat(
            p,
            b"<item><title>Titolo</title><description>Testo</description></item>",
            int(400 * MB * s),
            head=RSS_HEAD,
            tail=b"</channel></rss>",
        ),
        "RSS of 400 MB of tiny items (gzip ~0.5 MB)",
    ),
    "rss-one-item": (
        "una-voce.rss.gz",
        lambda p, s: _gzip_repeat(
            p,
            b"<p>a</p>",
            int(300 * MB * s),
            head=RSS_HEAD + b"<item><title>T</title><description>",
            tail=b"</description></item></channel></rss>",
        ),
        "RSS with one 300 MB item",
    ),
    "wxr-caption": (
        "didascalie.xml",
        lambda p, s: _wxr_caption(p, int(400 * 1024 * s)),
        "WordPress post of 400 KB of unclosed [caption]",
    ),
    "wxr-items": (
        "bozze.xml.gz",
        lambda p, s: _gzip_repeat(
            p,
            b"<item><title>B</title><wp:status>draft</wp:status></item>",
            int(500 * MB * s),
            head=WXR_HEAD,
            tail=b"</channel></rss>",
        ),
        "WordPress export of 500 MB of draft items",
    ),
    "long-articles": (
        "lunghi.jsonl.gz",
        lambda p, s: _long_articles(p, int(480 * MB * s)),
        "480 MB of articles at the 1,000,000-character cap (JSON Lines, gzip)",
    ),
    "csv": (
        "articoli.csv",
        lambda p, s: _csv_rows(p, int(450 * MB * s)),
        "450 MB CSV of long articles",
    ),
    "csv-blank": (
        "vuote.csv.gz",
        lambda p, s: _gzip_repeat(p, b"\n", int(500 * MB * s), head=b"title,body\n"),
        "CSV header then 500 MB of blank lines, gzip",
    ),
    "html": (
        "pagina.html",
        lambda p, s: _plain_repeat(
            p,
            b"<p>parola</p>",
            int(15 * MB * s),
            head=b"<html><head><title>T</title></head><body><article>",
            tail=b"</article></body></html>",
        ),
        "15 MB HTML page of tiny paragraphs (under the 16 MB page cap)",
    ),
}


def run_bomb(name: str, folder: Path, scale: float, index: bool) -> dict:
    file_name, build, what = BOMBS[name]
    work = folder / name
    work.mkdir()
    path = work / file_name
    build(path, scale)
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "--data-dir",
        str(work / "data"),
        "--index-dir",
        str(work / "index"),
        "import",
        str(path),
        "--json",
    ] + ([] if index else ["--no-index"])
    env = dict(os.environ, ARCHIVIO_BACKEND="whoosh")
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    # communicate() reaped the child: its rusage came with it.
    peak_mb = _peak_of(proc) / 1024
    outcome = ""
    try:
        report = json.loads(out)
        first = report["rejected"][0]["reason"] if report["rejected"] else ""
        outcome = f"added {report['added']}, rejected {len(report['rejected'])}"
        outcome += f": {first}" if first else ""
    except (ValueError, KeyError):
        outcome = (err.decode(errors="replace").strip().splitlines() or ["?"])[-1]
    size = path.stat().st_size
    return {
        "bomb": name,
        "what": what,
        "file_mb": size / MB,
        "peak_mb": peak_mb,
        "seconds": seconds,
        "exit": proc.returncode,
        "outcome": outcome[:120],
    }


_RUSAGE: dict[int, int] = {}


def _peak_of(proc: subprocess.Popen) -> int:
    return _RUSAGE.get(proc.pid, 0)


def _install_wait4() -> None:
    """Popen reaps children with waitpid; wait4 gives the same and the child's own rusage."""
    original = os.waitpid

    def waitpid(pid: int, options: int):
        if pid > 0:
            got, status, usage = os.wait4(pid, options)
            if got:
                _RUSAGE[got] = usage.ru_maxrss
            return got, status
        return original(pid, options)

    os.waitpid = waitpid


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", action="store_true", help="index too (default --no-index: the importer and the store)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="bomb sizes times this (1: the issue's)")
    parser.add_argument("--only", help="comma-separated bomb names: " + ", ".join(BOMBS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BOMBS)
    _install_wait4()
    print(f"{'bomb':<16} {'file MB':>8} {'peak RSS MB':>12} {'limit MB':>9} {'s':>7} {'exit':>4}  outcome")
    with tempfile.TemporaryDirectory(prefix="bombs-") as tmp:
        for name in names:
            r = run_bomb(name, Path(tmp), args.scale, args.index)
            print(
                f"{r['bomb']:<16} {r['file_mb']:>8.1f} {r['peak_mb']:>12.0f} {MEMORY_LIMIT_MB:>9} "
                f"{r['seconds']:>7.1f} {r['exit']:>4}  {r['outcome']}",
                flush=True,
            )
            for leftover in (Path(tmp) / name).glob("*.*"):
                if leftover.is_file():
                    leftover.unlink()


if __name__ == "__main__":
    main()
