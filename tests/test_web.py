"""The search site through Flask's test client, on a real archive built on disk.

The archive holds the demo articles (demo/articoli), the seed article when
../shared/seeds is present, and tests/fixtures/web_articles.json: an article
whose title, body and url try to inject markup, one with a real source link,
and twelve "filatelia" articles for paging.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivio.search import Archive, open_archive
from archivio.web import create_app
from archivio.web.params import Params

from .conftest import DEMO_COUNT

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "articoli"
FIXTURE = Path(__file__).parent / "fixtures" / "web_articles.json"
SHARED = Path(os.environ.get("ARCHIVIO_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "seeds" / "000_42c455790e5f0a4a.txt"
SEED_QUERY = "piano 28 punti"
FIXTURE_COUNT = 14
FILATELIA = 12


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_copy(tmp_path_factory) -> Path | None:
    """A copy of the seed article, or None when ../shared/seeds is absent."""
    if not SEED.exists():
        return None
    target = tmp_path_factory.mktemp("seed") / SEED.name
    shutil.copy(SEED, target)
    return target


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, seed_copy, backend) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("archivio-web")
    data, index = base / "data", base / "index"
    archive = open_archive(data_dir=data, index_dir=index)
    sources = [DEMO, FIXTURE] + ([seed_copy] if seed_copy else [])
    report = archive.import_paths(sources)
    archive.close()
    assert report.ok, report.rejected
    assert report.added == DEMO_COUNT + FIXTURE_COUNT + (1 if seed_copy else 0)
    return data, index


@pytest.fixture(scope="module")
def archive(dirs) -> Archive:
    a = open_archive(data_dir=dirs[0], index_dir=dirs[1])
    yield a
    a.close()


@pytest.fixture(scope="module")
def client(archive):
    return create_app(archive).test_client()


@pytest.fixture(scope="module")
def seed_id(archive, seed_copy) -> str:
    if seed_copy is None:
        pytest.skip("seed article ../shared/seeds/000_42c455790e5f0a4a.txt not present")
    # The demo's plan article has every word too: the seed is the one by its author.
    hits = archive.search(SEED_QUERY, author="Mario Piccirillo").hits
    return hits[0].article.id


# -- helpers ---------------------------------------------------------------------------------------


def page(client, path: str, status: int = 200, **params) -> str:
    url = path + ("?" + urlencode(params, doseq=True) if params else "")
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def api(client, path: str, status: int = 200, **params):
    url = path + ("?" + urlencode(params, doseq=True) if params else "")
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    return response.get_json()


def result_ids(text: str) -> list[str]:
    return re.findall(r'<h2 class="result-title"><a href="/articolo/([^"?]+)', text)


def total(text: str) -> int:
    m = re.search(r'<h1 class="results-title">\s*([\d.]+) articol', text)
    assert m, "no result count on the page"
    return int(m.group(1).replace(".", ""))


def section(text: str, css_class: str) -> str:
    start = text.index(f'<section class="facet {css_class}"')
    return text[start : text.index("</section>", start)]


def facet_links(text: str, css_class: str) -> list[dict]:
    """(value, count, active, url) of every link of one facet in the sidebar."""
    found = re.findall(
        r'<a class="facet-link( is-active)?" href="([^"]+)"[^>]*><span class="facet-value">([^<]+)</span>'
        r'<span class="facet-count">([\d.]+)</span>',
        section(text, css_class),
    )
    return [
        {"active": bool(a), "url": html.unescape(u), "value": html.unescape(v), "count": int(c)}
        for a, u, v, c in found
    ]


def params_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


class Elements(HTMLParser):
    """Collects tags and attributes, to check labels and landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def elements(text: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(text)
    return parser.tags


# -- the search page -------------------------------------------------------------------------------


def test_home_page_in_italian_with_archive_numbers(client):
    text = page(client, "/")
    assert '<html lang="it">' in text
    total_articles = DEMO_COUNT + FIXTURE_COUNT + (1 if SEED.exists() else 0)
    assert f"{total_articles} articoli, dal " in text
    assert "Come cercare" in text
    assert 'rel="search" type="application/opensearchdescription+xml"' in text


def test_home_page_lists_the_newest_articles_with_the_archive_facets(client, archive):
    text = page(client, "/")
    newest = archive.search("")
    assert result_ids(text) == [h.article.id for h in newest.hits]
    dates = [archive.get(i).date for i in result_ids(text)]
    assert dates == sorted(dates, reverse=True)
    assert f'Gli articoli più recenti <span class="results-query">({newest.total} nell\'archivio)' in text
    categories = facet_links(text, "facet-category")
    assert [(c["value"], c["count"]) for c in categories] == [
        (f["value"], f["count"]) for f in newest.facets["category"]
    ]


def test_seed_article_found_by_piano_28_punti(client, archive, seed_id):
    text = page(client, "/", q=SEED_QUERY)
    expected = archive.search(SEED_QUERY)
    # The seed, the demo's plan article and its article on Europe's answer ("ventotto punti").
    assert expected.exact_total == 3
    assert result_ids(text) == [h.article.id for h in expected.hits]
    assert seed_id in result_ids(text)[:2]
    assert total(text) == expected.total
    # The articles with every word are counted; partial matches are announced and marked.
    assert "3 articoli contengono tutte le parole cercate" in text
    partial_on_page = sum(not h.all_words for h in expected.hits)
    assert text.count("Contiene solo alcune delle parole cercate") == partial_on_page
    assert "per «piano 28 punti»" in text
    assert re.search(r"Ricerca eseguita in (\d+ ms|meno di 1 ms)", text)
    assert f'href="/articolo/{seed_id}?q=piano+28+punti"' in text
    # The title shows its matches marked, as the snippet does.
    assert "C&#x27;È UN ALTRO <mark>PIANO</mark> (SEGRETO) PER L&#x27;UCRAINA" in text
    assert '<time datetime="2025-11-19">19 novembre 2025</time>' in text
    assert '<span class="meta-author">Mario Piccirillo</span>' in text
    assert '<span class="meta-category">NOTIZIE DI PRIMA PAGINA</span>' in text
    assert '<span class="meta-source">Agenzia DIRE</span>' in text
    assert "il progetto in <mark>28</mark> <mark>punti</mark> parte dal vertice" in text
    assert "<mark>piano</mark>" in text
    # The box keeps the query.
    assert 'name="q" type="search" value="piano 28 punti"' in text


def test_seed_filtered_out_by_another_author(client, archive, seed_id):
    text = page(client, "/", q=SEED_QUERY, autore="Giulia Ferraro")
    assert seed_id not in result_ids(text)
    assert archive.search(SEED_QUERY, author="Giulia Ferraro").exact_total == 0
    assert "Autore: Giulia Ferraro" in text


def test_empty_state_when_filters_hide_everything(client):
    text = page(client, "/", q="zanzibar", autore="Giulia Ferraro")
    assert result_ids(text) == []
    assert total(text) == 0
    assert "Nessun articolo trovato" in text
    assert "con i filtri scelti" in text
    # The empty state says the filters hide one article, and links to the unfiltered search.
    assert "senza filtri gli articoli sono 1" in text
    assert 'href="/?q=zanzibar">rimuovi i filtri</a>' in text


def test_one_engine_search_per_page(client, archive, monkeypatch):
    """The page, its facets and histograms come from one search (facets are
    disjunctive in the engine); only the empty state's count without filters
    needs a second, and the facet page and the API make one each."""
    calls = []
    search = archive.search

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return search(*args, **kwargs)

    monkeypatch.setattr(archive, "search", counted)
    for path, params, expected in (
        ("/", {"q": "filatelia"}, 1),
        ("/", {"q": "filatelia", "categoria": ["Cultura", "Economia"], "da": "01/01/2020"}, 1),
        ("/", {"q": "zanzibar", "autore": "Giulia Ferraro"}, 2),
        ("/faccetta/categoria", {"q": "filatelia", "categoria": "Cultura"}, 1),
        ("/api/search", {"q": "filatelia", "categoria": "Cultura"}, 1),
    ):
        calls.clear()
        response = client.get(path + "?" + urlencode(params, doseq=True))
        assert response.status_code == 200, (path, params)
        assert len(calls) == expected, (path, params, calls)


def test_seed_kept_by_its_author_in_any_case(client, seed_id):
    text = page(client, "/", q=SEED_QUERY, autore="mario piccirillo")
    assert result_ids(text) == [seed_id]
    assert "Mario Piccirillo" in text
    author = facet_links(text, "facet-author")
    # Disjunctive: the other authors stay listed, the chosen one marked.
    active = [a for a in author if a["active"]]
    assert active == [{"active": True, "url": "/?q=piano+28+punti", "value": "Mario Piccirillo", "count": 1}]


def test_elided_words_highlighted_as_written(client):
    text = page(client, "/", q="Europa")
    assert "dell’<mark>Europa</mark>" in text


def test_category_facet_click_to_add_and_click_again_to_remove(client, archive):
    text = page(client, "/", q="oltre")
    before = total(text)
    categories = facet_links(text, "facet-category")
    expected = archive.search("oltre").facets["category"]
    assert [(c["value"], c["count"]) for c in categories] == [(f["value"], f["count"]) for f in expected]
    assert not any(c["active"] for c in categories)
    cultura = next(c for c in categories if c["value"] == "CULTURA")
    assert params_of(cultura["url"]) == {"q": ["oltre"], "categoria": ["CULTURA"]}

    filtered = page(client, cultura["url"])
    assert total(filtered) == cultura["count"] < before
    for article_id in result_ids(filtered):
        assert archive.get(article_id).category == "CULTURA"
    listed = facet_links(filtered, "facet-category")
    active = [c for c in listed if c["active"]]
    assert [c["value"] for c in active] == ["CULTURA"]
    # Disjunctive: after the click every category is still listed with the same count.
    assert [(c["value"], c["count"]) for c in listed] == [(f["value"], f["count"]) for f in expected]
    assert f"Categoria: CULTURA ({cultura['count']})" in filtered  # the chip, with its count
    # Clicking the active category again removes the filter.
    assert active[0]["url"] == "/?q=oltre"
    assert total(page(client, active[0]["url"])) == before


def test_categories_combine_with_or_and_others_stay_listed(client, archive):
    both = page(client, "/", q="oltre", categoria=["CULTURA", "CRONACA"])
    counts = {f["value"]: f["count"] for f in archive.search("oltre").facets["category"]}
    assert total(both) == counts["CULTURA"] + counts["CRONACA"]
    listed = facet_links(both, "facet-category")
    assert {c["value"] for c in listed if c["active"]} == {"CULTURA", "CRONACA"}
    # Categories not chosen are still offered, to add a third one.
    assert {c["value"] for c in listed} == set(counts)
    cronaca = next(c for c in listed if c["value"] == "CRONACA")
    assert params_of(cronaca["url"]) == {"q": ["oltre"], "categoria": ["CULTURA"]}


def test_partial_author_filter_shows_its_true_count(client, archive):
    text = page(client, "/", autore="Dentelli")
    assert total(text) == 4
    assert "Autore: Dentelli (4)" in text
    authors = facet_links(text, "facet-author")
    # The other authors stay listed (disjunctive); the partial name is the active entry.
    assert authors[0] == {"active": True, "url": "/", "value": "Dentelli", "count": 4}
    assert ("Franco Bolli", 8) in [(a["value"], a["count"]) for a in authors]


def test_month_histogram_inside_a_chosen_year(client, archive):
    year = archive.search("filatelia").facets["year"][0]["value"]
    text = page(client, "/", q="filatelia", da=f"{year}-01-01", a=f"{year}-12-31")
    months = re.findall(
        r'<a class="histogram-link" href="([^"]+)"><span class="histogram-year">(\w+ \d{4})</span>'
        r'<span class="histogram-bar" aria-hidden="true"><span class="histogram-fill w\d+"></span></span>'
        r'<span class="histogram-count">(\d+)',
        text[text.index('class="histogram histogram-months"') :],
    )
    expected = archive.search("filatelia", since=f"{year}-01-01", until=f"{year}-12-31").facets["month"]
    assert [int(c) for _, _, c in months] == [m["count"] for m in expected]
    assert sum(int(c) for _, _, c in months) == total(text)
    url, label, count = months[0]
    month = expected[0]["value"]
    assert label.endswith(str(year))
    in_month = page(client, html.unescape(url))
    assert total(in_month) == int(count)
    assert {archive.get(i).date.strftime("%Y-%m") for i in result_ids(in_month)} == {month}
    # The chosen month links back to its year.
    active = re.search(
        r'<a class="histogram-link is-active" href="([^"]+)"', in_month[in_month.index("histogram-months") :]
    )
    assert params_of(html.unescape(active.group(1)))["da"] == [f"{year}-01-01"]


def test_date_presets_end_today(client):
    text = page(client, "/", q="filatelia")
    today = date.today()
    week = re.search(r'<a class="preset-link" href="([^"]+)">Ultima settimana</a>', text)
    assert week and params_of(html.unescape(week.group(1)))["a"] == [today.isoformat()]
    assert "Ultimo mese</a>" in text and "Ultimo anno</a>" in text


def test_every_facet_value_is_reachable(client, archive):
    result = archive.search("", facet_limit=None)
    text = page(client, "/faccetta/autore")
    values = re.findall(r'<span class="facet-value">([^<]+)</span><span class="facet-count">(\d+)', text)
    assert [(html.unescape(v), int(c)) for v, c in values] == [
        (f["value"], f["count"]) for f in result.facets["author"]
    ]
    some = result.facets["author"][0]["value"]
    piece = some.split()[-1][:4]
    filtered = page(client, "/faccetta/autore", filtro=piece)
    shown = [
        html.unescape(v)
        for v, _ in re.findall(
            r'<span class="facet-value">([^<]+)</span><span class="facet-count">(\d+)', filtered
        )
    ]
    assert some in shown and all(piece.lower() in v.lower() for v in shown)
    assert page(client, "/faccetta/editore", 404)


def test_author_facet_and_chip_removal(client, archive):
    text = page(client, "/", q="filatelia")
    authors = facet_links(text, "facet-author")
    assert [(a["value"], a["count"]) for a in authors] == [("Franco Bolli", 8), ("Rita Dentelli", 4)]
    rita = page(client, authors[1]["url"])
    assert total(rita) == 4
    assert {archive.get(i).author for i in result_ids(rita)} == {"Rita Dentelli"}
    chip = re.search(
        r'<a class="chip" href="([^"]+)" aria-label="Rimuovi il filtro Autore: Rita Dentelli \(4\)"', rita
    )
    assert chip and html.unescape(chip.group(1)) == "/?q=filatelia"
    # The search box carries the filter, so a new query keeps it.
    assert '<input type="hidden" name="autore" value="Rita Dentelli">' in rita


def test_year_histogram_in_chronological_order(client, archive):
    text = page(client, "/", q="filatelia")
    years = re.findall(
        r'<a class="histogram-link" href="([^"]+)"><span class="histogram-year">(\d{4})</span>'
        r'<span class="histogram-bar" aria-hidden="true"><span class="histogram-fill w(\d+)"></span></span>'
        r'<span class="histogram-count">(\d+)',
        section(text, "facet-year"),
    )
    expected = archive.search("filatelia").facets["year"]
    assert [(int(y), int(c)) for _, y, _, c in years] == [(f["value"], f["count"]) for f in expected]
    assert [int(y) for _, y, _, _ in years] == sorted(int(y) for _, y, _, _ in years)
    assert max(int(w) for _, _, w, _ in years) == 100
    url, year, _, count = years[0]
    assert params_of(html.unescape(url)) == {
        "q": ["filatelia"],
        "da": [f"{year}-01-01"],
        "a": [f"{year}-12-31"],
    }
    in_year = page(client, html.unescape(url))
    assert total(in_year) == int(count)
    assert {archive.get(i).date.year for i in result_ids(in_year)} == {int(year)}
    assert f"Dal 01/01/{year}" in in_year and f"Al 31/12/{year}" in in_year


def test_date_range_typed_as_gg_mm_aaaa(client, archive):
    text = page(client, "/", q="filatelia", da="2023-01-01", a="2023-12-31")
    ids = result_ids(text)
    assert ids
    assert all(date(2023, 1, 1) <= archive.get(i).date <= date(2023, 12, 31) for i in ids)
    # Shown as readers write dates, in the fields and the chips.
    assert 'id="da" name="da" value="01/01/2023" placeholder="gg/mm/aaaa"' in text
    assert 'id="a" name="a" value="31/12/2023" placeholder="gg/mm/aaaa"' in text
    assert "Dal 01/01/2023" in text and "Al 31/12/2023" in text
    assert '<label for="da">Dal</label>' in text and '<label for="a">Al</label>' in text
    # Typed as gg/mm/aaaa, the same search.
    italian = page(client, "/", q="filatelia", da="01/01/2023", a="31/12/2023")
    assert result_ids(italian) == ids
    assert 'name="da" value="01/01/2023"' in italian


@pytest.mark.parametrize(("ordina", "reverse"), [("recenti", True), ("meno-recenti", False)])
def test_sort_by_date(client, archive, ordina, reverse):
    text = page(client, "/", q="filatelia", ordina=ordina)
    dates = [archive.get(i).date for i in result_ids(text)]
    assert len(dates) == 10
    assert dates == sorted(dates, reverse=reverse)
    assert f'<option value="{ordina}" selected>' in text


def test_pagination_with_page_numbers(client):
    first = page(client, "/", q="filatelia")
    assert total(first) == FILATELIA
    assert len(result_ids(first)) == 10
    assert "pagina 1 di 2" in first
    assert '<ol class="results" start="1">' in first
    nav = first[first.index('<nav class="pagination"') :]
    assert 'aria-current="page"><span class="visually-hidden">Pagina </span>1</a>' in nav
    assert 'href="/?q=filatelia&amp;pagina=2" rel="next"' in nav
    second = page(client, "/", q="filatelia", pagina=2)
    assert len(result_ids(second)) == FILATELIA - 10
    assert not set(result_ids(second)) & set(result_ids(first))
    assert '<ol class="results" start="11">' in second
    assert 'href="/?q=filatelia" rel="prev"' in second


def test_fallback_notice_when_no_article_has_all_words(client, archive):
    assert archive.search("filatelia lanterna").fallback
    text = page(client, "/", q="filatelia lanterna")
    assert "Nessun articolo contiene tutte le parole cercate" in text
    assert total(text) > 0


def test_did_you_mean_link(client, archive):
    result = archive.search("alluvine")
    assert result.suggestion == "alluvione"
    text = page(client, "/", q="alluvine")
    assert 'Forse cercavi: <a href="/?q=alluvione"><strong>alluvione</strong></a>' in text


def test_bookmarkable_state_in_the_url(client):
    params = {
        "q": "oltre",
        "autore": "Sara Conti",
        "categoria": ["CULTURA"],
        "da": "2023-01-01",
        "a": "2025-12-31",
        "ordina": "recenti",
    }
    text = page(client, "/", **params)
    # Every link that changes one thing keeps the rest.
    removal = re.search(
        r'<a class="chip" href="([^"]+)" aria-label="Rimuovi il filtro Categoria: CULTURA \(\d+\)"', text
    )
    assert params_of(html.unescape(removal.group(1))) == {
        "q": ["oltre"],
        "autore": ["Sara Conti"],
        "da": ["2023-01-01"],
        "a": ["2025-12-31"],
        "ordina": ["recenti"],
    }
    assert "Rimuovi tutti i filtri" in text


# -- bad parameters: a message on the page, never a 500 --------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "oltre", "da": "2024-13-45"}, "Data iniziale non valida"),
        ({"q": "oltre", "a": "ieri"}, "Data finale non valida"),
        (
            {"q": "oltre", "da": "2025-01-01", "a": "2024-01-01"},
            "La data iniziale è successiva a quella finale",
        ),
        ({"q": "oltre", "ordina": "casuale"}, "Ordinamento sconosciuto"),
        ({"q": "oltre", "pagina": "abc"}, "Numero di pagina non valido"),
        ({"q": "oltre", "pagina": "0"}, "Numero di pagina non valido"),
        ({"q": "filatelia", "pagina": "3"}, "La pagina 3 non esiste: i risultati occupano 2 pagine."),
        ({"q": "-il"}, "La ricerca non contiene parole utili"),
        ({"q": "a*"}, "metti almeno 2 lettere prima di * o ?"),
        ({"q": "x " * 50}, "La ricerca ha troppe parole"),
    ],
)
def test_bad_parameters_give_a_clear_message(client, params, message):
    text = page(client, "/", 400, **params)
    assert '<div class="notice notice-error" role="alert">' in text
    assert html.escape(message, quote=True) in text or message in html.unescape(text)
    assert 'id="ricerca"' in text  # the form is still there to fix the search
    body = api(client, "/api/search", 400, **params)
    assert message in body["error"]


