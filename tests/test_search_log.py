"""The search log (search.searchlog) and `archivio report`: the site records
each new search (words, filters, result count, time; nothing about the
reader), and the report counts them per day or week, with the most
searched queries, those without results and the slowest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from archivio.search import SearchLog, log_path
from archivio.web import create_app

from .conftest import DEMO, ROOT


def at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC).timestamp()


@pytest.fixture
def filled(tmp_path) -> Path:
    path = tmp_path / "ricerche.sqlite"
    log = SearchLog(path)
    for day, query, results, ms in [
        ("2026-11-30", "Piano  di PACE", 12, 20.0),  # Monday
        ("2026-11-30", "piano di pace", 12, 25.0),
        ("2026-12-01", "zqxwv", 0, 5.0),
        ("2026-12-02", "alluvione", 3, 90.5),
        ("2026-12-07", "piano di pace", 12, 30.0),  # the next Monday
        ("2026-12-07", "", 50, 3.0),  # browsing: counted, not listed
    ]:
        log.record(query, {"autore": "", "categoria": []}, results, ms, at=at(day))
    log.close()
    return path


def test_the_report_counts_per_day_and_lists(filled):
    report = SearchLog(filled).report(top=2)
    assert (report["searches"], report["zero_results"]) == (6, 1)
    assert report["periods"] == [
        {"period": "2026-11-30", "searches": 2, "zero_results": 0},
        {"period": "2026-12-01", "searches": 1, "zero_results": 1},
        {"period": "2026-12-02", "searches": 1, "zero_results": 0},
        {"period": "2026-12-07", "searches": 2, "zero_results": 0},
    ]
    assert report["top_queries"] == [
        {"query": "piano di pace", "count": 3},
        {"query": "alluvione", "count": 1},
    ]
    assert report["zero_result_queries"] == [{"query": "zqxwv", "count": 1}]
    assert [(s["query"], s["ms"]) for s in report["slowest"]] == [
        ("alluvione", 90.5),
        ("piano di pace", 30.0),
    ]
    assert report["slowest"][0]["at"] == "2026-12-02T12:00:00+00:00"


def test_per_week_and_between_dates(filled):
    log = SearchLog(filled)
    weeks = log.report(by="week")["periods"]
    assert weeks == [
        {"period": "2026-11-30", "searches": 4, "zero_results": 1},
        {"period": "2026-12-07", "searches": 2, "zero_results": 0},
    ]
    some = log.report(since=date(2026, 12, 1), until=date(2026, 12, 2))
    assert (some["searches"], [q["query"] for q in some["top_queries"]]) == (2, ["alluvione", "zqxwv"])


def test_the_site_records_each_new_search(tmp_path, make_archive):
    archive = make_archive(tmp_path / "archivio")
    assert archive.import_paths([DEMO]).ok
    path = tmp_path / "log.sqlite"
    try:
        client = create_app(archive, {"ARCHIVIO_SEARCH_LOG": path}).test_client()
        found = archive.search("piano").total
        assert client.get("/?q=Piano").status_code == 200
        assert client.get("/?q=piano&pagina=2").status_code == 200  # another page: not a new search
        assert client.get("/api/search?q=zqxwv&autore=Rossi").status_code == 200
        assert client.get("/?categoria=esteri").status_code == 200
        assert client.get("/feed.atom?q=piano").status_code == 200  # a feed reader polling: not a search
        assert client.get("/export.csv?q=piano").status_code == 200  # nor a download
    finally:
        archive.close()
    log = SearchLog(path)
    rows = log._db.execute("SELECT query, filters, results FROM searches ORDER BY rowid").fetchall()
    assert rows == [
        ("piano", "{}", found),
        ("zqxwv", '{"autore": "Rossi"}', 0),
        ("", '{"categoria": ["esteri"]}', rows[2][2]),
    ]
    assert rows[2][2] > 0


def report_cli(*args: str, log: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHIVIO_SEARCH_LOG": log}
    cmd = [sys.executable, str(ROOT / "cli.py"), "report", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def test_archivio_report(filled):
    data = json.loads(report_cli("--json", "--by", "week", "--since", "01/12/2026", log=str(filled)).stdout)
    assert (data["searches"], data["by"], data["since"]) == (4, "week", "2026-12-01")
    text = report_cli(log=str(filled)).stdout
    assert text.startswith("Ricerche: 6 · senza risultati: 1\n")
    assert "        3  piano di pace\n" in text
    off = report_cli(log="0")
    assert off.returncode == 1 and "spento" in off.stderr
    missing = report_cli(log=str(filled.parent / "nessuno.sqlite"))
    assert missing.returncode == 1 and "Nessuna ricerca registrata" in missing.stderr
    bad = report_cli("--since", "32/13/2026", log=str(filled))
    assert bad.returncode == 2 and "Data iniziale non valida" in bad.stderr


def test_on_by_default_beside_the_data(monkeypatch, tmp_path):
    monkeypatch.delenv("ARCHIVIO_SEARCH_LOG")
    monkeypatch.delenv("ARCHIVIO_DATA", raising=False)
    assert log_path(None) == Path("data") / "ricerche.sqlite"
    assert log_path(tmp_path) == tmp_path / "ricerche.sqlite"
    monkeypatch.setenv("ARCHIVIO_SEARCH_LOG", "off")
    assert log_path(tmp_path) is None
