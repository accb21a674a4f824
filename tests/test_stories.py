"""Stories, not copies (search.stories): the same news item from several
outlets is found at import and kept as one story; bulletins of one outlet
on different days, a later article on the same subject and unrelated news
are not. On a small archive of fictional news written for these tests, on
both backends."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search.article import Article
from archivio.search.stories import (
    SIMILARITY,
    Candidate,
    band_keys,
    same_story,
    signature,
    similarity,
)
from archivio.web import create_app

pytestmark = pytest.mark.both_backends

# A fictional news item, as an agency wrote it.
FLOOD = (
    "Una frana ha interrotto nella notte la strada provinciale che collega Borgo Fiorito alla valle del "
    "Serchio. Nessun ferito, ma le dodici famiglie delle frazioni alte sono rimaste isolate per alcune ore. "
    "I vigili del fuoco hanno raggiunto le case a piedi con i generi di prima necessità, mentre i tecnici "
    "della provincia hanno avviato i rilievi sul versante, dove le piogge degli ultimi giorni hanno "
    "saturato il terreno. Il sindaco Marta Bellandi ha firmato un'ordinanza che vieta il transito fino "
    "alla messa in sicurezza e ha chiesto alla regione lo stato di calamità. Una navetta collegherà il "
    "paese alla stazione di Ponte Vecchio ogni due ore, dalle sei del mattino alle ventidue. "
    "I lavori di sgombero dovrebbero durare almeno una settimana, secondo le prime stime degli ingegneri."
)
# A bulletin template, the same every day but for its figures.
BULLETIN = (
    "Il bollettino dell'azienda sanitaria aggiornato alle ore diciotto di {day} riporta {n} nuovi casi "
    "di influenza stagionale nel territorio provinciale, con {h} ricoveri nei reparti di medicina. "
    "L'azienda ricorda che la vaccinazione resta aperta negli ambulatori distrettuali dal lunedì al "
    "venerdì, senza prenotazione, per tutte le persone sopra i sessant'anni e per i malati cronici. "
    "I medici di famiglia possono vaccinare i propri assistiti nei rispettivi studi. Il prossimo "
    "aggiornamento sarà pubblicato domani alla stessa ora sul sito dell'azienda."
)


def articles() -> list[dict]:
    flood_rewrite = FLOOD.replace("Nessun ferito, ma le", "Non ci sono feriti; le").rsplit(" I lavori", 1)[0]
    return [
        {
            "id": "frana-agenzia",
            "title": "Frana sulla provinciale, isolate dodici famiglie",
            "body": FLOOD,
            "date": "2024-11-04",
            "source": "Agenzia Uno",
        },
        {
            "id": "frana-quotidiano",
            "title": "Borgo Fiorito isolato dalla frana: navetta per la stazione",
            "body": "BORGO FIORITO, 4 NOV - " + FLOOD,
            "date": "2024-11-04",
            "source": "Il Quotidiano",
        },
        {
            "id": "frana-sito",
            "title": "Frana, dodici famiglie isolate a Borgo Fiorito",
            "body": flood_rewrite,
            "date": "2024-11-05",
            "source": "Valle Notizie",
        },
        # The same subject two weeks later, in other words: another story.
        {
            "id": "frana-riapertura",
            "title": "Riaperta la provinciale dopo la frana di Borgo Fiorito",
            "body": "Dopo due settimane di lavori la strada provinciale per Borgo Fiorito è di nuovo aperta "
            "al traffico. Le reti di contenimento posate sul versante reggeranno, assicurano i "
            "tecnici, anche alle piogge più intense. La navetta per la stazione è stata sospesa e le "
            "famiglie delle frazioni alte hanno festeggiato con una cena in piazza.",
            "date": "2024-11-19",
            "source": "Valle Notizie",
        },
        # The same copy ten days later: past MAX_DAYS, not the same story.
        {
            "id": "frana-ripresa",
            "title": "Frana sulla provinciale: il racconto",
            "body": FLOOD,
            "date": "2024-11-15",
            "source": "Il Settimanale",
        },
        {
            "id": "bollettino-lunedi",
            "title": "Influenza, il bollettino di lunedì",
            "body": BULLETIN.format(day="lunedì", n="centoventi", h="nove"),
            "date": "2024-12-02",
            "source": "Sanità Oggi",
        },
        {
            "id": "bollettino-martedi",
            "title": "Influenza, il bollettino di martedì",
            "body": BULLETIN.format(day="martedì", n="centotrenta", h="undici"),
            "date": "2024-12-03",
            "source": "Sanità Oggi",
        },
        {
            "id": "mostra",
            "title": "Una mostra di mappe antiche al museo civico",
            "body": "Il museo civico apre sabato una mostra di mappe antiche della valle, prestate da "
            "collezionisti privati e dall'archivio di stato.",
            "date": "2024-11-04",
            "source": "Agenzia Uno",
        },
    ]


@pytest.fixture(scope="module")
def stories_archive(tmp_path_factory, make_archive):
    folder = tmp_path_factory.mktemp("storie")
    source = folder / "storie.jsonl"
    source.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles()) + "\n")
    archive = make_archive(folder)
    assert archive.import_paths([source]).added == len(articles())
    yield archive
    archive.close()


def ids(found: list[Article]) -> list[str]:
    return [a.id for a in found]


def test_copies_of_one_news_item_are_one_story(stories_archive):
    assert ids(stories_archive.copies("frana-agenzia")) == ["frana-quotidiano", "frana-sito"]
    assert ids(stories_archive.copies("frana-sito")) == ["frana-agenzia", "frana-quotidiano"]


def test_later_news_bulletins_and_unrelated_articles_stand_alone(stories_archive):
    for alone in ("frana-riapertura", "frana-ripresa", "bollettino-lunedi", "bollettino-martedi", "mostra"):
        assert stories_archive.copies(alone) == [], alone
    assert stories_archive.copies("nessuno") == []


def test_copy_counts_for_a_page(stories_archive):
    page = ["mostra", "frana-quotidiano", "bollettino-martedi", "frana-sito", "nessuno"]
    assert stories_archive.copy_counts(page) == {"frana-quotidiano": 2, "frana-sito": 2}


def test_a_removed_article_leaves_its_copies_together(tmp_path, make_archive):
    source = tmp_path / "storie.jsonl"
    source.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles()[:3]) + "\n")
    archive = make_archive(tmp_path)
    try:
        assert archive.import_paths([source]).added == 3
        assert archive.remove(["frana-agenzia"]) == ["frana-agenzia"]
        assert ids(archive.copies("frana-quotidiano")) == ["frana-sito"]
        # Imported again, it finds its story again.
        assert archive.import_paths([source]).added == 1
        assert ids(archive.copies("frana-agenzia")) == ["frana-quotidiano", "frana-sito"]
        archive.rebuild()  # stories live in the store: a rebuild keeps them
        assert archive.copy_counts(["frana-sito"]) == {"frana-sito": 2}
    finally:
        archive.close()


def test_signatures_are_stable():
    """Signatures are stored: a MinHash library whose digests change (rensa's
    ALGORITHM_VERSION) would leave old and new articles incomparable."""
    article = Article(
        title="Frana sulla provinciale", body="Una frana ha interrotto nella notte la strada provinciale."
    )
    assert signature(article).hex()[:32] == "5067a1dcd2a84cc98d552775d33d570b"


def test_the_rules_of_same_story():
    flood = Article(title="Frana", body=FLOOD, date=None, source="A")
    sig = signature(flood)
    assert len(sig) == 64 * 4 and len(band_keys(sig)) == 16
    assert similarity(sig, sig) == 1.0
    assert signature(Article(title="Frana", body=FLOOD, source="B")) == sig  # the text alone counts
    other = Article(title="Mostra", body="Il museo civico apre sabato una mostra di mappe antiche.")
    assert similarity(sig, signature(other)) < SIMILARITY

    # A rewrite: most sentences shared (similarity between 0.5 and 0.9).
    rewrite = FLOOD.rsplit(" Una navetta", 1)[0]
    near = signature(Article(title="Frana", body=rewrite))
    assert SIMILARITY <= similarity(sig, near) < 0.9

    def stored(day: str, source: str) -> Candidate:
        return Candidate("prima", "prima", near, date.fromisoformat(day), source)

    today = Article(title="Frana", body=FLOOD, date=date(2024, 11, 4), source="A")
    assert same_story(today, sig, stored("2024-11-04", "B")) == similarity(sig, near)
    assert same_story(today, sig, stored("2024-11-01", "B")) is not None  # three days apart
    assert same_story(today, sig, stored("2024-10-31", "B")) is None  # four
    assert same_story(today, sig, stored("2024-11-04", "A")) is None  # one outlet: 0.9 needed
    assert same_story(today, sig, stored("2024-11-03", "A")) is None
    assert same_story(today, sig, Candidate("x", "x", sig, date(2024, 11, 3), "A")) == 1.0


def test_results_and_the_article_page_show_the_other_sources(stories_archive):
    client = create_app(stories_archive).test_client()
    found = client.get("/api/search?q=frana+provinciale+borgo+fiorito&per_pagina=50").get_json()
    copies = {r["id"]: r["copies"] for r in found["results"]}
    assert copies["frana-agenzia"] == copies["frana-quotidiano"] == copies["frana-sito"] == 2
    assert copies["frana-riapertura"] == copies["frana-ripresa"] == 0
    page = client.get("/?q=frana+provinciale+borgo+fiorito").get_data(as_text=True)
    assert page.count("e altre 2 fonti</a>") == 3 and "#altre-fonti" in page
    article = client.get("/articolo/frana-sito").get_data(as_text=True)
    section = article.split('id="altre-fonti"', 1)[1].split("</section>", 1)[0]
    assert "La stessa notizia da altre fonti" in section
    assert section.index("/articolo/frana-agenzia") < section.index("/articolo/frana-quotidiano")
    assert "Il Quotidiano" in section and "Valle Notizie" not in section
    # A copy is not offered again among the related articles.
    related = article.split('id="correlati-titolo"', 1)[1]
    assert "/articolo/frana-agenzia" not in related and "/articolo/frana-quotidiano" not in related
    alone = client.get("/articolo/mostra").get_data(as_text=True)
    assert 'id="altre-fonti"' not in alone


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sort=st.sampled_from(["relevance", "newest", "oldest"]),
    per_page=st.integers(1, 10),
    page=st.integers(1, 4),
    text=st.sampled_from(["frana provinciale", "frana", "bollettino influenza", ""]),
)
def test_a_hits_copies_never_depend_on_the_page_or_the_sort(stories_archive, sort, per_page, page, text):
    """`copies` is a property of the article (its story in the whole archive),
    whatever the query, sort, page or page size that shows it."""
    result = stories_archive.search(text, sort=sort, per_page=per_page, page=page)
    for hit in result.hits:
        assert hit.copies == len(stories_archive.copies(hit.article.id)), hit.article.id