@pytest.mark.parametrize(
    "q",
    [
        "\x00",
        '"non chiusa',
        "titolo:",
        "autore:",
        "*",
        "(((",
        "a OR",
        "NOT",
        "-",
        "'",
        "piano^3",
        "[a TO b]",
        "id:x",
        "🙂",
        "x" * 1001,
        "<script>alert(1)</script>",
    ],
)
def test_odd_queries_never_give_a_500(client, q):
    for path in ("/", "/api/search", "/api/suggest"):
        response = client.get(path, query_string={"q": q, "da": "2024-02-30" if path == "/" else ""})
        assert response.status_code in (200, 400), (path, q, response.status_code)
    assert "<script>alert(1)</script>" not in client.get("/", query_string={"q": q}).get_data(as_text=True)


def test_page_beyond_the_end_links_to_the_last_page(client):
    text = page(client, "/", 400, q="filatelia", pagina=9)
    assert '<a href="/?q=filatelia&amp;pagina=2">Vai all&#39;ultima pagina dei risultati</a>' in text


def test_filters_without_words_browse_the_archive(client, archive):
    text = page(client, "/", categoria="CULTURA")
    expected = archive.search("", category="CULTURA", per_page=10)
    assert total(text) == expected.total > 0
    assert result_ids(text) == [h.article.id for h in expected.hits]
    assert '<input type="hidden" name="categoria" value="CULTURA">' in text


