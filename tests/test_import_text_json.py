"""Importing the seed's article format and JSON / JSON Lines."""

from __future__ import annotations

import gzip
import json
from datetime import date

from archivio.search.dates import format_italian, parse_date
from archivio.search.importers import read_paths
from archivio.search.importers.base import Rejection
from archivio.search.importers.textfile import join_split_paragraphs, parse_article_text

from .conftest import DEMO, DEMO_COUNT


def test_seed_article_fields_exactly(seed_path):
    (article,) = list(read_paths([seed_path]))
    assert article.title == "C'È UN ALTRO PIANO (SEGRETO) PER L'UCRAINA. LO STANNO SCRIVENDO USA E RUSSIA"
    assert article.date == date(2025, 11, 19)
    assert article.author == "Mario Piccirillo"  # not "redazione", the publishing account
    assert article.category == "NOTIZIE DI PRIMA PAGINA"
    assert article.category_key == "notizie di prima pagina"
    assert article.subtitle == (
        "Lo scoop di Axios: il progetto in 28 punti parte dal vertice in Alaska tra Trump e Putin. "
        'Lo sta coordinando Witkoff. "Il modello Gaza è esportabile"'
    )
    assert article.source == "Agenzia DIRE"
    assert article.url == "www.dire.it"
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) == 7
    assert paragraphs[0].startswith("ROMA – L'amministrazione Trump sta lavorando in modo riservato")
    assert "**" not in article.body and "](" not in article.body
    # The paragraph split after "che" is joined back.
    assert "tra i due leader, che potrebbe tenersi a Budapest." in article.body
    assert paragraphs[-1].endswith('"Ma entrambe le parti dovranno mostrarsi concrete e realistiche".')
    assert "Agenzia DIRE" not in article.body


def test_text_format_variants():
    text = (
        "# Titolo di prova\n\n*Pubblicato il 3 marzo 2024 di redazione*\n\n"
        "Categoria: [Cronaca](#)\n\n## Il sottotitolo\n\ndi Anna Verdi\n\n"
        "Primo paragrafo con un [collegamento](http://example.org) e **grassetto**.\n\n"
        "Secondo paragrafo.\n"
    )
    article = parse_article_text(text)
    assert (article.title, article.subtitle, article.author, article.category) == (
        "Titolo di prova",
        "Il sottotitolo",
        "Anna Verdi",
        "Cronaca",
    )
    assert article.date == date(2024, 3, 3)
    assert article.body == "Primo paragrafo con un collegamento e grassetto.\n\nSecondo paragrafo."
    assert article.source is None


def test_join_split_paragraphs_only_mid_sentence():
    assert join_split_paragraphs(["Disse che", "la pace è vicina.", "Poi andò via"]) == [
        "Disse che la pace è vicina.",
        "Poi andò via",
    ]
    assert join_split_paragraphs(["Fine frase.", "nuovo paragrafo"]) == ["Fine frase.", "nuovo paragrafo"]


def test_demo_split_paragraph_is_joined():
    (article,) = list(read_paths([DEMO / "015_riforma-pensioni-sindacati.txt"]))
    assert "ha spiegato che la decisione sulla flessibilità arriverà entro marzo" in article.body


def test_demo_archive_parses_completely():
    articles = list(read_paths([DEMO]))
    assert len(articles) == DEMO_COUNT == len(list(DEMO.glob("*.txt")))
    assert not [a for a in articles if isinstance(a, Rejection)]
    assert all(a.author and a.category and a.date and a.source for a in articles)
    assert len({a.author for a in articles}) == 12
    assert len({a.category for a in articles}) == 10
    assert {a.date.year for a in articles} == {2022, 2023, 2024, 2025}


def test_dates_in_every_accepted_form():
    assert parse_date("19 Novembre 2025") == date(2025, 11, 19)
    assert parse_date("19 novembre 2025") == date(2025, 11, 19)
    assert parse_date("19/11/2025") == date(2025, 11, 19)
    assert parse_date("2025-11-19") == date(2025, 11, 19)
    assert parse_date("2025-11-19T08:30:00+01:00") == date(2025, 11, 19)
    assert format_italian(date(2025, 11, 19)) == "19 novembre 2025"


def _write_jsonl(path, records, compress=False):
    data = "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(data)
    else:
        path.write_text(data, encoding="utf-8")


GOOD = {"id": "x-1", "title": "Titolo", "body": "Testo dell'articolo.", "date": "2024-05-01"}


def test_json_lines_gz_and_arrays(tmp_path):
    _write_jsonl(tmp_path / "a.jsonl.gz", [GOOD, {**GOOD, "id": "x-2"}], compress=True)
    (tmp_path / "b.json").write_text(json.dumps([{**GOOD, "id": "x-3", "author": "Ada Neri"}]))
    items = list(read_paths([tmp_path]))
    assert [a.id for a in items] == ["x-1", "x-2", "x-3"]
    assert items[2].author == "Ada Neri"
    assert items[0].date == date(2024, 5, 1)


def test_bad_records_are_located_and_the_rest_goes_on(tmp_path):
    _write_jsonl(
        tmp_path / "mix.jsonl",
        [
            GOOD,
            '{"title": "troncato", "body": ',
            {"title": "Senza testo"},
            {"title": 5, "body": "x"},
            {**GOOD, "id": "x-5", "date": "31/02/2024"},
            {**GOOD, "id": "x-6", "date": "2999-01-01"},
            '"solo una stringa"',
            {**GOOD, "id": "x-8"},
        ],
    )
    items = list(read_paths([tmp_path / "mix.jsonl"]))
    rejected = {r.location: r.reason for r in items if isinstance(r, Rejection)}
    assert [a.id for a in items if not isinstance(a, Rejection)] == ["x-1", "x-8"]
    assert set(rejected) == {"riga 2", "riga 3", "riga 4", "riga 5", "riga 6", "riga 7"}
    assert rejected["riga 2"].startswith("JSON non valido")
    assert rejected["riga 3"] == "manca il testo (body)"
    assert "titolo" in rejected["riga 4"] or "title" in rejected["riga 4"]
    assert rejected["riga 5"].startswith("data non valida")
    assert rejected["riga 6"] == "data nel futuro: 2999-01-01"
    assert rejected["riga 7"] == "atteso un oggetto JSON, trovato str"


def test_ids_derive_from_url_then_content():
    (a,) = list(read_paths_from_records([{"title": "T", "body": "B", "url": "https://www.x.it/a/1"}]))
    (b,) = list(read_paths_from_records([{"title": "T2", "body": "B2", "url": "http://x.it/a/1/"}]))
    (c,) = list(read_paths_from_records([{"title": "T", "body": "B"}]))
    (d,) = list(read_paths_from_records([{"title": "T", "body": "B"}]))
    assert a.id == b.id  # same page url, whatever the scheme or www
    assert c.id == d.id != a.id


def read_paths_from_records(records):
    from archivio.search.importers.base import article_from_record

    return [article_from_record(r) for r in records]
