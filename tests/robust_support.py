"""Helpers for the robustness tests: generated articles, the real CLI in a
subprocess, the real server on 127.0.0.1, and a read-only look at the store.

An archive is named by its data folder (`data`, with `index` beside it): in
a postgres run (conftest) the CLI, the server and the store helpers use the
database of the folder holding `data`, which conftest.archive_at opens too."""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg

from .conftest import archive_env, folder_dsn

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"

_VOCABULARY = (
    "governo ministro sindaco regione comune consiglio bilancio scuola ospedale porto treno "
    "strada ponte fiume lago montagna mare spiaggia turismo lavoro sciopero sindacato impresa "
    "fabbrica energia gas luce prezzo inflazione mercato banca credito famiglia giovani anziani "
    "studenti università ricerca museo mostra festival cinema teatro musica concerto calcio "
    "squadra partita campionato ciclismo corsa tappa vittoria sconfitta polizia carabinieri "
    "indagine processo tribunale sentenza incendio alluvione siccità neve pioggia vento"
)
_WORDS = _VOCABULARY.split()
TOPICS = ("alfa", "beta", "gamma", "delta")


def make_article(n: int, rng: random.Random, topic: str | None = None, prefix: str = "gen") -> dict:
    """One article in the corpus schema; `topic` is a word it is sure to contain."""
    topic = topic or TOPICS[n % len(TOPICS)]
    body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 120)))
    return {
        "id": f"{prefix}-{n:06d}",
        "title": f"Notizia {n} {topic} {rng.choice(_WORDS)} {rng.choice(_WORDS)}",
        "subtitle": None,
        "author": rng.choice(["Anna Verdi", "Marco Rossi", "Giulia Bianchi", None]),
        "date": (date(2020, 1, 1) + timedelta(days=n % 1800)).isoformat(),
        "category": rng.choice(["Cronaca", "Politica", "Sport", "Cultura"]),
        "body": f"{topic} {body}.",
        "url": None,
        "source": "Archivio di prova",
    }


def write_jsonl(path: Path, start: int, count: int, seed: int = 0, **kwargs) -> list[dict]:
    rng = random.Random(seed * 1_000_003 + start)
    records = [make_article(n, rng, **kwargs) for n in range(start, start + count)]
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return records


def cli_command(data: Path, index: Path, *args: str) -> list[str]:
    return [sys.executable, str(CLI), "--data-dir", str(data), "--index-dir", str(index), *args]


def cli_env(data: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI process on the archive of `data` (any, with None)."""
    env = dict(os.environ) if data is None else archive_env(data.parent)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("ARCHIVIO_DATA", None)
    env.pop("ARCHIVIO_INDEX", None)
    # A served process's access lines would fill the unread stderr pipe (64 KB,
    # ~600 requests) and block it: off unless a test asks (test_access_log).
    env["ARCHIVIO_ACCESS_LOG"] = "0"
    env.update(extra)
    return env


def run_cli(
    data: Path, index: Path, *args: str, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(data, index, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(data, **env),
        cwd=ROOT,
    )


def start_cli(data: Path, index: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        cli_command(data, index, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(data, **env),
        cwd=ROOT,
    )


def _pg_rows(data: Path, sql: str) -> list[tuple] | None:
    """The rows of `sql` in the archive database of `data` in a postgres run
    ([] before the archive has its tables); None in a whoosh run."""
    dsn = folder_dsn(data.parent)
    if dsn is None:
        return None
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            return conn.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:  # the schema is not there yet
            return []


def store_ids(data: Path) -> set[str]:
    """The ids in the store, read through a separate read-only connection."""
    rows = _pg_rows(data, "SELECT id FROM articles")
    if rows is not None:
        return {row[0] for row in rows}
    db = sqlite3.connect(f"file:{data / 'archive.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0] for row in db.execute("SELECT id FROM articles")}
    finally:
        db.close()


def store_count(data: Path) -> int:
    rows = _pg_rows(data, "SELECT count(*) FROM articles")
    if rows is not None:
        return rows[0][0] if rows else 0
    path = data / "archive.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        db.close()


def store_rows(data: Path) -> dict[str, tuple[str, str]]:
    """id -> (title, body) for every stored article."""
    rows = _pg_rows(data, "SELECT id, title, body FROM articles")
    if rows is not None:
        return {r[0]: (r[1], r[2]) for r in rows}
    db = sqlite3.connect(f"file:{data / 'archive.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, title, body FROM articles")}
    finally:
        db.close()


def integrity(data: Path) -> str:
    """SQLite's own check of the whoosh archive's store file."""
    db = sqlite3.connect(data / "archive.sqlite")
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    data: Path, index: Path, *extra: str, threads: int = 8, **env: str
) -> tuple[subprocess.Popen, str]:
    """`cli.py serve` on a free port (`env` added to its environment); returns
    the process and its base URL once it answers."""
    port = free_port()
    proc = start_cli(data, index, "serve", "--port", str(port), "--threads", str(threads), *extra, **env)
    base = f"http://127.0.0.1:{port}"
    wait_until_answering(proc, base)
    return proc, base


def wait_until_answering(proc: subprocess.Popen, base: str, seconds: float = 30) -> None:
    """Waits until the server `proc` answers /healthz at `base` (503 without
    an index is an answer); kills it and raises if it exits or stays silent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(url: str, timeout: float = 30) -> tuple[int, bytes, dict[str, str]]:
    """GET without raising on error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_for(predicate, timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def iter_lines(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