def test_post_is_not_allowed(client):
    response = client.post("/")
    assert response.status_code == 405
    assert "Metodo non consentito" in response.get_data(as_text=True)


# -- escaping --------------------------------------------------------------------------------------


def test_markup_in_articles_is_escaped_in_results(client):
    text = page(client, "/", q="zanzibar")
    assert result_ids(text) == ["web-xss-1"]
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '"onmouseover=' not in text
    assert "Titolo con &quot;onmouseover=alert(1) e &lt;b&gt;grassetto&lt;/b&gt;" in text
    assert "<b>grassetto" not in text and "<i>Corsivo" not in text
    assert "&lt;i&gt;Corsivo&lt;/i&gt;" in text
    assert "<mark>Zanzibar</mark>" in text


def test_markup_in_articles_is_escaped_on_the_article_page(client):
    text = page(client, "/articolo/web-xss-1", q="zanzibar")
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    assert '"onmouseover=' not in text
    assert "javascript:" not in text  # the url is not a link, nor printed as one
    assert "Fonte: Fonte &lt;script&gt;</p>" in text
    assert "<mark>Zanzibar</mark>" in text


def test_snippet_html_in_the_api_is_escaped(client):
    body = api(client, "/api/search", q="zanzibar")
    snippet = body["results"][0]["snippet"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert "<script>" not in snippet
    assert "<mark>Zanzibar</mark>" in snippet
    assert body["results"][0]["title"] == 'Titolo con "onmouseover=alert(1) e <b>grassetto</b>'


# -- the article page ------------------------------------------------------------------------------


def test_article_page_with_query_terms_highlighted(client, archive, seed_id):
    text = page(client, f"/articolo/{seed_id}", q=SEED_QUERY)
    article = archive.get(seed_id)
    assert "<title>C&#39;È UN ALTRO PIANO (SEGRETO)" in text
    assert '<h1 class="article-title">C&#x27;È UN ALTRO <mark>PIANO</mark> (SEGRETO)' in text
    assert "il progetto in <mark>28</mark> <mark>punti</mark> parte" in text
    assert '<span class="meta-author">di Mario Piccirillo</span>' in text
    assert '<time datetime="2025-11-19">19 novembre 2025</time>' in text
    assert '<p class="kicker">NOTIZIE DI PRIMA PAGINA</p>' in text
    body = text[
        text.index('<div class="article-body">') : text.index(
            "</div>", text.index('<div class="article-body">')
        )
    ]
    assert body.count("<p>") == len([p for p in re.split(r"\n\s*\n", article.body) if p.strip()]) == 7
    assert "articolato in <mark>28</mark> <mark>punti</mark>" in body
    assert 'href="/?q=piano+28+punti"' in text  # back to the results
    # www.dire.it has no scheme: shown, not linked.
    assert 'Fonte: Agenzia DIRE <span class="source-url">(www.dire.it)</span>' in text
    assert 'href="www.dire.it"' not in text


def test_article_page_without_query_has_no_marks(client, seed_id):
    text = page(client, f"/articolo/{seed_id}")
    assert "<mark>" not in text
    assert "Torna ai risultati" not in text


def test_article_page_lists_related_articles(client, archive, seed_id):
    text = page(client, f"/articolo/{seed_id}")
    aside = text[text.index('<aside class="related"') :]
    related = re.findall(r'<a href="/articolo/([^"]+)">', aside)
    assert related == [a.id for a in archive.related(seed_id, 5)]
    assert 1 <= len(related) <= 5 and seed_id not in related
    # Another article about Ukraine is the closest one.
    assert "Ucraina" in archive.get(related[0]).title


def test_http_source_becomes_a_safe_link(client):
    text = page(client, "/articolo/web-link-1")
    assert (
        '<a class="source-link" href="https://example.org/notizie/faro-capo-quercia" '
        'rel="noopener noreferrer nofollow external">Il Gazzettino di Prova</a>'
    ) in text


@pytest.mark.parametrize("article_id", ["non-esiste", "x" * 300, "..", "a-49b03733cf325d8b%00"])
def test_unknown_article_is_a_404_page(client, article_id):
    response = client.get(f"/articolo/{article_id}")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Errore 404" in text and "Torna alla ricerca" in text


def test_paths_are_never_read_from_article_ids(client):
    for url in ("/articolo/..%2F..%2Fetc%2Fpasswd", "/articolo/%2Fetc%2Fpasswd", "/api/article/..%2Fcli.py"):
        response = client.get(url)
        assert response.status_code == 404
        assert "root:" not in response.get_data(as_text=True)


# -- JSON API --------------------------------------------------------------------------------------


def _cli_json(dirs, *args: str) -> dict:
    data, index = dirs
    out = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "--data-dir",
            str(data),
            "--index-dir",
            str(index),
            "query",
            *args,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("params", "cli_args"),
    [
        ({"q": "oltre"}, ["oltre"]),
        ({"q": "  piano   28 punti "}, ["  piano   28 punti "]),
        (
            {
                "q": "oltre",
                "categoria": ["CULTURA", "CRONACA"],
                "ordina": "recenti",
                "per_pagina": "3",
                "pagina": "2",
            },
            [
                "oltre",
                "--categoria",
                "CULTURA",
                "--categoria",
                "CRONACA",
                "--sort",
                "newest",
                "--limit",
                "3",
                "--page",
                "2",
            ],
        ),
        (
            {
                "q": "filatelia",
                "autore": "franco bolli",
                "da": "2022-01-01",
                "a": "2024-12-31",
                "ordina": "meno-recenti",
            },
            [
                "filatelia",
                "--autore",
                "franco bolli",
                "--da",
                "2022-01-01",
                "--a",
                "2024-12-31",
                "--sort",
                "oldest",
            ],
        ),
    ],
)
def test_api_search_equals_cli_json(client, dirs, params, cli_args):
    assert api(client, "/api/search", **params) == _cli_json(dirs, *cli_args)


