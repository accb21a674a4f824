"""The command line, run as a real process, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import DEMO, ROOT, SEED, archive_env

pytestmark = pytest.mark.both_backends


def run(tmp, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-W", "error::SyntaxWarning", str(ROOT / "cli.py"),
           "--data-dir", str(tmp / "data"), "--index-dir", str(tmp / "index"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=archive_env(tmp))


@pytest.fixture(scope="module")
def home(tmp_path_factory, backend):
    tmp = tmp_path_factory.mktemp("cli")
    paths = [str(DEMO)] + ([str(SEED)] if SEED.exists() else [])
    result = run(tmp, "import", *paths)
    assert result.returncode == 0, result.stderr
    return tmp


def test_import_reports_counts_and_is_idempotent(home):
    again = run(home, "import", str(DEMO))
    assert again.returncode == 0
    assert "Aggiunti: 0 · aggiornati: 0 · invariati: 22" in again.stdout


def test_import_of_bad_records_lists_them_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok-1", "title": "Buono", "body": "Testo."}\n{"title": "senza testo"}\n')
    result = run(tmp_path, "import", str(bad))
    assert result.returncode == 1
    assert "Aggiunti: 1" in result.stdout
    assert f"{bad}:riga 2: manca il testo (body)" in result.stderr


def test_query_human_output(home):
    result = run(home, "query", "tram bologna")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "1 contiene tutte le parole; segue 1 che ne contiene solo alcune."
    assert lines[1].startswith("2 articoli trovati")
    assert "— Articoli che contengono solo alcune delle parole —" in lines
    assert "1. Bologna, via libera alla nuova linea del tram verso Corticella" in lines
    assert any(line.strip().startswith("3 marzo 2024 · Marco Bellini · POLITICA") for line in lines)
    assert "\x1b[" not in result.stdout  # plain text when piped


def test_query_json_is_one_object_with_the_schema(home):
    result = run(home, "query", "siccità", "--json", "--limit", "1")
    data = json.loads(result.stdout)
    assert data["total"] == 2 and data["per_page"] == 1 and len(data["results"]) == 1
    assert data["results"][0]["title"].startswith("Siccità")
    assert "<mark>siccità</mark>" in data["results"][0]["snippet"].lower()


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seeds assente")
def test_issue_examples(home):
    first = json.loads(run(home, "query", "piano 28 punti", "--json").stdout)
    assert first["results"][0]["title"].startswith("C'È UN ALTRO PIANO (SEGRETO)")
    filtered = json.loads(run(home, "query", "witkoff", "--author", "Mario Piccirillo", "--category",
                              "notizie di prima pagina", "--since", "2025-11-01", "--until",
                              "2025-11-30", "--json").stdout)
    assert [r["author"] for r in filtered["results"]] == ["Mario Piccirillo"]
    newest = json.loads(run(home, "query", "piano segreto ucraina", "--sort", "newest", "--limit", "5",
                            "--json").stdout)
    assert newest["results"][0]["date"] == "2025-11-19"
    shown = run(home, "show", first["results"][0]["id"])
    assert "19 novembre 2025 · Mario Piccirillo · NOTIZIE DI PRIMA PAGINA · Agenzia DIRE" in shown.stdout


def test_bad_query_gets_an_italian_message_not_a_traceback(home):
    for args in (["query", "*x"], ["query", "pace", "--since", "ieri"], ["query", "pace", "--page", "0"]):
        result = run(home, *args)
        assert result.returncode == 2
        assert result.stderr.startswith("Errore: ") and "Traceback" not in result.stderr


def test_show_unknown_id(home):
    result = run(home, "show", "non-esiste")
    assert result.returncode == 1 and "Articolo non trovato" in result.stderr


def test_stats_and_check(home):
    stats = json.loads(run(home, "stats", "--json").stdout)
    assert stats["articles"] == stats["indexed"] == 22 + SEED.exists()
    assert stats["authors"][0]["count"] == 4
    human = run(home, "stats").stdout
    assert "Periodo: dal 12 febbraio 2023" in human
    check = run(home, "check")
    assert check.returncode == 0 and "coincidono" in check.stdout


def test_missing_index_says_to_rebuild(tmp_path):
    result = run(tmp_path, "query", "pace")
    assert result.returncode == 1
    assert "archivio rebuild" in result.stderr and "Traceback" not in result.stderr


def test_rebuild_command(home):
    result = run(home, "rebuild", "--procs", "2")
    assert result.returncode == 0 and "Indice ricostruito" in result.stdout
