"""Concurrent use: searches keep answering, complete and correct, while an
import, a rebuild and a removal run in other processes; a second writer
waits for the lock, then gives up clearly and changes nothing; a writer that
dies (kill -9) never leaves the archive locked. On both backends, but for
whoosh's own index lock."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from whoosh.index import LockError

from archivio.search import IndexMissing, QueryError
from archivio.search.pg.connection import WRITER_LOCK
from archivio.search.whoosh_sqlite.indexer import IndexManager
from archivio.search.whoosh_sqlite.locking import lock_holder

from .conftest import archive_at, copy_archive, folder_dsn
from .robust_support import (
    ROOT,
    cli_env,
    get,
    run_cli,
    start_cli,
    start_server,
    stop,
    store_count,
    store_ids,
    wait_for,
    write_jsonl,
)

BASE = 1000  # "alfa" is the topic of every fourth article
ALFA = BASE // 4
NEW = 3000  # all about "zeta"

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def busy_base(tmp_path_factory, backend):
    root = tmp_path_factory.mktemp("busy")
    write_jsonl(root / "base.jsonl", 0, BASE)
    write_jsonl(root / "new.jsonl", BASE, NEW, topic="zeta")
    write_jsonl(root / "other.jsonl", 50_000, 200, topic="omega")
    p = run_cli(root / "data", root / "index", "import", str(root / "base.jsonl"))
    assert p.returncode == 0, p.stderr
    return root


def fresh_copy(root: Path, dst: Path) -> tuple[Path, Path]:
    copy_archive(root, dst)
    return dst / "data", dst / "index"


def writers(data: Path, index: Path, root: Path) -> None:
    """An import, a rebuild and a removal, one after the other, each in its own process."""
    for args in (
        ("import", str(root / "new.jsonl")),
        ("rebuild",),
        ("remove", "gen-000001", "gen-000002", "gen-000003"),
    ):
        p = run_cli(data, index, *args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)


def during_writes(work, done: threading.Event, data: Path, index: Path, root: Path) -> None:
    """Runs `work(n)` in 4 threads while the writers run; then sets `done` and waits for them."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        writers(data, index, root)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=60)


def check_page(result, per_page: int) -> None:
    """A complete page: as many hits as the total allows, each a whole article."""
    offset = (result.page - 1) * per_page
    assert len(result.hits) == max(0, min(per_page, result.total - offset)), (result.total, len(result.hits))
    for hit in result.hits:
        assert hit.article.title and hit.article.body