def test_api_search_equals_cli_json_for_the_seed(client, archive, dirs, seed_id):
    body = api(client, "/api/search", q=SEED_QUERY)
    assert body == _cli_json(dirs, SEED_QUERY)
    assert seed_id in [r["id"] for r in body["results"][:2]]
    assert list(body) == list(archive.search(SEED_QUERY).to_dict())


def test_api_article(client, archive):
    assert api(client, "/api/article/web-link-1") == archive.get("web-link-1").to_dict()
    assert api(client, "/api/article/non-esiste", 404) == {"error": "Articolo non trovato."}


def test_api_suggest(client):
    body = api(client, "/api/suggest", q="filat")
    assert body[0] == "filat"
    assert body[1][0] == "filatelia"
    assert len(body[1]) <= 8
    assert any("mostra di filatelia" in s for s in body[1])  # titles too
    assert api(client, "/api/suggest", q="") == ["", [], [], []]
    assert api(client, "/api/suggest") == ["", [], [], []]
    # Completions follow the words already typed.
    assert api(client, "/api/suggest", q="mostra di filat")[1][0] == "mostra di filatelia"


def test_api_bad_requests_are_400_json(client):
    assert (
        api(client, "/api/search")["total"] == api(client, "/api/search", q="", per_pagina="1")["total"] > 0
    )
    assert "Risultati per pagina" in api(client, "/api/search", 400, q="oltre", per_pagina="mille")["error"]
    assert "Risultati per pagina" in api(client, "/api/search", 400, q="oltre", per_pagina="500")["error"]
    assert api(client, "/api/nulla", 404)["error"]


