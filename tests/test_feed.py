"""The Atom feed of a search (web.feeds): the articles holding every word,
with the page's filters, newest first, valid for a feed parser; the page
links it ("Segui questa ricerca"). A small archive of fictional news, on
both backends."""

from __future__ import annotations

import feedparser
import pytest

from archivio.web import create_app

pytestmark = pytest.mark.both_backends

BASE = "http://localhost"
RECORDS = [
    ("a1", "Alluvione in Liguria, strade chiuse", "cronaca", "2023-03-01", "di Anna Neri"),
    ("a2", "Alluvione a Parma: evacuate cento famiglie", "cronaca", "2023-05-10", "Marco Blu"),
    ("a3", "Alluvione in Liguria, la Regione chiede lo stato di emergenza", "politica", "2023-04-02", ""),
    ("b1", "Allerta meteo in Liguria per domani", "cronaca", "2023-06-01", ""),
    *(
        (f"x{n}", f"Il consiglio di Paese {n} approva il bilancio", "politica", f"2022-01-0{n}", "")
        for n in range(1, 8)
    ),
]


@pytest.fixture(scope="module")
def client(folder_of, make_archive):
    rows = [
        {
            "id": i,
            "title": t,
            "body": t + ". Servizio della redazione.",
            "category": c,
            "date": d,
            "author": a,
        }
        for i, t, c, d, a in RECORDS
    ]
    archive = make_archive(folder_of("feed", rows))
    yield create_app(archive).test_client()
    archive.close()


def feed(client, query: str):
    response = client.get("/feed.atom" + query)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def ids(parsed) -> list[str]:
    return [e.id.removeprefix(BASE + "/articolo/") for e in parsed.entries]


def test_the_articles_with_every_word_newest_first(client):
    parsed = feed(client, "?q=alluvione+liguria")
    assert ids(parsed) == ["a3", "a1"]  # b1 holds only "liguria"
    assert parsed.feed.title == "Archivio: «alluvione liguria»"
    assert [e.published for e in parsed.entries] == ["2023-04-02T00:00:00Z", "2023-03-01T00:00:00Z"]
    assert parsed.feed.updated == "2023-04-02T00:00:00Z"
    assert parsed.entries[0].link == BASE + "/articolo/a3"
    assert (
        parsed.entries[0].summary
        == "Alluvione in Liguria, la Regione chiede lo stato di emergenza. Servizio della redazione."
    )


def test_the_filters_of_the_page(client):
    parsed = feed(client, "?q=alluvione&categoria=cronaca")
    assert ids(parsed) == ["a2", "a1"]
    assert parsed.feed.title == "Archivio: «alluvione» (categoria cronaca)"
    assert [e.author for e in parsed.entries] == ["Marco Blu", "Anna Neri"]
    assert [e.tags[0].term for e in parsed.entries] == ["cronaca", "cronaca"]
    assert ids(feed(client, "?q=alluvione&da=2023-04-01")) == ["a2", "a3"]


def test_without_words_the_newest_articles(client):
    newest = sorted(RECORDS, key=lambda r: r[3], reverse=True)
    assert ids(feed(client, "")) == [r[0] for r in newest]


def test_the_page_links_the_feed_of_its_search(client):
    text = client.get("/?q=alluvione&categoria=cronaca&ordina=meno-recenti&pagina=1").get_data(as_text=True)
    href = "/feed.atom?q=alluvione&amp;categoria=cronaca"
    assert (
        f'<link rel="alternate" type="application/atom+xml" title="Segui questa ricerca" href="{href}">'
        in text
    )
    assert f'<a class="feed-link" href="{href}">Segui questa ricerca</a>' in text


def test_bad_parameters_are_an_italian_400(client):
    response = client.get("/feed.atom?q=alluvione&da=32/13/2020")
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith("Data iniziale non valida: '32/13/2020'.")
