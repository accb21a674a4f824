"""CPU cost of the worst requests against the page and the API (issue 14).

    python bench/limits.py                       # the demo archive, 50 rounds per request
    python bench/limits.py --rounds 200 --json

Imports demo/articoli into a scratch archive, starts the real server
(`cli.py serve` on 127.0.0.1), then sends each request --rounds times, one
at a time on a new connection, and reads the server process's CPU time
(user + system, /proc/PID/stat) before and after: the CPU one request costs
the server, HTTP parsing by waitress included. The "app" column is the
Flask app alone (werkzeug's environ built beforehand, the WSGI call timed
with time.thread_time), best of the rounds.

Not a test: tests/test_robust_limits.py checks the statuses and messages.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"
TICKS = os.sysconf("SC_CLK_TCK")


def categories(n: int, length: int = 0) -> str:
    return "&".join(f"categoria=c{i}{'x' * length}" for i in range(n))


_COMMON = (
    "governo ministro presidente regione comune sindaco città italia roma milano anno giorno persone "
    "lavoro paese stato parte tempo caso milioni euro polizia casa vita donne uomo scuola ospedale guerra "
    "pace elezioni partito legge tribunale giudice squadra partita gol"
)
COMMON = _COMMON.split()
MANY_NAMES = "&".join(f"p{i}=v" for i in range(5000))

# (name, method, path and query, body)
REQUESTS = [
    ("issue 14: 15,000 categorie (244 KB), page", "GET", "/?q=museo&" + categories(15_000), b""),
    ("issue 14: 15,000 categorie (244 KB), API", "GET", "/api/search?q=museo&" + categories(15_000), b""),
    ("5,000 distinct parameters (38 KB)", "GET", "/api/search?" + MANY_NAMES, b""),
    ("q of 20,000 characters (20 KB), page", "GET", "/?q=" + "x" * 20_000, b""),
    ("q of 20,000 characters (20 KB), API", "GET", "/api/search?q=" + "x" * 20_000, b""),
    ("65 parameters", "GET", "/api/search?q=museo&" + categories(64), b""),
    ("63 categorie of 240 chars (15 KB), page", "GET", "/?q=museo&" + categories(62, 240), b""),
    ("63 categorie of 240 chars (15 KB), API", "GET", "/api/search?q=museo&" + categories(62, 240), b""),
    ("q of 1001 characters", "GET", "/api/search?q=" + "x" * 1001, b""),
    ("a 1 MB body", "POST", "/api/search?q=museo", b"x" * 1_000_000),
    ("accepted: q of 1000 'è' (6 KB), API", "GET", "/api/search?q=" + quote("è" * 1000), b""),
    (
        "accepted: 40 common words + 20 categorie, API",
        "GET",
        "/api/search?q=" + quote(" ".join(COMMON[:40])) + "&" + categories(20),
        b"",
    ),
    ("baseline: /healthz", "GET", "/healthz", b""),
]


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def send(port: int, method: str, target: str, body: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        # A refused request may be closed before its body is all sent.
        with contextlib.suppress(OSError):
            s.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        # The server may reset a connection it refused while data was still arriving.
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else 0  # 0: reset before any answer


def app_cpu(app, method: str, target: str, body: bytes, rounds: int) -> tuple[int, float]:
    path, _, query = target.partition("?")
    best, status = float("inf"), 0
    for _ in range(rounds):
        builder = EnvironBuilder(path=path, query_string=query, method=method, data=body or None)
        environ = builder.get_environ()
        statuses: list[str] = []
        started = time.thread_time()
        for _chunk in app(environ, lambda s, h, e=None, seen=statuses: seen.append(s)):
            pass
        best = min(best, time.thread_time() - started)
        status = int(statuses[0].split()[0])
    return status, best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="archivio-limits-"))
    data, index = scratch / "data", scratch / "index"
    base = [sys.executable, str(CLI), "--data-dir", str(data), "--index-dir", str(index)]
    subprocess.run([*base, "import", str(ROOT / "demo" / "articoli")], check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*base, "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
    rows = []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        sys.path.insert(0, str(ROOT))
        from archivio.search import Archive
        from archivio.web import create_app

        archive = Archive(data, index)
        app = create_app(archive)
        for name, method, target, body in REQUESTS:
            status = send(port, method, target, body)  # warm-up
            before = process_cpu(server.pid)
            for _ in range(args.rounds):
                send(port, method, target, body)
            per_request = (process_cpu(server.pid) - before) / args.rounds
            app_status, app_best = app_cpu(app, method, target, body, min(args.rounds, 20))
            rows.append(
                {
                    "request": name,
                    "bytes": len(target) + len(body),
                    "server_status": status,
                    "server_cpu_ms": round(per_request * 1000, 2),
                    "app_status": app_status,
                    "app_cpu_ms": round(app_best * 1000, 2),
                }
            )
        archive.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(f"{'request':48} {'bytes':>9} {'server':>7} {'CPU ms':>7} {'app':>4} {'CPU ms':>7}")
        for r in rows:
            print(
                f"{r['request']:48} {r['bytes']:>9,} {r['server_status']:>7} {r['server_cpu_ms']:>7.2f}"
                f" {r['app_status']:>4} {r['app_cpu_ms']:>7.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
