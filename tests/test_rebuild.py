"""Atomic rebuilds and the writer lock, with real processes: the results a
rebuild keeps and the second writer's clear failure on both backends, whoosh's
generations and lock file on whoosh."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archivio.search import Archive, WriterBusy
from archivio.search.whoosh_sqlite.locking import WriterLock

from .conftest import DEMO, DEMO_COUNT, ROOT, archive_at, copy_archive
from .robust_support import start_cli

pytestmark = pytest.mark.both_backends


@contextlib.contextmanager
def writer_lock_held(archive):
    """Holds the archive's writer lock as a writer would: whoosh's lock file,
    or PostgreSQL's advisory lock."""
    if isinstance(archive, Archive):
        with WriterLock(archive.data_dir / "archivio.lock", timeout=1):
            yield
    else:
        with archive.db.writing(1.0):
            yield


def make_jsonl(path: Path, n: int, word: str = "ricostruzione") -> Path:
    import json

    with path.open("w") as f:
        for i in range(n):
            body = f"Articolo numero {i} sulla {word} del ponte. " + "Testo di riempimento. " * 40
            f.write(
                json.dumps({"id": f"r-{i}", "title": f"Notizia {i}", "body": body, "date": "2024-01-01"})
                + "\n"
            )
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory, make_archive) -> Path:
    base = tmp_path_factory.mktemp("template")
    archive = make_archive(base)
    archive.import_paths([DEMO, make_jsonl(base / "bulk.jsonl", 2000)])
    archive.close()
    return base


@pytest.fixture
def filled(template, tmp_path) -> Archive:
    """A fresh copy of an archive of 2,050 articles (demo + 2,000) for each test, kept in tmp_path."""
    copy_archive(template, tmp_path)
    archive = archive_at(tmp_path)
    yield archive
    archive.close()


def test_rebuild_switches_generation_and_keeps_results(filled, backend):
    whoosh = backend == "whoosh"
    before = filled.index.current_generation() if whoosh else None
    total = filled.search("ricostruzione ponte").exact_total
    filled.rebuild()
    assert filled.search("ricostruzione ponte").exact_total == total == 2000
    if whoosh:
        after = filled.index.current_generation()
        assert after != before
        # The previous generation is kept for readers still open on it; no others.
        generations = sorted(p.name for p in filled.index_dir.glob("gen-*"))
        assert generations == [before.name, after.name]


@pytest.mark.parametrize("chars", [1, 900, 10**9])
def test_streaming_reads_cut_batches_by_text_size_and_lose_nothing(filled, chars):
    """The reads behind rebuilds and exports hold at most `chars` characters
    of text per batch (at least one article): every article comes once, in
    id order, whether each batch is one article, a few, or the whole count."""
    if isinstance(filled, Archive):
        ids = [a.id for a in filled.store.iter_all(batch=500, chars=chars)]
    else:
        from archivio.search.pg import store as pg_store

        with filled.db.reading() as conn:
            ids = [a.id for a in pg_store.iter_all(conn, 500, chars=chars)]
    assert len(ids) == 2000 + DEMO_COUNT
    assert ids == sorted(set(ids))


def test_an_incremental_import_replaces_articles_and_keeps_the_last_version(filled, tmp_path):
    """An article updated by an import, and one given twice in the same file,
    are each found once, as their last version says."""
    import json

    records = [
        {
            "id": "r-7",
            "title": "Notizia 7 corretta: il viadotto",
            "body": "Il viadotto riapre.",
            "date": "2024-01-02",
        },
        {"id": "nuovo", "title": "Prima stesura", "body": "La passerella chiude.", "date": "2024-02-01"},
        {"id": "nuovo", "title": "Seconda stesura", "body": "La passerella riapre.", "date": "2024-02-01"},
    ]
    path = tmp_path / "correzioni.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = filled.import_paths([path])
    assert (report.added, report.updated) == (1, 2)

    assert [h.article.title for h in filled.search("viadotto").hits] == ["Notizia 7 corretta: il viadotto"]
    assert [h.article.title for h in filled.search("passerella").hits] == ["Seconda stesura"]
    assert filled.search("passerella chiude").exact_total == 0
    assert filled.search("ricostruzione ponte").exact_total == 1999
    check = filled.check()
    assert check["ok"], check


