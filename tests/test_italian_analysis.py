"""Italian analysis, version 2, end to end on small archives of both backends:
accents, stop words, decomposed text, apostrophes, elisions, compounds,
thousands, highlights, and the analysis version that `check` reports."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from archivio.search import Archive
from archivio.search.analysis import ANALYSIS_VERSION, AnalysisConfig
from archivio.search.snippets import highlight_all

from .conftest import ROOT, archive_env

pytestmark = pytest.mark.both_backends

RECORDS = [
    {"id": "sanita", "title": "La sanità pubblica", "body": "Tagli alla sanità in Calabria."},
    {"id": "sanita-apostrofo", "title": "Riforma", "body": "La sanita' e' al collasso."},
    {"id": "sano", "title": "Un uomo sano", "body": "A San Marco e a San Giorgio, sani e salvi."},
    {"id": "novita", "title": "Le novità del decreto", "body": "Tutte le novità in vigore."},
    {"id": "nove", "title": "Nove feriti", "body": "Nove persone ferite il 17 nov. scorso."},
    {"id": "accetta", "title": "Il sindaco accetta", "body": "Il sindaco accetta la proposta."},
    {"id": "accettera", "title": "Il sindaco accetterà", "body": "Domani accetterà la proposta."},
    {"id": "sara", "title": "Sara racconta", "body": "Sara Rossi ha vinto la gara."},
    {"id": "futuro", "title": "Il tempo", "body": "Domani sarà una giornata di sole, farò una gita."},
    {"id": "faro", "title": "Il faro del porto", "body": "Restaurato il vecchio faro."},
    {"id": "fosse", "title": "Fosse Ardeatine", "body": "La commemorazione alle Fosse Ardeatine."},
    {"id": "chi-sono", "title": "Chi sono io", "body": "Un libro: chi sono io, si chiede l'autore."},
    {"id": "perez-nfd", "title": "Pe\u0301rez vince", "body": "Il tennista Pe\u0301rez in finale."},
    {"id": "ucraina-modifier", "title": "Guerra", "body": "La Russia e l\u02bcUcraina trattano."},
    {"id": "ucraina-ascii", "title": "Tregua", "body": "Tregua per l'Ucraina orientale."},
    {"id": "santanna", "title": "Ospedale Sant'Anna", "body": "Nuovo reparto al Sant’Anna."},
    {"id": "anna", "title": "Anna Bianchi", "body": "Anna racconta la sua storia."},
    {"id": "cd-hyphen", "title": "Il centro-destra vince", "body": "Vittoria netta dei no-vax anti-Covid."},
    {"id": "cd-joined", "title": "Il centrodestra vince", "body": "I novax e il fronte anticovid."},
    {"id": "cd-spaced", "title": "Il centro destra", "body": "Parità al ballottaggio."},
    {"id": "f35-hyphen", "title": "Caccia F-35, i dati", "body": "Nuovi ordini."},
    {"id": "f35-joined", "title": "Bollettino F35", "body": "Calano i costi."},
    {"id": "mille", "title": "Premio", "body": "Un premio di 1.000 euro e 1.000.000 di visite."},
    {"id": "numeri", "title": "Dati", "body": "Crescita dell'1,5 per cento il 12.3.2020, contro 1000 e 15."},
]


@pytest.fixture(scope="module")
def archive(archive_of):
    return archive_of("italiano", RECORDS)


def ids(archive, query: str) -> list[str]:
    """The ids of all the articles holding every word of `query`, sorted."""
    result = archive.search(query, per_page=50, facets=False)
    return sorted(h.article.id for h in result.hits[: result.exact_total])


@pytest.mark.parametrize(
    "query, expected",
    [
        # Stems of the accented words: sanità is not san (sano, San Marco).
        ("sanità", ["sanita", "sanita-apostrofo"]),
        ("sanita", ["sanita", "sanita-apostrofo"]),  # the accent an unaccented final vowel stands for
        ("novità", ["novita"]),
        ("novita", ["novita"]),
        ("nove", ["nove"]),
        # "sanita'" (an accent typed as an apostrophe) is the word sanita as
        # written: found by "sanità" as written, and stemmed as sanita (san).
        ("sano", ["sanita-apostrofo", "sano"]),
        ("accetterà", ["accetta", "accettera"]),  # the future meets its verb
        ("accetta", ["accetta", "accettera"]),
    ],
)
def test_accented_words_keep_their_own_stem(archive, query, expected):
    assert ids(archive, query) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Sara", ["sara"]),  # "sarà" is a stop word, Sara is not
        ('"Sara"', ["sara"]),
        ("titolo:Sara", ["sara"]),
        ("faro", ["faro"]),  # "farò" is
        ("Fosse Ardeatine", ["fosse"]),
        # Only stop words (or names that are stop words too): searched as written.
        ("Fosse", ["fosse"]),
        ('"Fosse"', ["fosse"]),
        ("chi sono io", ["chi-sono"]),
        ("sarà", ["futuro", "sara"]),  # as written, folded: sarà and Sara alike
    ],
)
def test_stop_words_are_decided_before_folding(archive, query, expected):
    assert ids(archive, query) == expected


def test_a_query_of_stop_words_and_exclusions_is_still_refused(archive):
    from archivio.search import QueryError

    with pytest.raises(QueryError, match="parole comuni"):
        archive.search("-sanità")


@pytest.mark.parametrize("query", ["Perez", "Pérez", "Pe\u0301rez", "PÉREZ"])
def test_decomposed_text_and_queries_are_composed(archive, query):
    assert ids(archive, query) == ["perez-nfd"]


def test_imported_text_is_stored_composed(archive):
    assert archive.get("perez-nfd").title == "Pérez vince"


@pytest.mark.parametrize("query", ["Ucraina", "l'Ucraina", "l\u02bcUcraina", "l´Ucraina", "l’Ucraina"])
def test_every_apostrophe_is_an_apostrophe(archive, query):
    assert ids(archive, query) == ["ucraina-ascii", "ucraina-modifier"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Sant'Anna", ["santanna"]),
        ('"Sant\'Anna"', ["santanna"]),
        ("Sant’Anna", ["santanna"]),
        ("Anna", ["anna", "santanna"]),
    ],
)
def test_sant_is_kept(archive, query, expected):
    assert ids(archive, query) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("centro-destra", ["cd-hyphen", "cd-joined", "cd-spaced"]),  # and "centro destra"
        ("centrodestra", ["cd-hyphen", "cd-joined"]),
        ('"il centro-destra vince"', ["cd-hyphen", "cd-joined"]),
        ('"il centrodestra vince"', ["cd-joined"]),
        ('"centro destra"', ["cd-hyphen", "cd-spaced"]),
        ("destra", ["cd-hyphen", "cd-spaced"]),
        ("novax", ["cd-hyphen", "cd-joined"]),
        ("no-vax", ["cd-hyphen", "cd-joined"]),
        ("anticovid", ["cd-hyphen", "cd-joined"]),
        ("anti-Covid", ["cd-hyphen", "cd-joined"]),
        ("f35", ["f35-hyphen", "f35-joined"]),
        ("F-35", ["f35-hyphen", "f35-joined"]),
    ],
)
def test_joined_and_split_spellings_meet(archive, query, expected):
    assert ids(archive, query) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("1000", ["mille", "numeri"]),
        ("1.000", ["mille", "numeri"]),
        ("1000000", ["mille"]),
        ("1.000.000", ["mille"]),
        ("1,5", ["numeri"]),
        ("15", ["numeri"]),  # not 1,5
        ("12.3.2020", ["numeri"]),
        ("1232020", []),
    ],
)
def test_thousands_separators_and_nothing_else(archive, query, expected):
    assert ids(archive, query) == expected


@pytest.mark.parametrize(
    "query, article, marked",
    [
        ("centrodestra", "cd-hyphen", ["centro-destra"]),
        ("destra", "cd-hyphen", ["destra"]),
        ("Ucraina", "ucraina-modifier", ["Ucraina"]),
        ("Sant'Anna", "santanna", ["Sant'Anna", "Sant’Anna"]),
        ("sanità", "sanita", ["sanità", "sanità"]),
        ("Perez", "perez-nfd", ["Pérez", "Pérez"]),
        ("1000", "mille", ["1.000"]),
    ],
)
def test_highlights_mark_the_reader_s_words(archive, query, article, marked):
    found = archive.get(article)
    text = found.title + "\n" + found.body
    segments = highlight_all(text, archive.highlight_terms(query))
    assert [t for t, m in segments if m] == marked


def test_a_fresh_archive_is_of_the_current_analysis(archive):
    report = archive.check()
    assert report["ok"] and report["outdated"] is None
    assert report["analysis"] == ANALYSIS_VERSION


def run_cli(folder, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "cli.py"), "--data-dir", str(folder / "data"),
           "--index-dir", str(folder / "index"), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=archive_env(folder))


def _write(folder, records) -> object:
    path = folder / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.whoosh_only(reason="a whoosh index records its analysis in its schema")
def test_an_index_of_an_older_analysis_answers_with_it_until_rebuilt(tmp_path):
    old = Archive(tmp_path / "data", tmp_path / "index", analysis=AnalysisConfig(version=1))
    assert old.import_paths([_write(tmp_path, RECORDS)]).added == len(RECORDS)
    old.close()
    archive = Archive(tmp_path / "data", tmp_path / "index")  # today's code on that index
    report = archive.check()
    assert not report["ok"] and report["analysis"] == 1
    assert "archivio rebuild" in report["outdated"]
    # Its queries are analysed as its articles were: consistent, as before.
    assert ids(archive, "sanità") == ["sanita", "sanita-apostrofo", "sano"]
    assert ids(archive, "Anna") == ["anna", "santanna"]
    # An incremental import into it uses its analysis too.
    more = tmp_path / "more"
    more.mkdir()
    extra = {"id": "sanita-2", "title": "Sanità in crisi", "body": "Ospedali."}
    assert archive.import_paths([_write(more, [extra])]).added == 1
    assert ids(archive, "sanità") == ["sanita", "sanita-2", "sanita-apostrofo", "sano"]
    result = run_cli(tmp_path, "check")
    assert result.returncode == 1
    assert "analisi del testo precedente (versione 1, attuale 2)" in result.stdout
    assert "esegui `archivio rebuild`" in result.stderr
    assert run_cli(tmp_path, "check", "--fix").returncode == 0
    assert archive.check()["ok"] and archive.check()["analysis"] == ANALYSIS_VERSION
    assert ids(archive, "sanità") == ["sanita", "sanita-2", "sanita-apostrofo"]
    archive.close()


def test_postgres_rows_of_an_older_analysis_are_reported_until_rebuilt(tmp_path, make_archive, backend):
    if backend != "postgres":
        pytest.skip("PostgreSQL records the analysis of each row (whoosh: the test above)")
    archive = make_archive(tmp_path)
    archive.import_paths([_write(tmp_path, RECORDS)])
    with psycopg.connect(archive.db.dsn, autocommit=True) as conn:
        conn.execute("UPDATE articles SET analysis = NULL WHERE id IN ('sanita', 'sano')")
    report = archive.check()
    assert not report["ok"]
    assert report["outdated"].startswith("2 articoli sono indicizzati con un'analisi del testo precedente")
    result = run_cli(tmp_path, "check")
    assert result.returncode == 1 and "2 articoli" in result.stdout
    assert archive.rebuild() == len(RECORDS)
    assert archive.check()["ok"]
    with psycopg.connect(archive.db.dsn) as conn:
        versions = conn.execute("SELECT DISTINCT analysis FROM articles").fetchall()
    assert versions == [(ANALYSIS_VERSION,)]
    archive.close()
