"""Typo tolerance on a noisy archive (issue 13, point 4), on both backends.

One archive holds a word in 520 articles ("coronavirus") next to its
misspellings, found once each, and the other classes of the issue: correct
Italian words the archive lacks, correct words next to a rarer spelling,
and rare names next to common words. Its size is what the rule needs: a
word found once is taken for a misspelling only next to a close spelling
in TYPO_RATIO (500) times as many articles.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archivio.search.dictionary import italian
from archivio.search.spelling import RESPELL_RATIO, TYPO_RATIO

from .conftest import ROOT, archive_env

pytestmark = pytest.mark.both_backends

needs_dictionary = pytest.mark.skipif(
    not italian().available, reason=f"dizionario italiano assente: {italian().reason}"
)

COMMON = 520  # articles with "coronavirus": more than TYPO_RATIO


def article(id_: str, title: str, body: str, date: str = "2020-06-01") -> dict:
    return {"id": id_, "title": title, "body": body, "date": date}


def day(n: int) -> str:
    return f"2020-07-{1 + n:02d}"


def bulletin(i: int) -> dict:
    city = "Milano" if i % 5 == 0 else "Torino"
    later = " Nei prossimi giorni nuove misure." if i % 2 == 0 else ""
    return article(
        f"bollettino-{i}",
        f"Coronavirus, bollettino {i}",
        f"Il bollettino del coronavirus di oggi. Casi a {city}.{later}",
        f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
    )


def repeated(prefix: str, n: int, title: str, body: str) -> list[dict]:
    """`n` articles alike but for their date (so none is a duplicate)."""
    return [article(f"{prefix}-{k}", title, body, day(k)) for k in range(n)]


ARTICLES = [
    *(bulletin(i) for i in range(COMMON)),
    # Misspellings, found once each.
    article("refuso-milano", "Coronavirs, nuovi casi a Milano", "Un refuso nel titolo, i casi sono veri."),
    article("refuso-torino", "Corovirus: il sindaco di Torino chiude i parchi", "Parchi chiusi."),
    # The word's synonym alone ("covid" for "coronavirus").
    article("covid-genova", "Covid, casi in calo a Genova", "Il bollettino della Liguria."),
    # Correct words the archive lacks have close words it holds.
    article("aereo", "L'aereo precipitò nel lago", "Il piccolo aereo precipitò ieri sera."),
    article("ventenne", "Un ventenne arrestato a Bari", "Il ragazzo è stato fermato dalla polizia."),
    # Correct words next to a rarer spelling that meets other words.
    *repeated("valle", 3, "Neve in valle, strade chiuse", "La strada della valle resta chiusa."),
    article("vale", "Ne vale la pena, dice il sindaco", "Il sindaco: ne vale la pena."),
    *repeated("scuola", 3, "Bambini accompagnati a scuola", "I bambini sono accompagnati dai nonni."),
    article("questura", "Migranti accompgnati in questura", "Il gruppo è stato identificato."),
    # A rare surname next to a rarer spelling, and next to a common word.
    *repeated("rizzuto", 3, "Il sindaco Rizzuto inaugura il ponte", "Festa in paese."),
    article("rizzutto", "Rizzutto sepolto a Noto", "I funerali si sono svolti ieri."),
    *repeated("liguori", 3, "L'avvocato Liguori presenta ricorso", "Udienza a novembre."),
    *repeated("liguri", 12, "I liguri e il mare", "Spiagge piene nel fine settimana."),
    article("giorgi", "La tennista Giorgi vince a Palermo", "Finale in due set."),
    # A misspelt name, once, next to its spelling in six articles.
    *repeated("lamorgese", 5, "La ministra Lamorgese a Roma", "Vertice sulla sicurezza."),
    article("lamorgese-spaccio", "Lamorgese: piano contro lo spaccio", "Più controlli nelle piazze."),
    article("lamoregese", "Lamoregese in visita al carcere", "Incontro con i detenuti."),
]


@pytest.fixture(scope="module")
def archive(archive_of):
    return archive_of("typos", ARTICLES)


def ids(result) -> list[str]:
    return [h.article.id for h in result.hits]


def test_the_archive_holds_what_the_rule_needs():
    assert COMMON > TYPO_RATIO
    assert RESPELL_RATIO * 3 > 12 and RESPELL_RATIO <= 6


def test_a_misspelling_found_once_is_corrected_towards_the_frequent_spelling(archive):
    result = archive.search("coronavirs milano")
    assert result.suggestion == "coronavirus milano"
    # The query is corrected: the misspelt article and every coronavirus one in Milano.
    assert result.exact_total == COMMON // 5 + 1 and not result.fallback
    assert ids(result)[0] == "refuso-milano"  # the word as typed, rarer, ranks first


@pytest.mark.parametrize("typed", ["coronvirus milano", "coronavrus milano"])
def test_a_missing_misspelling_gets_the_frequent_spelling_not_another_misspelling(archive, typed):
    # "coronvirus" is one edit from "corovirus" (1 article) and "coronavirus" (520).
    result = archive.search(typed)
    assert result.suggestion == "coronavirus milano"
    assert result.exact_total == COMMON // 5 and not result.fallback


def test_a_rare_misspelling_alone_is_corrected_too(archive):
    result = archive.search("corovirus")
    assert result.suggestion == "coronavirus"
    # Itself, the 520 bulletins and the article that says "covid".
    assert result.exact_total == COMMON + 2


@pytest.mark.parametrize("typed", ["coronavrus genova", "corovirus genova"])
def test_a_corrected_word_brings_the_synonyms_of_its_spelling(archive, typed):
    assert archive.search("coronavirus genova").exact_total == 1
    result = archive.search(typed)
    assert result.suggestion == "coronavirus genova"
    assert result.exact_total == 1 and ids(result)[0] == "covid-genova"


@needs_dictionary
@pytest.mark.parametrize("typed", ["precipizio", "ventunenne", "precipizio lago"])
def test_an_italian_word_the_archive_lacks_is_not_corrected(archive, typed):
    # The archive holds "precipito" and "ventenne", two edits away.
    result = archive.search(typed)
    assert result.suggestion is None
    if " " not in typed:
        assert result.total == 0


@needs_dictionary
@pytest.mark.parametrize(
    "typed, rarer",
    [("valle pena", "vale"), ("accompagnati questura", "accompgnati")],
)
def test_an_italian_word_is_never_respelled(archive, typed, rarer):
    # No article holds both words; respelled by a slip they would meet, once.
    result = archive.search(typed)
    assert result.suggestion is None and result.exact_total == 0 and result.fallback
    assert rarer not in result.parsed.highlight.stems


def test_a_name_is_not_respelled_into_a_rarer_spelling(archive):
    # "rizzutto" (1 article) meets "sepolto"; "rizzuto" (3 articles) does not.
    result = archive.search("rizzuto sepolto")
    assert result.suggestion is None and result.exact_total == 0 and result.fallback
    assert ids(result)[0] == "rizzutto"  # found by its other word all the same


def test_a_name_is_not_respelled_into_a_word_only_a_little_commoner(archive):
    # "liguri" is in 12 articles, "liguori" in 3: fewer than RESPELL_RATIO times as many.
    result = archive.search("liguori spiagge")
    assert result.suggestion is None and result.exact_total == 0


def test_a_rare_name_is_not_corrected_into_a_common_word(archive):
    # "giorgi" (1 article) is one edit from "giorni" (260): not TYPO_RATIO times as many.
    for typed in ("giorgi", "tennista giorgi"):
        result = archive.search(typed)
        assert result.suggestion is None
        assert ids(result) == ["giorgi"] and result.total == 1


def test_a_misspelt_name_is_respelled_towards_a_much_commoner_spelling(archive):
    # "lamoregese" (1 article) never meets "spaccio"; "lamorgese" (6 articles) does.
    result = archive.search("lamoregese spaccio")
    assert result.suggestion == "lamorgese spaccio"
    assert ids(result)[0] == "lamorgese-spaccio" and result.exact_total == 1


def test_without_the_dictionary_search_still_works_and_says_so(tmp_path, make_archive):
    """A machine without hunspell-it: the command line warns in Italian, and
    typo tolerance rests on the archive's frequencies alone (so the missing
    "precipizio" is taken for a typo of "precipito")."""
    records = tmp_path / "articoli.jsonl"
    records.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES if a["id"] in ("aereo", "giorgi")))
    archive = make_archive(tmp_path)
    assert archive.import_paths([records]).added == 2
    archive.close()
    env = archive_env(tmp_path)
    env["ARCHIVIO_DICTIONARY"] = str(tmp_path / "assente" / "it_IT")
    cmd = [
        sys.executable,
        str(ROOT / "cli.py"),
        "--data-dir",
        str(tmp_path / "data"),
        "--index-dir",
        str(tmp_path / "index"),
        "query",
        "precipizio",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "Forse cercavi: precipito" in result.stdout
    assert "dizionario" in result.stderr and "hunspell-it" in result.stderr
    assert "Traceback" not in result.stderr