def test_reader_during_rebuild_sees_a_whole_index(filled, tmp_path):
    """Searches in another thread never see a partial index while rebuilding."""
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        archive = archive_at(tmp_path)
        while not stop.is_set():
            try:
                seen.append(archive.search("ricostruzione", per_page=1, facets=False).total)
            except BaseException as e:  # noqa: BLE001 - the test reports any failure
                errors.append(e)
        archive.close()

    expected = filled.search("ricostruzione", per_page=1, facets=False).total
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        filled.rebuild()
        filled.rebuild()
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert seen and set(seen) == {expected}


@pytest.mark.whoosh_only(reason="waits for whoosh's half-built generation folder, then checks it is cleared")
def test_killed_rebuild_leaves_the_old_index_serving(filled, tmp_path):
    generation = filled.index.current_generation()
    proc = start_cli(tmp_path / "data", tmp_path / "index", "rebuild")
    # Kill it in the middle: the new generation's postings are being made
    # (its run files' folder exists only then; the whole rebuild takes ~1 s).
    deadline = time.monotonic() + 30
    while not list(filled.index_dir.glob("gen-*.building/runs-*")) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the rebuild ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert filled.index.current_generation() == generation
    fresh = Archive(filled.data_dir, filled.index_dir)
    assert fresh.search("ricostruzione ponte").exact_total == 2000
    # The next rebuild clears the half-built generation away.
    fresh.rebuild()
    assert not list(filled.index_dir.glob("*.building"))
    assert fresh.check()["ok"]


def test_second_writer_waits_then_fails_clearly(filled, tmp_path):
    with writer_lock_held(filled):
        blocked = archive_at(tmp_path, lock_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(WriterBusy, match="occupato"):
            blocked.rebuild()
        assert 0.4 < time.monotonic() - started < 5
        blocked.close()
        proc = start_cli(
            tmp_path / "data", tmp_path / "index", "import", str(DEMO), ARCHIVIO_LOCK_TIMEOUT="0.5"
        )
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3
        assert "occupato" in err and "Traceback" not in err
    # Released: writing works again.
    filled.rebuild()


@pytest.mark.whoosh_only(
    reason="whoosh's flock (on both backends: test_robust_concurrency's "
    "test_killed_writer_leaves_no_archive_lock)"
)
def test_lock_dies_with_its_process(filled):
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from archivio.search.whoosh_sqlite.locking import WriterLock;"
        "l = WriterLock(sys.argv[2]); l.__enter__(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT), str(filled.data_dir / "archivio.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    proc.kill()
    proc.wait()
    with WriterLock(filled.data_dir / "archivio.lock", timeout=1):
        pass


def test_a_rebuild_uses_every_core_unless_told(monkeypatch):
    """One process per usable core (ARCHIVIO_PROCS when set, as the suite
    sets it), never more than the parts of PART articles to analyse."""
    from archivio.search.settings import SettingError
    from archivio.search.whoosh_sqlite.indexing.builder import MAX_PROCS, PART, default_procs

    monkeypatch.delenv("ARCHIVIO_PROCS", raising=False)
    cores = min(len(os.sched_getaffinity(0)), MAX_PROCS)
    assert default_procs(DEMO_COUNT) == default_procs(PART) == 1
    assert default_procs(PART + 1) == min(cores, 2)
    assert default_procs(PART * 40) == cores
    monkeypatch.setenv("ARCHIVIO_PROCS", "3")
    assert (default_procs(PART * 40), default_procs(PART * 2), default_procs(10)) == (3, 2, 1)
    monkeypatch.setenv("ARCHIVIO_PROCS", "0")
    with pytest.raises(SettingError, match="ARCHIVIO_PROCS"):
        default_procs(PART * 40)