@pytest.mark.parametrize(
    "name, meant",
    [
        ("page", "pagina"),
        ("per_page", "per_pagina"),
        ("author", "autore"),
        ("sort", "ordina"),
        ("categria", "categoria"),
    ],
)
def test_api_unknown_parameters_are_400_naming_the_one_meant(client, name, meant):
    error = api(client, "/api/search", 400, q="piano", **{name: "2"})["error"]
    assert error == (
        f"Parametro sconosciuto: «{name}» (forse «{meant}»?). "
        "Parametri validi: q, autore, categoria, da, a, ordina, pagina, per_pagina, copie."
    )


def test_api_every_documented_parameter_is_accepted(client):
    data = api(
        client,
        "/api/search",
        q="piano",
        autore="x",
        categoria="esteri",
        da="01/01/2020",
        a="31/12/2030",
        ordina="recenti",
        pagina="1",
        per_pagina="5",
    )
    assert data["per_page"] == 5 and data["page"] == 1
    assert api(client, "/api/suggest", 400, q="pia", limit="3")["error"] == (
        "Parametro sconosciuto: «limit». Parametri validi: q."
    )


# -- OpenSearch, health, headers, accessibility ----------------------------------------------------


def test_opensearch_description(client):
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ElementTree.fromstring(response.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.find("os:ShortName", ns).text == "Archivio"
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    assert urls["text/html"] == "http://localhost/?q={searchTerms}"
    assert urls["application/x-suggestions+json"] == "http://localhost/api/suggest?q={searchTerms}"


def test_healthz(client):
    body = api(client, "/healthz")
    assert body == {
        "status": "ok",
        "articles": DEMO_COUNT + FIXTURE_COUNT + (1 if SEED.exists() else 0),
        "indexed": body["articles"],
    }


@pytest.mark.whoosh_only(reason="an index directory never built; PostgreSQL's case is in test_pg_backend")
def test_missing_index_gives_maintenance_pages(tmp_path, dirs):
    broken = Archive(dirs[0], tmp_path / "nessun-indice")
    c = create_app(broken).test_client()
    assert c.get("/healthz").status_code == 503
    for url in ("/", "/?q=oltre"):
        response = c.get(url)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "60"
        assert "Archivio in manutenzione" in response.get_data(as_text=True)
    assert c.get("/api/search?q=oltre").status_code == 503
    assert c.get("/api/suggest?q=olt").status_code == 503
    # Articles come from the store: still readable, without the extras.
    article = c.get("/articolo/web-link-1?q=faro")
    assert article.status_code == 200
    assert "Nessun articolo correlato" in article.get_data(as_text=True)
    broken.close()


def test_overload_gives_a_quick_503(archive):
    app = create_app(archive, {"ARCHIVIO_SEARCH_CONCURRENCY": 1, "ARCHIVIO_SEARCH_WAIT": 0.05})
    c = app.test_client()
    slots = app.extensions["archivio_slots"]
    assert slots.acquire(timeout=1)  # another request is searching
    try:
        response = c.get("/?q=oltre")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "Servizio occupato" in response.get_data(as_text=True)
        assert c.get("/api/search?q=oltre").status_code == 503
        assert c.get("/api/suggest?q=olt").status_code == 503
        # Pages that need no search still work; an article only loses its extras.
        assert c.get("/healthz").status_code == 200
        article = c.get("/articolo/web-link-1?q=faro")
        assert article.status_code == 200 and "Nessun articolo correlato" in article.get_data(as_text=True)
    finally:
        slots.release()
    assert c.get("/?q=oltre").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/?q=oltre",
        "/?q=oltre&da=x",
        "/articolo/web-link-1",
        "/articolo/nessuno",
        "/api/search?q=oltre",
        "/api/suggest?q=ol",
        "/opensearch.xml",
        "/healthz",
        "/static/archivio.css",
        "/static/archivio.js",
    ],
)
def test_security_headers_on_every_response(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "url", ["/", "/?q=oltre&categoria=CULTURA", "/?q=filatelia", "/articolo/web-link-1?q=faro", "/?q=x&da=no"]
)
def test_no_inline_script_or_style_and_every_input_labelled(client, url):
    text = client.get(url).get_data(as_text=True)
    tags = elements(text)
    labels = {attrs.get("for") for tag, attrs in tags if tag == "label"}
    for tag, attrs in tags:
        assert "style" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            assert attrs.get("id") in labels, (tag, attrs)
    assert "<style" not in text
    names = {tag for tag, _ in tags}
    assert {"header", "main", "footer"} <= names


