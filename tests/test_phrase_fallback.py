"""A quoted phrase remembered with a small variation ("è mia proprietà"
for "è di mia proprietà"): in the fallback the phrase also counts as its
words, so the article with the real quote is found; the exact phrase still
counts as one more group, so it outranks its words scattered.

A small archive written for these tests (fictional news), on both backends.
"""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

RECORDS = {
    # The real quote has "di", which the reader forgets.
    "q": "Il sindaco: «questa piazza è di tutti i cittadini», poi la festa",
    "v": "Il sindaco, il sindaco e ancora il sindaco al consiglio comunale",
    "e": "La piazza dei cittadini è stata rifatta",
    "s": "I cittadini tornano in piazza",
    "l": "I lavori in corso sulla strada provinciale",
    **{f"m{n}": f"Il mercato del lunedì numero {n}: frutta e verdura" for n in range(10)},
    **{f"b{n}": f"Il consiglio approva il bilancio numero {n}" for n in range(10)},
}


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {ident}", "body": body, "date": f"2022-03-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("frasi", rows)


@pytest.fixture(scope="module")
def archive(folder, make_archive):
    archive = make_archive(folder)
    yield archive
    archive.close()


def ids(result) -> list[str]:
    return [h.article.id for h in result.hits]


QUOTE_WITHOUT_DI = '"questa piazza è tutti i cittadini" sindaco'


def test_a_quote_remembered_with_a_variation_finds_the_article(archive):
    # Groups: the phrase (held by none), piazza, cittadini, sindaco.
    result = archive.search(QUOTE_WITHOUT_DI)
    assert result.exact_total == 0 and result.fallback
    # q holds three groups, e and s two, v one.
    assert result.total == 4
    assert ids(result)[0] == "q" and ids(result)[-1] == "v"
    assert set(ids(result)[1:3]) == {"e", "s"}


def test_without_relaxing_only_the_other_word_matches(folder, make_archive):
    """What the relaxation corrects: the phrase alone as a group, held by
    none, leaves "sindaco" to decide (v says it three times)."""
    strict = make_archive(folder, ranking=Ranking(relax_phrases=False))
    try:
        result = strict.search(QUOTE_WITHOUT_DI)
        assert result.total == 2 and sorted(ids(result)) == ["q", "v"]
    finally:
        strict.close()


def test_the_exact_phrase_outranks_its_words_scattered(archive):
    # Groups: the phrase (e holds it), piazza, cittadini, lavori (l).
    result = archive.search('"piazza dei cittadini" lavori')
    assert result.exact_total == 0
    assert ids(result)[0] == "e"
    assert set(ids(result)[1:3]) == {"q", "s"} and ids(result)[3] == "l"
    assert result.total == 4


def test_a_lone_phrase_stays_exact(archive):
    """Quotes alone ask for those words in that order: nothing else joins."""
    assert archive.search('"piazza del popolo dei cittadini"').total == 0
    result = archive.search('"piazza dei cittadini"')
    assert (result.total, result.exact_total, ids(result)) == (1, 1, ["e"])


def test_a_phrase_found_as_typed_comes_first(archive):
    """e holds the phrase and "rifatta": fewer than FILL_BELOW hold both,
    so those holding some of the groups follow."""
    result = archive.search('"piazza dei cittadini" rifatta')
    assert result.exact_total == 1
    assert ids(result)[0] == "e" and [h.all_words for h in result.hits][:2] == [True, False]