def test_in_process_searches_answer_during_writes(busy_base, tmp_path):
    data, index = fresh_copy(busy_base, tmp_path)
    archive = archive_at(tmp_path)
    errors: list[BaseException] = []
    counts = {"searches": 0}
    done = threading.Event()

    def reader(n: int) -> None:
        last_zeta = 0
        try:
            while not done.is_set():
                r = archive.search("alfa", sort=("relevance", "newest")[n % 2], per_page=20)
                # No writer touches an "alfa" article (the removal takes
                # beta, gamma and delta ones): always all of them.
                assert r.total == ALFA, r.total
                check_page(r, 20)
                r = archive.search("alfa", page=ALFA // 10, per_page=10)
                check_page(r, 10)
                r = archive.search("zeta", per_page=10)
                check_page(r, 10)
                assert r.total >= last_zeta  # each reader only ever moves forward
                last_zeta = r.total
                r = archive.search("alfa governo", category="Cronaca", since="2020-01-01")
                check_page(r, 10)
                # The oldest "beta" articles include one that gets removed.
                r = archive.search("beta", sort="oldest")
                check_page(r, 10)
                counts["searches"] += 5
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    during_writes(reader, done, data, index, busy_base)
    assert not errors, errors[0]
    assert counts["searches"] > 20
    assert archive.search("zeta").total == NEW
    archive.close()


def test_http_searches_answer_during_writes(busy_base, tmp_path):
    data, index = fresh_copy(busy_base, tmp_path)
    server, base = start_server(data, index)
    failures: list[str] = []
    counts = {"requests": 0}
    done = threading.Event()

    def client(n: int) -> None:
        while not done.is_set():
            for path in (
                "/?q=alfa",
                "/api/search?q=alfa&per_pagina=20",
                f"/api/search?q=alfa&pagina={ALFA // 10}",
                "/?q=zeta&ordina=recenti",
                "/api/search?q=" + quote("alfa governo") + "&categoria=Cronaca",
                "/api/search?q=beta&ordina=meno-recenti",
            ):
                try:
                    status, body, _ = get(base + path)
                except OSError as e:
                    failures.append(f"{path}: {e}")
                    continue
                counts["requests"] += 1
                if status != 200:
                    failures.append(f"{path}: {status} {body[:200]!r}")
                elif path.startswith("/api/search?q=alfa&per"):
                    result = json.loads(body)
                    if result["total"] != ALFA or len(result["results"]) != 20:
                        failures.append(f"{path}: partial {result['total']} {len(result['results'])}")
                elif path.startswith("/api/search?q=beta"):
                    result = json.loads(body)
                    if len(result["results"]) != min(10, result["total"]):
                        failures.append(f"{path}: partial {result['total']} {len(result['results'])}")

    try:
        during_writes(client, done, data, index, busy_base)
    finally:
        stop(server)
    assert not failures, failures[:5]
    assert counts["requests"] > 20


@contextlib.contextmanager
def import_kept_busy(data: Path, backend: str):
    """Yields a test of "the import just started holds the writer lock, with
    work left": true from some moment until the block ends. Each backend's
    index is held for the block, so the import waits, holding the writer
    lock, after storing its first batch (a whole import takes about a second,
    less than a second process takes to start). whoosh: the index's own
    write lock, which the import waits for up to its WRITER_TIMEOUT (10 s).
    PostgreSQL: the import's INSERTs wait behind a SHARE lock on `articles`."""
    if backend == "whoosh":
        lock = IndexManager(data.parent / "index").open().lock("WRITELOCK")
        assert lock.acquire()
        try:
            yield lambda: store_count(data) > BASE
        finally:
            lock.release()
        return
    key = WRITER_LOCK % 2**64  # as pg_locks shows a bigint key: two 32-bit halves
    with psycopg.connect(folder_dsn(data.parent)) as conn:
        conn.execute("LOCK TABLE articles IN SHARE MODE")
        yield lambda: conn.execute(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
            (key >> 32, key & 0xFFFF_FFFF),
        ).fetchone()[0]


def test_second_import_waits_then_fails_and_changes_nothing(busy_base, tmp_path, backend):
    data, index = fresh_copy(busy_base, tmp_path)
    with import_kept_busy(data, backend) as writing:
        first = start_cli(data, index, "import", str(busy_base / "new.jsonl"))
        assert wait_for(writing, timeout=60)
        started = time.monotonic()
        second = run_cli(data, index, "import", str(busy_base / "other.jsonl"), ARCHIVIO_LOCK_TIMEOUT="1.5")
        waited = time.monotonic() - started
    assert second.returncode == 3, second.stdout + second.stderr
    assert "occupato" in second.stderr and "Riprova" in second.stderr
    assert "Traceback" not in second.stderr
    assert waited >= 1.5
    assert first.wait(timeout=120) == 0, first.stderr.read()
    ids = store_ids(data)
    assert len(ids) == BASE + NEW
    assert not any(i.startswith("gen-05") for i in ids)  # nothing of the second import
    assert run_cli(data, index, "check").returncode == 0


HOLD_ARCHIVE_LOCK = """
import sys, time
from archivio.search import open_archive
archive = open_archive(data_dir=sys.argv[1], index_dir=sys.argv[2])
# whoosh: the lock file's flock; PostgreSQL: the advisory lock of a session.
lock = archive.db.writing(1.0) if hasattr(archive, "db") else archive._writer_lock()
with lock:
    print("held", flush=True)
    time.sleep(600)
"""

HOLD_WHOOSH_LOCK = """
import sys, time
from archivio.search import Archive
archive = Archive(sys.argv[1], sys.argv[2])
writer = archive.index.writer()
print("held", flush=True)
time.sleep(600)
"""


def _hold(script: str, data: Path, index: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(data), str(index)],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(data),
        cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_killed_writer_leaves_no_archive_lock(busy_base, tmp_path, backend):
    data, index = fresh_copy(busy_base, tmp_path)
    holder = _hold(HOLD_ARCHIVE_LOCK, data, index)
    try:
        p = run_cli(data, index, "import", str(busy_base / "other.jsonl"), ARCHIVIO_LOCK_TIMEOUT="0.5")
        assert p.returncode == 3  # really held
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    if backend == "whoosh":
        # The lock file is still there, with the dead writer's pid: it does not matter.
        assert (data / "archivio.lock").read_text() == str(holder.pid)
    started = time.monotonic()
    p = run_cli(data, index, "import", str(busy_base / "other.jsonl"), ARCHIVIO_LOCK_TIMEOUT="0.5")
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - started < 30
    assert store_count(data) == BASE + 200


@pytest.mark.parametrize("command", ["import", "rebuild"])
def test_killed_import_or_rebuild_frees_the_writer_lock(busy_base, tmp_path, backend, command):
    """A real import or rebuild killed while it writes: the next writer gets
    the lock within its 2 s wait (whoosh: the flock goes with the process;
    PostgreSQL: the advisory lock with the session, the socket closed by the kernel)."""
    data, index = fresh_copy(busy_base, tmp_path)
    args = ("import", str(busy_base / "new.jsonl")) if command == "import" else ("rebuild",)
    proc = start_cli(data, index, *args)
    archive = archive_at(tmp_path)
    try:
        if backend == "whoosh":
            holding = lambda: lock_holder(data / "archivio.lock") is not None  # noqa: E731
        else:
            holding = lambda: archive.db.writer_pid() is not None  # noqa: E731
        assert wait_for(lambda: holding() or proc.poll() is not None, timeout=60)
    finally:
        archive.close()
    assert proc.poll() is None, "the writer ended before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    p = run_cli(data, index, "import", str(busy_base / "other.jsonl"), ARCHIVIO_LOCK_TIMEOUT="2")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert run_cli(data, index, "check").returncode == 0


def test_check_tells_a_running_writer_from_a_stopped_one(busy_base, tmp_path, backend):
    """Store ahead of the index (`import --no-index`): while a writer holds the
    lock that is its work in progress (exit 3, "in corso"), once it is gone
    it is a difference to repair (exit 1)."""
    data, index = fresh_copy(busy_base, tmp_path)
    p = run_cli(data, index, "import", "--no-index", str(busy_base / "other.jsonl"))
    assert p.returncode == 0, p.stderr
    holder = _hold(HOLD_ARCHIVE_LOCK, data, index)
    try:
        p = run_cli(data, index, "check")
        assert p.returncode == 3, p.stdout + p.stderr
        assert "Un'operazione di scrittura è in corso (processo " in p.stdout
        assert "archivio e indice saranno allineati al suo termine" in p.stdout
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    p = run_cli(data, index, "check")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "in corso" not in p.stdout and "Mancano nell'indice" in p.stdout
    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert run_cli(data, index, "check").returncode == 0


@pytest.mark.whoosh_only(reason="whoosh's own index lock")
def test_killed_writer_leaves_no_whoosh_lock(busy_base, tmp_path):
    data, index = fresh_copy(busy_base, tmp_path)
    archive = archive_at(tmp_path)
    holder = _hold(HOLD_WHOOSH_LOCK, data, index)
    try:
        with pytest.raises(LockError):
            archive.index.open().writer(timeout=0.3)  # really held
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    archive.index.open().writer(timeout=1.0).cancel()  # free at once
    # And a whole incremental import goes through.
    report = archive.import_paths([busy_base / "other.jsonl"])
    assert report.added == 200 and archive.check()["ok"]
    archive.close()


def test_search_errors_are_the_documented_ones(empty_archive):
    """No index yet: searching says so (IndexMissing), it does not crash."""
    with pytest.raises(IndexMissing, match="rebuild"):
        empty_archive.search("alfa")
    with pytest.raises(QueryError):
        empty_archive.search("alfa", page=0)