def test_landmarks_on_the_results_page(client):
    tags = elements(page(client, "/", q="filatelia"))
    names = [tag for tag, _ in tags]
    assert {"header", "main", "aside", "nav", "footer"} <= set(names)
    assert (
        "form",
        {"id": "ricerca", "class": "search-form", "role": "search", "method": "get", "action": "/"},
    ) in tags


def test_static_files_are_served_with_a_version(client):
    text = page(client, "/")
    css = re.search(r'href="(/static/archivio\.css\?v=[0-9a-f]{10})"', text).group(1)
    js = re.search(r'src="(/static/archivio\.js\?v=[0-9a-f]{10})"', text).group(1)
    assert client.get(css).status_code == 200
    assert b"suggerimenti" in client.get(js).data


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=30),
    st.text(max_size=20),
    st.lists(st.text(min_size=1, max_size=15), max_size=3),
    st.sampled_from(["", "tutte"]),
    st.integers(min_value=1, max_value=50),
)
def test_a_pages_links_are_urlencodes(q, author, categories, copies, page):
    """Params.link quotes each value once and remembers it: the same query
    string as urlencode, and read back as the same parameters."""
    params = Params(q=q, autore=author, categorie=tuple(categories), copie=copies, pagina=page)
    pairs = params.query_pairs()
    link = params.link("/")
    assert link == "/" + ("?" + urlencode(pairs) if pairs else "")
    assert parse_qs(urlsplit(link).query, keep_blank_values=True) == {
        k: [v for key, v in pairs if key == k] for k, _ in pairs
    }
