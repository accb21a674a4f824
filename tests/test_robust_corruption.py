"""A damaged index: a truncated, emptied or deleted segment, a damaged table
of contents, a missing index folder, a garbage CURRENT file. Each is found
when the index is opened, with a message that says to run `rebuild`: the CLI
exits non-zero without a traceback, the web site answers «in manutenzione»,
and `check --fix` brings everything back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from archivio.search import Archive, IndexMissing

from .robust_support import get, run_cli, start_server, stop, write_jsonl


def _gen(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip()


def _segments(index: Path) -> list[Path]:
    return sorted(p for p in _gen(index).iterdir() if p.suffix == ".seg" or p.name.endswith((".trm", ".pst")))


def _toc(index: Path) -> Path:
    return next(_gen(index).glob("*.toc"))


def _truncate(path: Path, fraction: float) -> None:
    os.truncate(path, int(path.stat().st_size * fraction))


DAMAGE = {
    "segmento troncato a metà": lambda ix: _truncate(_segments(ix)[0], 0.5),
    "segmento troncato in coda": lambda ix: _truncate(_segments(ix)[0], 0.98),
    "segmento vuoto": lambda ix: _truncate(_segments(ix)[0], 0),
    "segmento cancellato": lambda ix: _segments(ix)[0].unlink(),
    "indice dei segmenti illeggibile": lambda ix: _toc(ix).write_bytes(os.urandom(200)),
    "indice dei segmenti cancellato": lambda ix: _toc(ix).unlink(),
    "generazione vuota": lambda ix: [p.unlink() for p in _gen(ix).iterdir()],
    "cartella dell'indice assente": lambda ix: shutil.rmtree(ix),
    "CURRENT con spazzatura": lambda ix: (ix / "CURRENT").write_bytes(b"\x00\xff\xfe garbage\n"),
    "CURRENT fuori dall'indice": lambda ix: (ix / "CURRENT").write_text("../data\n"),
    "CURRENT vuoto": lambda ix: (ix / "CURRENT").write_text(""),
    "CURRENT cancellato": lambda ix: (ix / "CURRENT").unlink(),
}


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    root = tmp_path_factory.mktemp("sound")
    write_jsonl(root / "a.jsonl", 0, 300)
    p = run_cli(root / "data", root / "index", "import", str(root / "a.jsonl"))
    assert p.returncode == 0, p.stderr
    return root


def damaged_copy(sound: Path, dst: Path, damage) -> tuple[Path, Path]:
    shutil.copytree(sound / "data", dst / "data")
    shutil.copytree(sound / "index", dst / "index")
    damage(dst / "index")
    return dst / "data", dst / "index"


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_index_is_reported_and_repaired(sound, tmp_path, name):
    data, index = damaged_copy(sound, tmp_path, DAMAGE[name])

    # In-process: the documented exception, with the remedy in it.
    archive = Archive(data, index)
    with pytest.raises(IndexMissing, match="rebuild"):
        archive.search("alfa")
    report = archive.check()
    assert not report["ok"] and "rebuild" in report["error"]
    archive.close()

    # The CLI: a clear message, non-zero, no traceback.
    for args in (("query", "alfa"), ("query", "alfa", "--json"), ("check",)):
        p = run_cli(data, index, *args)
        assert p.returncode != 0, (args, p.stdout)
        assert "Traceback" not in p.stderr, p.stderr
        assert "rebuild" in p.stderr + p.stdout, (args, p.stderr)

    # Repaired by `check --fix`, and searchable again.
    p = run_cli(data, index, "check", "--fix")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_cli(data, index, "check")
    assert p.returncode == 0 and "coincidono" in p.stdout
    p = run_cli(data, index, "query", "alfa", "--json")
    assert p.returncode == 0 and '"total": 75' in p.stdout


def test_web_site_shows_maintenance_not_a_traceback(sound, tmp_path):
    data, index = damaged_copy(sound, tmp_path, DAMAGE["segmento troncato a metà"])
    server, base = start_server(data, index)
    try:
        for path in ("/", "/?q=alfa", "/api/search?q=alfa", "/healthz"):
            status, body, headers = get(base + path)
            assert status == 503, (path, status)
            text = body.decode()
            assert "Traceback" not in text
            if not path.startswith(("/api", "/healthz")):
                assert "manutenzione" in text
                assert headers.get("Retry-After")
        # Articles live in the store: still readable.
        status, body, _ = get(base + "/articolo/gen-000004")
        assert status == 200 and b"Notizia 4" in body
        # Repaired while the server runs: it answers again without a restart.
        p = run_cli(data, index, "rebuild")
        assert p.returncode == 0, p.stderr
        status, body, _ = get(base + "/?q=alfa")
        assert status == 200, body[:300]
    finally:
        stop(server)
