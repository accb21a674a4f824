"""Atomic rebuilds and the writer lock, with real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from search import Archive, WriterBusy
from search.locking import WriterLock

from .conftest import DEMO, ROOT


def cli(*args: str, archive: Archive, **kwargs) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "cli.py"), "--data-dir", str(archive.data_dir),
           "--index-dir", str(archive.index_dir), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def make_jsonl(path: Path, n: int, word: str = "ricostruzione") -> Path:
    import json

    with path.open("w") as f:
        for i in range(n):
            body = f"Articolo numero {i} sulla {word} del ponte. " + "Testo di riempimento. " * 40
            f.write(json.dumps({"id": f"r-{i}", "title": f"Notizia {i}", "body": body,
                                "date": "2024-01-01"}) + "\n")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("template")
    archive = Archive(base / "data", base / "index")
    archive.import_paths([DEMO, make_jsonl(base / "bulk.jsonl", 2000)])
    archive.close()
    return base


@pytest.fixture
def filled(template, tmp_path) -> Archive:
    """A fresh copy of an archive of 2,022 articles for each test."""
    shutil.copytree(template / "data", tmp_path / "data")
    shutil.copytree(template / "index", tmp_path / "index")
    archive = Archive(tmp_path / "data", tmp_path / "index")
    yield archive
    archive.close()


def test_rebuild_switches_generation_and_keeps_results(filled):
    before = filled.index.current_generation()
    total = filled.search("ricostruzione ponte").exact_total
    filled.rebuild()
    after = filled.index.current_generation()
    assert after != before
    assert filled.search("ricostruzione ponte").exact_total == total == 2000
    # The previous generation is kept for readers still open on it; no others.
    generations = sorted(p.name for p in filled.index_dir.glob("gen-*"))
    assert generations == [before.name, after.name]


def test_reader_during_rebuild_sees_a_whole_index(filled):
    """Searches in another thread never see a partial index while rebuilding."""
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        archive = Archive(filled.data_dir, filled.index_dir)
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


def test_killed_rebuild_leaves_the_old_index_serving(filled):
    generation = filled.index.current_generation()
    proc = cli("rebuild", archive=filled)
    # Kill it once the new generation has started to be written.
    deadline = time.monotonic() + 30
    while not list(filled.index_dir.glob("gen-*.building")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert filled.index.current_generation() == generation
    fresh = Archive(filled.data_dir, filled.index_dir)
    assert fresh.search("ricostruzione ponte").exact_total == 2000
    # The next rebuild clears the half-built generation away.
    fresh.rebuild()
    assert not list(filled.index_dir.glob("*.building"))
    assert fresh.check()["ok"]


def test_second_writer_waits_then_fails_clearly(filled):
    holder = WriterLock(filled.data_dir / "archivio.lock", timeout=1)
    with holder:
        blocked = Archive(filled.data_dir, filled.index_dir, lock_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(WriterBusy, match="occupato"):
            blocked.rebuild()
        assert 0.4 < time.monotonic() - started < 5
        proc = cli("import", str(DEMO), archive=filled, env={**os.environ, "ARCHIVIO_LOCK_TIMEOUT": "0.5"})
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3
        assert "occupato" in err and "Traceback" not in err
    # Released: writing works again.
    filled.rebuild()


def test_lock_dies_with_its_process(filled):
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from search.locking import WriterLock;"
        "l = WriterLock(sys.argv[2]); l.__enter__(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(filled.data_dir / "archivio.lock")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    proc.kill()
    proc.wait()
    with WriterLock(filled.data_dir / "archivio.lock", timeout=1):
        pass
