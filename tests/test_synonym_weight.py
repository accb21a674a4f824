"""A word's synonyms are alternatives, not extra words: an article holding
two synonyms of a word scores as the better of them, not their sum. A small
archive written for these tests (fictional news), on both backends."""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

RECORDS = {
    # The typed word once.
    "word": "Nuovi casi di coronavirus in provincia, dice il bollettino di oggi",
    # Two of its synonyms (search/data/sinonimi.txt), once each, same length.
    "synonyms": "Nuovi casi di covid in provincia, dice il bollettino sars-cov-2",
    **{f"x{n}": f"Il consiglio approva il bilancio numero {n}" for n in range(12)},
}


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {n}", "body": body, "date": f"2022-05-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("sinonimi", rows)


def ranked(folder, make_archive, **ranking) -> list[str]:
    archive = make_archive(folder, ranking=Ranking(**ranking))
    try:
        result = archive.search("coronavirus provincia")
        assert result.total == 2
        return [h.article.id for h in result.hits]
    finally:
        archive.close()


def test_two_synonyms_weigh_as_one_word(folder, make_archive):
    assert ranked(folder, make_archive) == ["word", "synonyms"]


@pytest.mark.whoosh_only(reason="PostgreSQL ranks a word's alternatives as one tsquery: never a sum")
def test_summed_alternatives_outweigh_the_word_itself(folder, make_archive):
    """What max-combining corrects: summed, the two synonyms beat the word."""
    assert ranked(folder, make_archive, max_alternatives=False, exact_form_boost=0.0) == ["synonyms", "word"]
