"""Every result of a search as a file (search.exporting): `archivio query
--format csv|jsonl` and the page's /export.csv and /export.jsonl give the
same rows, all of them (not a page), in the search's order; CSV for
spreadsheets (UTF-8 with BOM, formula-looking cells neutralised). A small
archive of fictional news, on both backends."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archivio.search.exporting as exporting
from archivio.search import SearchRequest, export_search
from archivio.web import create_app

from .robust_support import run_cli

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[1]
# 130 articles on the flood: more than one engine page (search.results.MAX_PER_PAGE, 100).
FLOODS = 130
RECORDS = [
    {
        "id": f"f{n:03d}",
        "title": f"Alluvione, il bollettino numero {n}",
        "body": "La piena del fiume è passata. Servizio della redazione.",
        "date": f"2023-{1 + n // 28:02d}-{1 + n % 28:02d}",
        "category": "cronaca",
    }
    for n in range(FLOODS)
] + [
    {
        "id": "calc",
        "title": "=SOMMA(A1:A9) alluvione",
        "subtitle": "-2 gradi, poi la piena",
        "author": "@redazione",
        "body": "Un titolo che un foglio di calcolo leggerebbe come formula.",
        "date": "2024-01-01",
        "category": "cronaca",
    },
    {
        "id": "altro",
        "title": "Il consiglio approva il bilancio",
        "body": "Nessuna piena.",
        "date": "2024-02-01",
    },
]


@pytest.fixture(scope="module")
def folder(folder_of):
    return folder_of("export", RECORDS)


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(folder / "data", folder / "index", *args, timeout=120)


def rows(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_csv_has_every_result_newest_first(folder):
    result = cli(folder, "query", "alluvione", "--sort", "newest", "--format", "csv")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert len(table) == FLOODS + 1
    assert list(table[0]) == [
        "id",
        "data",
        "titolo",
        "sottotitolo",
        "autore",
        "categoria",
        "fonte",
        "url",
        "tutte_le_parole",
        "estratto",
    ]
    newest_floods = sorted(
        (r for r in RECORDS if r["id"].startswith("f")), key=lambda r: r["date"], reverse=True
    )
    assert [r["id"] for r in table] == ["calc"] + [r["id"] for r in newest_floods]
    assert table[1]["data"] == newest_floods[0]["date"] and table[1]["tutte_le_parole"] == "sì"


def test_formula_looking_cells_are_text(folder):
    (row,) = [
        r for r in rows(cli(folder, "query", "alluvione", "--format", "csv").stdout) if r["id"] == "calc"
    ]
    assert row["titolo"] == "'=SOMMA(A1:A9) alluvione"
    assert row["sottotitolo"] == "'-2 gradi, poi la piena"
    assert row["autore"] == "'@redazione"


def test_json_lines_are_the_api_results(folder):
    result = cli(folder, "query", "alluvione", "--sort", "oldest", "--format", "jsonl")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == FLOODS + 1
    assert lines[0]["id"] == "f000" and lines[-1]["id"] == "calc"
    assert set(lines[0]) >= {"id", "title", "date", "author", "category", "snippet", "all_words"}


def test_the_page_exports_the_same_rows(folder, make_archive):
    archive = make_archive(folder)
    try:
        client = create_app(archive).test_client()
        page = client.get("/?q=alluvione&ordina=recenti&pagina=2").get_data(as_text=True)
        assert 'href="/export.csv?q=alluvione&amp;ordina=recenti" download>CSV</a>' in page
        response = client.get("/export.csv?q=alluvione&ordina=recenti")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == 'attachment; filename="archivio-ricerca.csv"'
        assert response.headers["X-Archivio-Total"] == str(FLOODS + 1)
        expected = cli(folder, "query", "alluvione", "--sort", "newest", "--format", "csv").stdout
        assert response.get_data(as_text=True) == expected.replace("\n", "\r\n")
        lines = client.get("/export.jsonl?q=alluvione").get_data(as_text=True).splitlines()
        assert len(lines) == FLOODS + 1
        bad = client.get("/export.csv?q=alluvione&da=32/13/2020")
        assert bad.status_code == 400 and bad.get_data(as_text=True).startswith("Data iniziale non valida")
    finally:
        archive.close()


def test_beyond_the_depth_limit_the_export_says_so(folder, make_archive, monkeypatch):
    monkeypatch.setattr(exporting, "MAX_DEPTH", 100)
    archive = make_archive(folder)
    try:
        response = create_app(archive).test_client().get("/export.jsonl?q=alluvione")
        assert len(response.get_data(as_text=True).splitlines()) == 100
        assert (response.headers["X-Archivio-Total"], response.headers["X-Archivio-Exported"]) == (
            "131",
            "100",
        )
    finally:
        archive.close()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.sampled_from(["alluvione", "piena", "bollettino numero", "alluvione piena", "consiglio", ""]),
    sort=st.sampled_from(["relevance", "newest", "oldest"]),
    page=st.integers(1, 3),
    per_page=st.integers(1, 100),
)
def test_an_export_lists_exactly_the_search_total_whatever_the_sort_or_page(
    folder, make_archive, text, sort, page, per_page
):
    """The file holds the search's total, each article once, the same set in
    every order, whatever page and page size the request came from."""
    archive = make_archive(folder)
    try:
        request = SearchRequest.of(text, sort=sort, page=page, per_page=per_page)
        export = export_search(archive, request)
        ids = [h.article.id for h in export.hits]
        total = archive.search(text, sort="newest", per_page=1).total
        assert export.total == total == len(ids) == len(set(ids))
        newest = [h.article.id for h in export_search(archive, SearchRequest.of(text, sort="newest")).hits]
        assert set(ids) == set(newest)
    finally:
        archive.close()
