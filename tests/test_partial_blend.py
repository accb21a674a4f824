"""When fewer than FILL_BELOW articles hold every word, the articles holding
only some are ranked together with them (their score scaled by
Ranking.partial_weight; on PostgreSQL, pg_partial_weight): a much better
partial match comes first. Not when
the reader quoted a phrase, nor when sorting by date. A small archive of
fictional news, on both backends."""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

FILLER = (
    "Il consiglio comunale si è riunito ieri sera per discutere del bilancio, delle scuole, "
    "dei parcheggi del centro e del nuovo regolamento per i mercati rionali. "
)
RECORDS = [
    # Every word of the query, once, in a long article about something else.
    {
        "id": "tutte",
        "title": "Consiglio comunale, approvato il bilancio",
        "body": FILLER * 6 + "In chiusura si è parlato anche della frana sulla strada per la Valtellina.",
        "date": "2023-04-01",
    },
    # Two of the three words, all about them: the article a reader means.
    {
        "id": "alcune",
        "title": "Frana sulla strada provinciale",
        "body": "Una frana è caduta sulla strada provinciale. La frana ha bloccato la strada per ore; "
        "i tecnici temono una nuova frana.",
        "date": "2023-03-01",
    },
    *(
        {"id": f"altro{n}", "title": f"Dal comune {n}", "body": FILLER, "date": f"2023-01-{n + 1:02d}"}
        for n in range(8)
    ),
]
QUERY = "frana strada valtellina"


@pytest.fixture(scope="module")
def folder(folder_of):
    return folder_of("partial_blend", RECORDS)


def ranked(folder, make_archive, text: str = QUERY, ranking: Ranking | None = None, **options):
    archive = make_archive(folder, ranking=ranking or Ranking())
    try:
        result = archive.search(text, **options)
        return result, [(h.article.id, h.all_words) for h in result.hits]
    finally:
        archive.close()


def test_a_much_better_partial_match_comes_first(folder, make_archive):
    result, hits = ranked(folder, make_archive)
    assert (result.total, result.exact_total) == (2, 1)
    assert hits == [("alcune", False), ("tutte", True)]
    # Its score is scaled by partial_weight: shown scores still go down the list.
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_with_no_weight_every_all_words_article_comes_first(folder, make_archive):
    result, hits = ranked(folder, make_archive, ranking=Ranking(partial_weight=0.0, pg_partial_weight=0.0))
    assert (result.total, result.exact_total) == (2, 1)
    assert hits == [("tutte", True), ("alcune", False)]


def test_each_backend_scales_by_its_own_weight(folder, make_archive, backend):
    # Only the whoosh weight off: whoosh keeps the groups apart, PostgreSQL still blends.
    _, hits = ranked(folder, make_archive, ranking=Ranking(partial_weight=0.0))
    blended = [("alcune", False), ("tutte", True)]
    assert (hits == blended) == (backend == "postgres")
    # And the other way round.
    _, hits = ranked(folder, make_archive, ranking=Ranking(pg_partial_weight=0.0))
    assert (hits == blended) == (backend == "whoosh")


def test_a_quoted_phrase_keeps_the_articles_holding_everything_first(folder, make_archive):
    result, hits = ranked(folder, make_archive, '"frana sulla strada" valtellina')
    assert result.exact_total == 1
    assert hits[0] == ("tutte", True)
    assert ("alcune", False) in hits


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorted_by_date_the_articles_with_every_word_come_first(folder, make_archive, sort):
    result, hits = ranked(folder, make_archive, sort=sort)
    assert hits == [("tutte", True), ("alcune", False)]


def test_paging_cuts_the_same_blended_list(folder, make_archive):
    _, whole = ranked(folder, make_archive)
    first, one = ranked(folder, make_archive, per_page=1)
    second, two = ranked(folder, make_archive, per_page=1, page=2)
    assert one + two == whole
    assert (first.total, second.total) == (2, 2)
