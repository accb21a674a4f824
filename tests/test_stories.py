"""Stories, not copies (search.stories): the same news item from several
outlets is found at import and kept as one story; bulletins of one outlet
on different days, a later article on the same subject and unrelated news
are not. On a small archive of fictional news written for these tests, on
both backends."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search.article import Article
from archivio.search.folding import fold_ranking
from archivio.search.stories import (
    SIMILARITY,
    Candidate,
    band_keys,
    same_story,
    signature,
    similarity,
)
from archivio.web import create_app
from tests.robust_support import run_cli

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
            "category": "Cronaca",
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
            "category": "Cronaca",
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
            "category": "Cronaca",
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
def stories_folder(tmp_path_factory) -> Path:
    """Where the stories archive is kept (a CLI process opens it there)."""
    return tmp_path_factory.mktemp("storie")


@pytest.fixture(scope="module")
def stories_archive(stories_folder, make_archive):
    folder = stories_folder
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


def test_each_story_is_listed_once_at_its_best_place(stories_archive):
    """Folded (the default): the story's best-ranked article in its place,
    the other two with it; the counts say both articles and stories."""
    found = stories_archive.search("frana", sort="newest")
    assert (found.total, found.stories, found.pages) == (5, 3, 1)
    assert [h.article.id for h in found.hits] == ["frana-riapertura", "frana-ripresa", "frana-sito"]
    assert [o.id for o in found.hits[2].other_sources] == ["frana-agenzia", "frana-quotidiano"]
    every = stories_archive.search("frana", sort="newest", fold=False)
    assert (every.total, every.stories) == (5, None)
    assert [h.article.id for h in every.hits] == [
        "frana-riapertura",
        "frana-ripresa",
        "frana-sito",
        "frana-agenzia",
        "frana-quotidiano",
    ]
    # By relevance, the story's best-ranked copy stands for it, where it ranks.
    ranked = [h.article.id for h in stories_archive.search("frana", fold=False).hits]
    copies = {"frana-agenzia", "frana-quotidiano", "frana-sito"}
    best = next(i for i in ranked if i in copies)
    assert [h.article.id for h in stories_archive.search("frana").hits] == [
        i for i in ranked if i not in copies or i == best
    ]
    in_category = stories_archive.search("frana", category="cronaca", sort="oldest")
    assert (in_category.total, in_category.stories) == (3, 2)
    assert [h.article.id for h in in_category.hits] == ["frana-agenzia", "frana-riapertura"]
    browsing = stories_archive.search("", per_page=4)
    assert (browsing.total, browsing.stories, browsing.pages) == (8, 6, 2)
    alone = stories_archive.search("bollettino influenza")
    assert (alone.total, alone.stories) == (2, 2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sort=st.sampled_from(["relevance", "newest", "oldest"]),
    per_page=st.integers(1, 7),
    text=st.sampled_from(["frana provinciale borgo fiorito", "frana", "famiglie isolate", "influenza", ""]),
    category=st.sampled_from([None, "cronaca"]),
)
def test_pages_of_stories_are_the_folded_list_of_every_copy(stories_archive, sort, per_page, text, category):
    """Page after page, the folded results are the list of every copy with
    each story's later articles left out: none twice, none missing, as many
    as the stories counted, whatever the page size."""
    every = stories_archive.search(text, sort=sort, per_page=100, fold=False, category=category)
    expected, seen = [], set()
    for hit in every.hits:
        story = min([hit.article.id, *(o.id for o in hit.other_sources)])
        if story not in seen:
            seen.add(story)
            expected.append(hit.article.id)
    first = stories_archive.search(text, sort=sort, per_page=per_page, category=category)
    assert (first.total, first.stories) == (every.total, len(expected))
    assert first.pages == max(1, -(-len(expected) // per_page))
    listed = [h.article.id for h in first.hits]
    for page in range(2, first.pages + 1):
        listed += [
            h.article.id
            for h in stories_archive.search(
                text, sort=sort, per_page=per_page, page=page, category=category
            ).hits
        ]
    assert listed == expected


def test_results_and_the_article_page_show_the_other_sources(stories_archive):
    client = create_app(stories_archive).test_client()
    found = client.get("/api/search?q=frana+provinciale+borgo+fiorito&per_pagina=50").get_json()
    assert (found["total"], found["stories"], found["folded"]) == (7, 5, True)
    by_id = {r["id"]: r for r in found["results"]}
    story = next(by_id[i] for i in ("frana-agenzia", "frana-quotidiano", "frana-sito") if i in by_id)
    assert story["copies"] == 2 and len(story["other_sources"]) == 2
    assert {o["source"] for o in story["other_sources"]} | {story["source"]} == {
        "Agenzia Uno",
        "Il Quotidiano",
        "Valle Notizie",
    }
    assert by_id["frana-riapertura"]["copies"] == by_id["frana-ripresa"]["copies"] == 0
    every = client.get("/api/search?q=frana+provinciale+borgo+fiorito&per_pagina=50&copie=tutte").get_json()
    assert (every["total"], every["stories"], every["folded"]) == (7, None, False)
    copies = {r["id"]: r["copies"] for r in every["results"]}
    assert copies["frana-agenzia"] == copies["frana-quotidiano"] == copies["frana-sito"] == 2
    wrong = client.get("/api/search?q=frana&copie=si")
    assert wrong.status_code == 400 and "copie=tutte" in wrong.get_json()["error"]

    page = client.get("/?q=frana").get_data(as_text=True)
    assert "5 articoli trovati" in page and "3 notizie diverse" in page
    assert page.count('<details class="result-copies">') == 1 and "e altre 2 fonti</summary>" in page
    opened = page.split('<details class="result-copies">', 1)[1].split("</details>", 1)[0]
    assert opened.index("/articolo/frana-agenzia") < opened.index("/articolo/frana-quotidiano")
    assert 'href="/?q=frana&amp;copie=tutte"' in page
    all_copies = client.get("/?q=frana&copie=tutte").get_data(as_text=True)
    assert all_copies.count('<details class="result-copies">') == 3 and "notizie diverse" not in all_copies
    assert 'href="/?q=frana">Raggruppa le copie' in all_copies
    assert 'name="copie" value="tutte"' in all_copies  # a new search keeps the choice

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


def test_the_command_line_folds_copies_unless_asked(stories_archive, stories_folder):
    folder = stories_folder
    folded = run_cli(folder / "data", folder / "index", "query", "frana", "--sort", "newest")
    assert folded.returncode == 0, folded.stderr
    assert "5 articoli trovati, 3 notizie diverse" in folded.stdout
    assert folded.stdout.count("e altre 2 fonti: Agenzia Uno, Il Quotidiano") == 1
    every = run_cli(folder / "data", folder / "index", "query", "frana", "--tutte-le-copie")
    assert every.returncode == 0, every.stderr
    assert "5 articoli trovati (" in every.stdout and every.stdout.count("e altre 2 fonti") == 3
    export = ("query", "frana", "--sort", "newest", "--format", "jsonl")
    exported = run_cli(folder / "data", folder / "index", *export)
    assert [json.loads(line)["id"] for line in exported.stdout.splitlines()] == [
        "frana-riapertura",
        "frana-ripresa",
        "frana-sito",
    ]
    exported = run_cli(folder / "data", folder / "index", *export, "--all-copies")
    assert len(exported.stdout.splitlines()) == 5


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


@pytest.mark.parametrize(
    "copies, depths",
    [(1, [20]), (2, [20]), (5, [20, 63]), (20, [20, 250])],
    ids=["alone", "pairs", "fives", "twenties"],
)
def test_folding_ranks_as_deep_as_the_stories_found_foretell(copies, depths):
    """fold_ranking's depths, exactly: a page of 10 stories from a ranking
    where each story has `copies` consecutive articles (500 matches)."""
    ranking = list(range(500))
    asked: list[int] = []

    def rank(depth: int) -> list[int]:
        asked.append(depth)
        return ranking[:depth]

    folded = fold_ranking(rank, lambda ranked: lambda n: n // copies, 10, len(ranking))
    assert asked == depths
    assert folded[:10] == [n * copies for n in range(10)]


def test_stored_copies_are_found_within_their_days(tmp_path, make_archive):
    """The store is asked only for articles a few days from each new one
    (MAX_DAYS each way; undated ones always): a copy imported later, three
    days apart, joins the story; four days apart it does not; undated, it
    does, and a dated copy imported after it finds it too."""
    first = articles()[0]  # frana-agenzia, 2024-11-04
    undated = {k: v for k, v in dict(first, id="senza-data", source="Radio Valle").items() if k != "date"}
    later = [
        dict(first, id="tre-giorni", date="2024-11-07", source="Il Giornale del Lago"),
        dict(first, id="quattro-giorni", date="2024-10-31", source="La Voce"),
        undated,
    ]
    archive = make_archive(tmp_path)
    try:
        for n, record in enumerate([first, *later]):  # one import each: the later ones ask the store
            source = tmp_path / f"{n}.jsonl"
            source.write_text(json.dumps(record, ensure_ascii=False) + "\n")
            assert archive.import_paths([source]).added == 1
        assert ids(archive.copies("frana-agenzia")) == ["senza-data", "tre-giorni"]
        assert archive.copies("quattro-giorni") == []
    finally:
        archive.close()
    # The undated copy stored first, then a dated one.
    archive = make_archive(tmp_path / "prima-senza-data")
    try:
        for n, record in enumerate([undated, dict(first, id="datata", source="La Voce")]):
            source = tmp_path / f"prima-{n}.jsonl"
            source.write_text(json.dumps(record, ensure_ascii=False) + "\n")
            assert archive.import_paths([source]).added == 1
        assert ids(archive.copies("senza-data")) == ["datata"]
    finally:
        archive.close()


def test_a_redated_article_is_found_at_its_new_date(tmp_path, make_archive):
    """The store filters a band's holders by the date kept with the band:
    an article whose date is corrected moves its bands, so a copy near the
    new date finds it and one near the old date does not."""
    first = articles()[0]  # frana-agenzia
    steps = [
        dict(first, date="2024-11-20"),  # entered with a wrong date
        dict(first, date="2024-11-04"),  # corrected: updated in place
        dict(first, id="vicina", date="2024-11-06", source="La Voce"),
        dict(first, id="lontana", date="2024-11-21", source="Radio Valle"),
    ]
    archive = make_archive(tmp_path)
    try:
        for n, record in enumerate(steps):
            source = tmp_path / f"{n}.jsonl"
            source.write_text(json.dumps(record, ensure_ascii=False) + "\n")
            report = archive.import_paths([source])
            assert (report.added, report.updated) == ((0, 1) if n == 1 else (1, 0))
        assert ids(archive.copies("frana-agenzia")) == ["vicina"]
        assert archive.copies("lontana") == []
    finally:
        archive.close()


@pytest.mark.whoosh_only(reason="the SQLite store's own schema version")
def test_a_store_of_undated_bands_gets_their_dates(tmp_path, make_archive):
    """A store of version 2 (story bands without dates) is migrated on
    opening: the same bands, each with its article's date ('' undated), and
    stories are still found through them."""
    source = tmp_path / "storie.jsonl"
    first = articles()[0]
    undated = {k: v for k, v in dict(first, id="senza-data", source="Radio Valle").items() if k != "date"}
    source.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in [*articles()[:3], undated]) + "\n")
    archive = make_archive(tmp_path)
    try:
        assert archive.import_paths([source]).added == 4
    finally:
        archive.close()
    db = sqlite3.connect(tmp_path / "data" / "archive.sqlite")
    dated = db.execute("SELECT key, date, id FROM story_bands ORDER BY 1, 2, 3").fetchall()
    assert len(dated) == 4 * 16 and {d for _, d, _ in dated} == {"2024-11-04", "2024-11-05", ""}
    with db:
        db.executescript(
            """CREATE TABLE old_bands (key INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, id))
                   WITHOUT ROWID;
               INSERT INTO old_bands SELECT key, id FROM story_bands;
               DROP TABLE story_bands;
               ALTER TABLE old_bands RENAME TO story_bands;
               PRAGMA user_version=2;"""
        )
    db.close()
    archive = make_archive(tmp_path)
    try:
        assert ids(archive.copies("frana-agenzia")) == ["senza-data", "frana-quotidiano", "frana-sito"]
        db = sqlite3.connect(tmp_path / "data" / "archive.sqlite")
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        assert db.execute("SELECT key, date, id FROM story_bands ORDER BY 1, 2, 3").fetchall() == dated
        db.close()
        late = dict(first, id="tre-giorni", date="2024-11-07", source="Il Giornale del Lago")
        source.write_text(json.dumps(late, ensure_ascii=False) + "\n")
        assert archive.import_paths([source]).added == 1
        assert "tre-giorni" in ids(archive.copies("frana-agenzia"))
    finally:
        archive.close()
