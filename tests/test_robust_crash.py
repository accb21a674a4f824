"""Crash safety: `kill -9` an import or a rebuild at random points (seeded),
then prove that nothing committed is lost, nothing is half-written, the store
is sound, the index opens and answers, and that `check` sees any disagreement
and `check --fix` (or simply the next import) repairs it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from archivio.search import Archive, WriteFailed
from archivio.search.importing import STORE_BATCH
from archivio.search.whoosh_sqlite.archive import INDEX_BATCH, STALE_MARK

from .robust_support import (
    integrity,
    run_cli,
    start_cli,
    store_count,
    store_ids,
    store_rows,
    wait_for,
    write_jsonl,
)

BASE = 500
# More than INDEX_BATCH, so that an import commits the index once mid-way.
NEW = INDEX_BATCH + 200


def index_ids(data: Path, index: Path) -> set[str]:
    archive = Archive(data, index)
    try:
        return archive.index.doc_ids()
    finally:
        archive.close()


def copy_archive(src: Path, dst: Path) -> tuple[Path, Path]:
    shutil.copytree(src / "data", dst / "data")
    shutil.copytree(src / "index", dst / "index")
    return dst / "data", dst / "index"


def kill(proc) -> bool:
    """SIGKILL; True if the process was still running when killed."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


def assert_repaired(data: Path, index: Path, expected_ids: set[str]) -> None:
    """`check` agrees, and the index really holds every stored article."""
    p = run_cli(data, index, "check")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "coincidono" in p.stdout
    assert store_ids(data) == expected_ids
    assert index_ids(data, index) == expected_ids
    assert not (index / STALE_MARK).exists()


@pytest.fixture(scope="module")
def crash_base(tmp_path_factory):
    """An indexed archive of BASE articles, and a file of NEW more to import."""
    root = tmp_path_factory.mktemp("crash")
    base = write_jsonl(root / "base.jsonl", 0, BASE)
    new = write_jsonl(root / "new.jsonl", BASE, NEW)
    p = run_cli(root / "data", root / "index", "import", str(root / "base.jsonl"))
    assert p.returncode == 0, p.stderr
    return root, [r["id"] for r in base], new


