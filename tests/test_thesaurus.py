"""The thesaurus (search.thesaurus) only ranks the fallback: an article
holding a synonym of a missing word comes before one that doesn't; it
never makes an article a match, nor counts as a word held, so counts are
those without it. A thesaurus file and an archive written for these tests
(fictional news, MyThes format), on both backends."""

from __future__ import annotations

import pytest

import archivio.search.thesaurus as thesaurus_module
from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

THESAURUS = """UTF-8
papa|2
(s.m.)|pontefice|santo padre|vescovo di Roma
(s.m. Padre)|babbo
pontefice|1
(s.m.)|papa
"""

RECORDS = {
    # Two of the three words, and "pontefice" for the third.
    "sinonimo": "Il pontefice ha pregato in una piazza deserta, tra la pioggia e il silenzio, "
    "ricordando le vittime della pandemia in ogni paese del mondo.",
    # The same two words, a text a little shorter: lexically the better of the two.
    "parole": "La banda ha suonato in una piazza deserta, tra la pioggia e il silenzio, "
    "ricordando le vittime della pandemia in ogni paese.",
    # Only the synonym: no word of the query.
    "solo": "Il pontefice in visita a Lisbona incontra i giovani.",
    # Twelve articles holding both words of "consiglio bilancio": at least
    # FILL_BELOW (10), so no partial match is ranked for that query.
    **{f"x{n}": f"Il consiglio approva il bilancio del comune di Paese {n}" for n in "abcdefghijkl"},
}
QUERY = "papa piazza vittime"


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {ident}", "body": body, "date": f"2022-07-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("tesauro", rows)


@pytest.fixture
def thesaurus(tmp_path, monkeypatch):
    path = tmp_path / "th_test.dat"
    path.write_text(THESAURUS, encoding="utf-8")
    monkeypatch.setenv("ARCHIVIO_THESAURUS", str(path))
    return path


def search(folder, make_archive, text: str = QUERY, **ranking):
    archive = make_archive(folder, ranking=Ranking(**ranking))
    try:
        return archive.search(text, facets=False)
    finally:
        archive.close()


def test_a_synonym_of_a_missing_word_ranks_its_article_first(folder, make_archive, thesaurus):
    result = search(folder, make_archive)
    assert result.exact_total == 0
    assert [h.article.id for h in result.hits] == ["sinonimo", "parole"]


def test_without_it_the_words_alone_rank(folder, make_archive, thesaurus):
    result = search(folder, make_archive, thesaurus_weight=0.0)
    assert [h.article.id for h in result.hits] == ["parole", "sinonimo"]


def test_without_the_file_nothing_changes(folder, make_archive, monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVIO_THESAURUS", str(tmp_path / "assente.dat"))
    result = search(folder, make_archive)
    assert [h.article.id for h in result.hits] == ["parole", "sinonimo"]


def test_it_never_matches_nor_counts_as_a_word(folder, make_archive, thesaurus):
    with_it, without = search(folder, make_archive), search(folder, make_archive, thesaurus_weight=0.0)
    assert (with_it.total, with_it.exact_total) == (without.total, without.exact_total) == (2, 0)
    # "pontefice piazza" is held whole by one article; "papa piazza" by none.
    assert search(folder, make_archive, "papa piazza").exact_total == 0
    alone = search(folder, make_archive, "papa giovani")  # "solo" holds pontefice and giovani
    assert alone.exact_total == 0
    assert [(h.article.id, h.all_words) for h in alone.hits] == [("solo", False)]


def test_it_is_read_only_when_partial_matches_are_ranked(folder, make_archive, thesaurus):
    """A search most articles answer whole never reads the thesaurus (its
    first read cost every CLI query 0.5 s before it was made lazy)."""
    thesaurus_module._load.cache_clear()
    assert search(folder, make_archive, "consiglio bilancio").exact_total == 12
    assert thesaurus_module._load.cache_info().currsize == 0
    search(folder, make_archive)  # falls back: now it is read
    assert thesaurus_module._load.cache_info().currsize == 1


def test_its_first_read_is_not_charged_to_the_ranking_budget(folder, make_archive, tmp_path, monkeypatch):
    """A thesaurus four times Debian's takes ~1 s to read, past the whole
    ranking budget (0.35 s of CPU): read before the budget starts, the
    first fallback search is ranked, not cut and listed by date."""
    path = tmp_path / "th_grande.dat"
    filler = "".join(f"voce{n}|1\n(s.m.)|lemma{n}\n" for n in range(100_000))
    path.write_text(THESAURUS + filler, encoding="utf-8")
    monkeypatch.setenv("ARCHIVIO_THESAURUS", str(path))
    thesaurus_module._load.cache_clear()
    result = search(folder, make_archive)
    assert not result.cut
    assert [h.article.id for h in result.hits] == ["sinonimo", "parole"]
