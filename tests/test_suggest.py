"""Autocomplete on both backends: words and names as the archive writes them,
the word that follows the one before, no glued words or misspellings,
titles (newest first) that open their article; /api/suggest's shape."""

from __future__ import annotations

import pytest

from archivio.web import create_app

pytestmark = pytest.mark.both_backends


def A(article_id: str, title: str, body: str, day: str) -> dict:  # noqa: N802 - a short row maker
    return {"id": article_id, "title": title, "body": body, "date": day}


def _day(n: int) -> str:
    return f"2020-03-{n:02d}"


ARTICLES = (
    # 22 articles on Lombardy and the coronavirus: common words.
    [
        {
            "id": f"bollettino-{n}",
            "title": f"Bollettino numero {n}",
            "body": f"Il coronavirus in Lombardia: {n} nuovi casi. Il presidente della Lombardia ha parlato "
            "perché i casi crescono.",
            "date": _day(n),
        }
        for n in range(1, 23)
    ]
    + [
        # Scraped text whose paragraph breaks were lost: glued words.
        {
            "id": "incollato",
            "title": "Notizie dalla regione",
            "body": "Parla il presidente della LombardiaIl presidente ha spiegato perchéIn Lombardia "
            "si resta a casa.",
            "date": "2020-03-25",
        },
        {
            "id": "perche-1",
            "title": "Domande e risposte",
            "body": "Ecco perché si resta a casa, e perché conviene.",
            "date": "2020-03-26",
        },
        A("refuso", "Un refuso", "Il coronaviurs non esiste.", "2020-03-27"),
        {
            "id": "negozi",
            "title": "Lombardia, riaprono i negozi",
            "body": "I negozi riaprono.",
            "date": "2020-05-04",
        },
        A("sole", "In Lombardia il sole", "Splende il sole.", "2020-02-01"),
        {
            "id": "regole",
            "title": "Coronavirus, nuove regole",
            "body": "Nuove regole da domani.",
            "date": "2020-04-10",
        },
        {
            "id": "rallenta",
            "title": "Il coronavirus rallenta",
            "body": "I contagi calano.",
            "date": "2020-04-01",
        },
        # A brand written with an inner capital: a word, not a glue.
        {
            "id": "whatsapp-1",
            "title": "Su WhatsApp i bollettini",
            "body": "I bollettini arrivano su WhatsApp ogni sera.",
            "date": "2020-04-02",
        },
        {
            "id": "whatsapp-2",
            "title": "Messaggi ai cittadini",
            "body": "Il comune scrive su WhatsApp ai cittadini.",
            "date": "2020-04-03",
        },
        # Accents, and a capital only where a sentence starts.
        A("anziche-1", "Scuole", "Si studia a casa anziché in aula.", "2020-04-04"),
        A("anziche-2", "Uffici", "Si lavora da casa anziché in ufficio.", "2020-04-05"),
        A("anziche-3", "Treni", "Anziché il treno, la bicicletta.", "2020-04-06"),
        A("anziani", "Case di riposo", "Gli anziani sono protetti.", "2020-04-07"),
        A("zaino-titolo", "Lo zaino ritrovato", "Era in stazione.", "2020-04-18"),
        # Names: "Luca Zaia", "Vincenzo De Luca"; "lungo" is found with "De" but never after it.
        {
            "id": "zaia-1",
            "title": "Il Veneto chiude",
            "body": "Il governatore Luca Zaia ha firmato l'ordinanza dopo un lungo incontro.",
            "date": "2020-04-08",
        },
        {
            "id": "zaia-2",
            "title": "Il Veneto riapre",
            "body": "Luca Zaia annuncia le riaperture.",
            "date": "2020-04-09",
        },
        {
            "id": "deluca-1",
            "title": "La Campania chiude",
            "body": "Vincenzo De Luca ha firmato l'ordinanza dopo un lungo incontro.",
            "date": "2020-04-11",
        },
        {
            "id": "deluca-2",
            "title": "La Campania riapre",
            "body": "Il governatore De Luca annuncia, dopo un lungo confronto, le riaperture.",
            "date": "2020-04-12",
        },
        {
            "id": "deluca-3",
            "title": "Campania, scuole chiuse",
            "body": "Vincenzo De Luca chiude le scuole.",
            "date": "2020-04-13",
        },
        A("lungo-1", "Il fiume", "Un lungo fiume, lungo la valle.", "2020-04-14"),
        A("lungo-2", "La strada", "Un lungo viale.", "2020-04-15"),
        A("lungo-3", "Il ponte", "Un ponte lungo.", "2020-04-16"),
        A("zaino", "Oggetti smarriti", "Trovato uno zaino.", "2020-04-17"),
    ]
)


@pytest.fixture(scope="module")
def archive(archive_of):
    return archive_of("suggest", ARTICLES)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The glued "LombardiaIl" is left out; the word as written, then titles newest first.
        ("lomb", ["Lombardia", "Lombardia, riaprono i negozi", "In Lombardia il sole"]),
        # Only glued words ("perchéIn") start with "perch" ("perché" is a stop word): nothing.
        ("perch", []),
        # The misspelling "coronaviurs" (1 article beside 24) is left out.
        ("coronav", ["coronavirus", "Coronavirus, nuove regole", "Il coronavirus rallenta"]),
        # An inner capital of a brand is no glue ("whats" is no word of the archive).
        ("whats", ["WhatsApp", "Su WhatsApp i bollettini"]),
        # Accents as written; the capital of a sentence start is not the word's.
        ("anzi", ["anziché", "anziani"]),
        # A name keeps its capital, a common word its lower case.
        ("zai", ["Zaia", "zaino", "Lo zaino ritrovato"]),
        # The word that follows the one typed before: "De Luca", never "De lungo".
        ("De Lu", ["De Luca"]),
        ("de lu", ["De Luca"]),
        ("luca za", ["Luca Zaia"]),
        ("il governatore De Lu", ["il governatore De Luca"]),
        # A title typed up to a short last word, and a completion that is the whole title.
        ("Lombardia, riaprono i ne", ["Lombardia, riaprono i negozi"]),
        # A name the words typed begin: "Vincenzo De" goes on as "Vincenzo De Luca"
        # twice in the archive, "Luca" as "Luca Zaia" (not "Luca chiude", in lower case).
        ("Vincenzo De", ["Vincenzo De Luca"]),
        ("vincenzo de ", ["Vincenzo De Luca"]),
        ("Luca ", ["Luca Zaia"]),
        # Too short to complete.
        ("z", []),
    ],
)
def test_suggestions(archive, typed, expected):
    assert archive.suggest(typed) == expected


def test_title_suggestions_name_their_article(archive):
    found = archive.suggestions("lomb")
    assert [(s.kind, s.article_id, str(s.date) if s.date else None) for s in found] == [
        ("word", None, None),
        ("title", "negozi", "2020-05-04"),
        ("title", "sole", "2020-02-01"),
    ]
    assert [(s.kind, s.article_id) for s in archive.suggestions("Lombardia, riaprono i ne")] == [
        ("title", "negozi")
    ]


def test_api_suggest_adds_descriptions_and_article_urls(archive):
    client = create_app(archive).test_client()
    response = client.get("/api/suggest", query_string={"q": "lomb"})
    assert response.status_code == 200
    assert response.get_json() == [
        "lomb",
        ["Lombardia", "Lombardia, riaprono i negozi", "In Lombardia il sole"],
        ["", "4 maggio 2020", "1 febbraio 2020"],
        ["", "/articolo/negozi", "/articolo/sole"],
    ]
    # Each url is the article's own page.
    assert client.get("/articolo/negozi").status_code == 200
