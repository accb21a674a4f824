"""Synonym groups are met by stem too (Ranking.synonyms_by_stem): a form of
a listed word that the file doesn't write ("pompiere", "vigile del fuoco")
finds what the listed form finds. A small archive of fictional news, on
both backends; the groups are the shipped list's (search/data/sinonimi.txt)."""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

RECORDS = {
    "pompieri": "Incendio in un capannone: sul posto i pompieri con tre squadre",
    "vigili": "Incendio in un capannone: sul posto i vigili del fuoco con tre squadre",
    **{f"x{n}": f"Il consiglio approva il bilancio del comune di Paese {n}" for n in "abcdefgh"},
}


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {ident}", "body": body, "date": f"2022-06-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("sinonimi_radici", rows)


def found(folder, make_archive, text: str, **ranking) -> set[str]:
    """The articles holding every word of `text` (or its synonyms)."""
    archive = make_archive(folder, ranking=Ranking(**ranking))
    try:
        result = archive.search(text, facets=False)
        ids = {h.article.id for h in result.hits if h.all_words}
        assert result.exact_total == len(ids)
        return ids
    finally:
        archive.close()


@pytest.mark.parametrize("text", ["pompieri incendio", "pompiere incendio", "vigile del fuoco incendio"])
def test_an_unlisted_form_meets_its_group(folder, make_archive, text):
    assert found(folder, make_archive, text) == {"pompieri", "vigili"}


def test_without_stems_only_the_listed_forms(folder, make_archive):
    assert found(folder, make_archive, "pompieri incendio", synonyms_by_stem=False) == {"pompieri", "vigili"}
    assert found(folder, make_archive, "pompiere incendio", synonyms_by_stem=False) == {"pompieri"}