# Where each seed kills the import: a window of stored articles, then a random delay.
# 0: while the store runs ahead of the index (before the first index commit);
# 1: around the index commit at INDEX_BATCH; 2: at the end (last batch, last index update).
IMPORT_KILL_WINDOWS = {0: (STORE_BATCH, INDEX_BATCH // 2), 1: (INDEX_BATCH, INDEX_BATCH), 2: (NEW, NEW)}


@pytest.mark.parametrize("seed", sorted(IMPORT_KILL_WINDOWS))
def test_killed_import_loses_nothing_and_is_repaired(crash_base, tmp_path, seed):
    root, base_ids, new = crash_base
    rng = random.Random(seed)
    data, index = copy_archive(root, tmp_path)
    low, high = IMPORT_KILL_WINDOWS[seed]
    threshold = BASE + rng.randint(low, high)
    delay = rng.uniform(0.0, 0.3)

    proc = start_cli(data, index, "import", str(root / "new.jsonl"))
    assert wait_for(lambda: proc.poll() is not None or store_count(data) >= threshold, timeout=180)
    time.sleep(delay)
    committed = store_ids(data)  # what the store holds just before the kill
    killed = kill(proc)

    # The store is sound and holds at least everything committed before the kill.
    assert integrity(data) == "ok"
    after = store_rows(data)
    assert committed <= after.keys()
    assert set(base_ids) <= after.keys()
    # Whole batches only, in file order, and no article half-written.
    added = sorted(after.keys() - set(base_ids))
    assert len(added) % STORE_BATCH == 0 or len(added) == NEW, len(added)
    assert added == [r["id"] for r in new[: len(added)]]
    for record in new[: len(added)]:
        assert after[record["id"]] == (record["title"], record["body"])

    # The index opens and answers (it may lag the store).
    p = run_cli(data, index, "query", "alfa", "--json")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr

    # `check` reports any disagreement; a killed import always leaves the mark.
    p = run_cli(data, index, "check")
    assert "Traceback" not in p.stderr
    in_step = index_ids(data, index) == set(after) and not (index / STALE_MARK).exists()
    assert p.returncode == (0 if in_step else 1), p.stdout + p.stderr
    if killed and len(added) < NEW:
        assert p.returncode == 1 and "non coincidono" in p.stderr

    if seed % 2 == 0:
        # Repaired by `check --fix`...
        p = run_cli(data, index, "check", "--fix")
        assert p.returncode == 0, p.stdout + p.stderr
        assert_repaired(data, index, set(after))
        p = run_cli(data, index, "import", str(root / "new.jsonl"))
        assert p.returncode == 0, p.stderr
    else:
        # ...or simply by the next import, which sees the mark and rebuilds.
        p = run_cli(data, index, "import", str(root / "new.jsonl"))
        assert p.returncode == 0, p.stderr
        if not in_step:
            # The articles the mark lists, re-indexed in place: no full rebuild.
            assert "riallineato (" in p.stdout and "articoli reindicizzati)." in p.stdout
    everything = set(base_ids) | {r["id"] for r in new}
    assert_repaired(data, index, everything)
    # The last article is found by a search.
    p = run_cli(data, index, "query", f'"Notizia {BASE + NEW - 1}"', "--json")
    assert p.returncode == 0 and f"gen-{BASE + NEW - 1:06d}" in p.stdout


@pytest.fixture(scope="module")
def rebuild_base(tmp_path_factory):
    """An archive of 3,000 articles in step with its index, and how long a rebuild takes."""
    root = tmp_path_factory.mktemp("rebuild")
    records = write_jsonl(root / "all.jsonl", 0, 3000)
    p = run_cli(root / "data", root / "index", "import", str(root / "all.jsonl"))
    assert p.returncode == 0, p.stderr
    started = time.monotonic()
    p = run_cli(root / "data", root / "index", "rebuild")
    assert p.returncode == 0, p.stderr
    return root, {r["id"] for r in records}, time.monotonic() - started


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_killed_rebuild_keeps_the_live_index(rebuild_base, tmp_path, seed):
    root, ids, seconds = rebuild_base
    rng = random.Random(100 + seed)
    data, index = copy_archive(root, tmp_path)
    live = (index / "CURRENT").read_text()

    proc = start_cli(data, index, "rebuild")
    time.sleep(rng.uniform(0.2, seconds * 1.1))
    kill(proc)

    assert integrity(data) == "ok"
    assert store_ids(data) == ids
    # CURRENT names a complete generation: the old one, or the new one if the
    # switch happened before the kill.
    current = (index / "CURRENT").read_text()
    assert current == live or int(current.split("-")[1]) == int(live.split("-")[1]) + 1
    assert index_ids(data, index) == ids
    p = run_cli(data, index, "query", "beta", "--json")
    assert p.returncode == 0, p.stderr
    # In step; a `.building` folder left behind is reported (exit 1), not ignored.
    left = list(index.glob("*.building"))
    p = run_cli(data, index, "check")
    assert p.returncode == (1 if left else 0), p.stdout + p.stderr
    assert "Archivio e indice coincidono" in p.stdout + p.stderr
    for folder in left:
        assert f"Resta la cartella di una ricostruzione interrotta: {folder.name}" in p.stdout

    # The next rebuild clears whatever the killed one left behind.
    p = run_cli(data, index, "rebuild")
    assert p.returncode == 0, p.stderr
    assert not list(index.glob("*.building"))
    assert len(list(index.glob("gen-*"))) <= 2
    assert_repaired(data, index, ids)


def test_killed_first_import_leaves_no_half_index(tmp_path):
    """Without an index yet, an import ends with a full rebuild: killing it
    there leaves the store complete and no index, which is said clearly."""
    records = write_jsonl(tmp_path / "all.jsonl", 0, 3000, seed=7)
    data, index = tmp_path / "data", tmp_path / "index"
    proc = start_cli(data, index, "import", str(tmp_path / "all.jsonl"))
    assert wait_for(lambda: proc.poll() is not None or store_count(data) >= 3000, timeout=120)
    time.sleep(random.Random(7).uniform(0.1, 0.8))
    kill(proc)
    assert integrity(data) == "ok"
    assert store_ids(data) == {r["id"] for r in records}
    p = run_cli(data, index, "query", "gamma")
    assert "Traceback" not in p.stderr
    if p.returncode != 0:
        assert "rebuild" in p.stderr
    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert_repaired(data, index, {r["id"] for r in records})


def test_failure_between_store_and_index_is_marked_and_repaired(tmp_path, monkeypatch):
    """The same window without a kill: an index update that fails after the
    store committed (disk full, say). `check` reports it, even when only an
    update (same ids, new text) is missing, and the next import repairs it."""
    write_jsonl(tmp_path / "a.jsonl", 0, 50)
    archive = Archive(tmp_path / "data", tmp_path / "index")
    assert archive.import_paths([tmp_path / "a.jsonl"]).ok
    assert archive.check()["ok"]

    # An update of existing articles whose index update fails.
    changed = write_jsonl(tmp_path / "b.jsonl", 0, 50, seed=1, topic="omega")

    def broken_update(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive.index, "update", broken_update)
    with pytest.raises(WriteFailed, match="Spazio su disco esaurito: operazione interrotta"):
        archive.import_paths([tmp_path / "b.jsonl"])
    monkeypatch.undo()
    report = archive.check()
    assert report["stale"] and not report["ok"]
    assert report["store"] == report["index"] == 50  # same ids: only the mark tells
    assert archive.search("omega").total == 0  # the index still has the old text

    # The next import (even of nothing new) re-indexes the 50 and says so.
    report = archive.import_paths([tmp_path / "b.jsonl"])
    assert report.repaired and report.reindexed == 50 and report.unchanged == 50
    assert archive.check()["ok"]
    assert archive.search("omega").total == len(changed)

    # A removal goes to the index first: when that fails, the store keeps the
    # article, and the mark still tells `check` that the two may differ.
    monkeypatch.setattr(archive.index, "update", broken_update)
    with pytest.raises(WriteFailed):
        archive.remove(["gen-000001"])
    monkeypatch.undo()
    assert archive.get("gen-000001") is not None
    report = archive.check()
    assert report["stale"] and not report["ok"]
    archive.rebuild()
    assert archive.check()["ok"]
    assert archive.remove(["gen-000001", "nessuno"]) == ["gen-000001"]
    report = archive.check()
    assert report["ok"] and report["store"] == report["index"] == 49
    archive.close()


def test_import_without_index_is_caught_up_by_the_next_import(tmp_path):
    """`import --no-index` leaves the index behind on purpose: `check` says so,
    and the next import brings it back in step (and says that too)."""
    write_jsonl(tmp_path / "a.jsonl", 0, 20)
    write_jsonl(tmp_path / "b.jsonl", 20, 20)
    write_jsonl(tmp_path / "c.jsonl", 40, 5)
    data, index = tmp_path / "data", tmp_path / "index"
    assert run_cli(data, index, "import", str(tmp_path / "a.jsonl")).returncode == 0
    assert run_cli(data, index, "import", "--no-index", str(tmp_path / "b.jsonl")).returncode == 0
    p = run_cli(data, index, "check")
    assert p.returncode == 1 and "interrotta" in p.stdout and "Mancano nell'indice" in p.stdout
    p = run_cli(data, index, "import", str(tmp_path / "c.jsonl"))
    assert p.returncode == 0 and "riallineato (20 articoli reindicizzati)." in p.stdout, p.stdout
    assert_repaired(data, index, {f"gen-{n:06d}" for n in range(45)})
