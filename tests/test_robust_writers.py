"""Writers that die or are interrupted (issue 14, items 5, 6, 8): a killed
rebuild worker fails the rebuild within seconds with an Italian message and
the lock released; a killed rebuild parent frees the lock at once, its
workers exit, and the `.building` folder it leaves is reported by `check`
and removed by `check --fix`; `check` tells a running writer (exit 3) from an
interrupted one (exit 1). Real processes, real SIGKILL, real files."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from archivio.search.whoosh_sqlite.archive import STALE_MARK
from archivio.search.whoosh_sqlite.locking import WriterLock, lock_holder

from .robust_support import run_cli, start_cli, store_count, wait_for, write_jsonl

# Enough articles for a rebuild with two workers to last a few seconds here.
ARTICLES = 6000


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("writers")
    write_jsonl(root / "all.jsonl", 0, ARTICLES)
    p = run_cli(root / "data", root / "index", "import", str(root / "all.jsonl"))
    assert p.returncode == 0, p.stderr
    return root


def copy(root: Path, dst: Path) -> tuple[Path, Path]:
    import shutil

    shutil.copytree(root / "data", dst / "data")
    shutil.copytree(root / "index", dst / "index")
    return dst / "data", dst / "index"


def start_rebuild_with_workers(data: Path, index: Path):
    proc = start_cli(data, index, "rebuild", "--procs", "2")
    assert wait_for(lambda: len(children(proc.pid)) >= 2 or proc.poll() is not None, timeout=60)
    time.sleep(0.5)  # the workers are analysing parts
    assert proc.poll() is None, "the rebuild ended before the kill"
    return proc, children(proc.pid)


def test_killed_worker_fails_the_rebuild_cleanly(indexed, tmp_path):
    data, index = copy(indexed, tmp_path)
    live = (index / "CURRENT").read_text()
    proc, workers = start_rebuild_with_workers(data, index)

    os.kill(workers[0], signal.SIGKILL)
    killed = time.monotonic()
    out, err = proc.communicate(timeout=60)
    seconds = time.monotonic() - killed

    assert seconds <= 10, seconds  # measured 0.15-0.83 s (multiprocessing.Pool: forever)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert err.strip() == (
        "Errore: Un processo di indicizzazione è terminato all'improvviso (ucciso, o memoria esaurita): "
        "ricostruzione annullata, l'indice precedente resta in uso. "
        "Riprova, eventualmente con meno processi (--procs)."
    )
    assert lock_holder(data / "archivio.lock") is None
    assert not list(index.glob("*.building"))
    assert not [w for w in workers if alive(w)]
    assert (index / "CURRENT").read_text() == live
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "Archivio e indice coincidono." in p.stdout, p.stdout + p.stderr
    # The lock is free for the next writer at once (a 1 s wait would do).
    write_jsonl(tmp_path / "more.jsonl", ARTICLES, 10)
    p = run_cli(data, index, "import", str(tmp_path / "more.jsonl"), ARCHIVIO_LOCK_TIMEOUT="1")
    assert p.returncode == 0, p.stderr


def test_killed_rebuild_parent_frees_the_lock_and_its_workers_exit(indexed, tmp_path):
    data, index = copy(indexed, tmp_path)
    live = (index / "CURRENT").read_text()
    proc, workers = start_rebuild_with_workers(data, index)

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Was 1.3-54 s: the workers held the lock's open file.
    assert wait_for(lambda: lock_holder(data / "archivio.lock") is None, timeout=2)
    assert wait_for(lambda: not [w for w in workers if alive(w)], timeout=2)
    assert (index / "CURRENT").read_text() == live
    [left] = list(index.glob("*.building"))

    p = run_cli(data, index, "check")
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.splitlines()[0] == f"Archivio: {ARTICLES} articoli · indice: {ARTICLES}"
    assert f"Resta la cartella di una ricostruzione interrotta: {left.name} (" in p.stdout
    assert "`check --fix` o il prossimo `rebuild` la rimuovono." in p.stdout
    assert p.stderr.strip() == (
        "Archivio e indice coincidono, ma resta spazio occupato: esegui `archivio check --fix`."
    )

    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Rimossa {left.name} (" in p.stdout and "Indice ricostruito" not in p.stdout
    assert not left.exists()
    assert (index / "CURRENT").read_text() == live
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "Archivio e indice coincidono." in p.stdout, p.stdout


def test_check_tells_a_running_writer_from_an_interrupted_one(indexed, tmp_path):
    data, index = copy(indexed, tmp_path)
    write_jsonl(tmp_path / "new.jsonl", ARTICLES, 8000)
    proc = start_cli(data, index, "import", str(tmp_path / "new.jsonl"))
    assert wait_for(lambda: store_count(data) > ARTICLES or proc.poll() is not None, timeout=60)
    p = run_cli(data, index, "check")
    running = proc.poll() is None
    # Killed mid-way: the import is interrupted now, no longer running.
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if running:  # the import was still going when `check` ended (8,000 articles: ~6 s)
        assert p.returncode == 3, p.stdout + p.stderr
        assert (
            f"Un'operazione di scrittura è in corso (processo {proc.pid}): archivio e indice saranno "
            "allineati al suo termine. Ripeti la verifica quando è finita."
        ) in p.stdout
        assert "interrotta" not in p.stdout

    assert (index / STALE_MARK).exists()
    p = run_cli(data, index, "check")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "è stata interrotta prima di aggiornare l'indice" in p.stdout

    # The same interrupted state while a writer holds the lock (this process,
    # through the real lock): "in corso", exit 3, not a false alarm.
    with WriterLock(data / "archivio.lock"):
        p = run_cli(data, index, "check")
        assert p.returncode == 3, p.stdout + p.stderr
        assert f"Un'operazione di scrittura è in corso (processo {os.getpid()})" in p.stdout
        assert "interrotta" not in p.stdout
        # --fix does not fight the writer either.
        p = run_cli(data, index, "check", "--fix")
        assert p.returncode == 3 and "Indice ricostruito" not in p.stdout, p.stdout + p.stderr
    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0 and p.stdout.rstrip().endswith("Archivio e indice coincidono."), p.stdout


def test_killed_import_leaves_no_temporary_folder_behind(indexed, tmp_path):
    """An import killed while its builder writes the new segment leaves the
    builder's `runs-*` folder inside the live generation: `check` names it
    (exit 1 once the index is repaired), `check --fix` repairs and removes
    it, and an import would remove it too."""
    data, index = copy(indexed, tmp_path)
    write_jsonl(tmp_path / "more.jsonl", ARTICLES, ARTICLES + 4000)
    proc = start_cli(data, index, "import", str(tmp_path / "more.jsonl"))
    runs = lambda: [p for p in index.glob("gen-*/runs-*") if ".building" not in p.parent.name]  # noqa: E731
    assert wait_for(lambda: runs() or proc.poll() is not None, timeout=120, interval=0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    [left] = runs()
    name = f"{left.parent.name}/{left.name}"

    p = run_cli(data, index, "check")
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"Resta la cartella di un'importazione interrotta: {name} (" in p.stdout

    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert not runs()
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "Archivio e indice coincidono." in p.stdout, p.stdout
