"""A full disk (issue 14, item 7), on a real small filesystem: a tmpfs
mounted for the test (root only; skipped otherwise). tmpfs answers ENOSPC
exactly as a full disk does, to whoosh, to SQLite and to Python alike.
Imports and rebuilds end with an Italian message and exit 1, no traceback,
the lock released, the old index serving; the articles stored before the
failure are indexed by the next import, incrementally, in the space an
import needs (a full rebuild would need room for a second index)."""

from __future__ import annotations

import re
import subprocess

import pytest

from archivio.search.importing import STORE_BATCH
from archivio.search.whoosh_sqlite.archive import STALE_MARK
from archivio.search.whoosh_sqlite.locking import lock_holder

from .robust_support import integrity, run_cli, store_count, write_jsonl

BASE = 6000  # about 17 MB of store (4 MB of it stories) and index
SIZE = "40m"


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)]
    p = subprocess.run(command, capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {p.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def full_archive(small_disk, tmp_path):
    """BASE articles indexed on the small disk, and 20,000 more that do not fit."""
    write_jsonl(tmp_path / "base.jsonl", 0, BASE)
    write_jsonl(tmp_path / "more.jsonl", BASE, 20000)
    data, index = small_disk / "data", small_disk / "index"
    p = run_cli(data, index, "import", str(tmp_path / "base.jsonl"))
    assert p.returncode == 0, p.stderr
    return data, index


IMPORT_FULL = (
    "Errore: Spazio su disco esaurito: operazione interrotta. Gli articoli salvati finora restano "
    "nell'archivio; l'indice resta quello di prima. Libera spazio (ora "
)


def test_full_disk_import_then_incremental_repair(full_archive, tmp_path):
    data, index = full_archive
    live = (index / "CURRENT").read_text()
    p = run_cli(data, index, "import", str(tmp_path / "more.jsonl"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith(IMPORT_FULL), p.stderr
    assert lock_holder(data / "archivio.lock") is None
    assert integrity(data) == "ok"
    stored = store_count(data)
    assert stored > BASE and (stored - BASE) % STORE_BATCH == 0, stored
    assert (index / "CURRENT").read_text() == live
    p = run_cli(data, index, "query", "alfa", "--json")
    assert p.returncode == 0, p.stderr
    p = run_cli(data, index, "check")
    assert p.returncode == 1 and "è stata interrotta prima di aggiornare l'indice" in p.stdout

    # A rebuild does not fit (a second index beside the live one) and says how much it needs.
    p = run_cli(data, index, "rebuild")
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert re.fullmatch(
        r"Errore: Spazio su disco esaurito: ricostruzione dell'indice annullata \(la cartella parziale è "
        r"stata rimossa\)\. L'archivio è intatto; l'indice precedente, se c'è, resta in uso\. Una "
        r"ricostruzione scrive un secondo indice accanto a quello attuale: servono circa \d+,\d MB "
        rf"liberi in {re.escape(str(index))}, ora \d+,\d MB\.",
        p.stderr.strip(),
    ), p.stderr
    assert not list(index.glob("*.building"))
    assert lock_holder(data / "archivio.lock") is None

    # The next import re-indexes what the failed one stored: it fits.
    write_jsonl(tmp_path / "few.jsonl", 90000, 10)
    p = run_cli(data, index, "import", str(tmp_path / "few.jsonl"))
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"riallineato \((\d+) articoli reindicizzati\)\.", p.stdout)
    assert m and 0 < int(m.group(1)) <= 5500 and int(m.group(1)) == stored - BASE, p.stdout
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "Archivio e indice coincidono." in p.stdout, p.stdout
    assert not (index / STALE_MARK).exists()
    p = run_cli(data, index, "query", f'"Notizia {stored - 1}"', "--json")
    assert f"gen-{stored - 1:06d}" in p.stdout


def test_sqlite_full_is_one_message_and_check_fix_repairs(full_archive, tmp_path):
    data, index = full_archive
    # Leave SQLite about 1 MB: it fills first (the WAL grows with each batch).
    filler = data.parent / "filler"
    subprocess.run(["fallocate", "-l", "16M", str(filler)], check=True)
    p = run_cli(data, index, "import", str(tmp_path / "more.jsonl"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and "cannot rollback" not in p.stderr
    assert p.stderr.startswith(IMPORT_FULL), p.stderr
    assert lock_holder(data / "archivio.lock") is None
    filler.unlink()
    assert integrity(data) == "ok"
    stored = store_count(data)
    assert stored >= BASE and (stored - BASE) % STORE_BATCH == 0

    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Indice riallineato: {stored - BASE} articoli reindicizzati." in p.stdout
    assert "Indice ricostruito" not in p.stdout
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "Archivio e indice coincidono." in p.stdout
