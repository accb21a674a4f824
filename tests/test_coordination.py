"""The graded fallback's coordination: when no article holds every word,
one holding more of them outranks one holding fewer, rarer ones.

A small archive written for these tests (fictional news), on both backends.
"""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

QUERY = "pastore gregge transumanza alpeggio"
# Three of the four words, two of them common in the archive.
THREE = "Il pastore e il gregge salgono all'alpeggio"
# Two of the four words, both rare: "transumanza" is nowhere else.
TWO_RARE = "La transumanza arriva all'alpeggio"


def _records() -> list[dict]:
    """30 articles: THREE, TWO_RARE, 8 with "pastore", 8 with "gregge", 12 with none of the words."""
    bodies = [
        (THREE, "Il pastore guida il gregge fino all'alpeggio sopra il paese, come ogni estate."),
        (TWO_RARE, "La transumanza attraversa la valle fino all'alpeggio: la transumanza piace."),
    ]
    for n in range(8):
        bodies.append((f"Notizia {n}: il pastore", f"Il pastore del paese racconta la sua giornata ({n})."))
        bodies.append((f"Notizia {n}: il gregge", f"Il gregge pascola vicino al fiume, giorno {n}."))
    for n in range(12):
        bodies.append((f"Notizia {n}: il bilancio", f"Il consiglio comunale approva il bilancio numero {n}."))
    return [
        {"id": f"c{n:02d}", "title": title, "body": body, "author": "Anna Neri", "category": "cronaca",
         "date": f"2021-05-{n % 28 + 1:02d}"}
        for n, (title, body) in enumerate(bodies)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def folder(folder_of):
    """The folder of the test archive (see conftest.folder_of)."""
    return folder_of("coordination", _records())


@pytest.fixture(scope="module")
def archive(folder, make_archive):
    archive = make_archive(folder)
    yield archive
    archive.close()


def _titles(result) -> list[str]:
    return [h.article.title for h in result.hits]


def test_more_words_outrank_fewer_rarer_ones(archive):
    result = archive.search(QUERY)
    assert result.fallback and result.exact_total == 0
    # Every article with any of the words: the two, 8 + 8 with one common word.
    assert result.total == 18
    titles = _titles(result)
    assert titles[:2] == [THREE, TWO_RARE]
    assert not any(h.all_words for h in result.hits)


def test_without_coordination_the_rarer_words_win(folder, make_archive):
    """The same archive without the coordination factor (exponent 0): the
    two rare words outweigh the three; what the factor corrects."""
    plain = make_archive(folder, ranking=Ranking(coord_exponent=0.0))
    try:
        assert _titles(plain.search(QUERY))[:2] == [TWO_RARE, THREE]
    finally:
        plain.close()
