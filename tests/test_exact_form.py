"""The word as typed outranks other words sharing its stem: Snowball gives
"port" for porto and porta, "cors" for corso and corsa. A small archive
written for these tests (fictional news), on both backends."""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

RECORDS = {
    # "porta" three times: more of the stem than the port's article has.
    "door": "La porta della chiesa, una porta antica: la porta resta chiusa",
    "port": "Il porto di Ancona apre un nuovo molo",
    **{f"x{n}": f"Il consiglio approva il bilancio numero {n}" for n in range(12)},
}


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {n}", "body": body, "date": f"2022-04-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("forme", rows)


def ranked(folder, make_archive, query: str, **ranking) -> list[str]:
    archive = make_archive(folder, ranking=Ranking(**ranking))
    try:
        return [h.article.id for h in archive.search(query).hits]
    finally:
        archive.close()


def test_the_form_as_typed_comes_first(folder, make_archive):
    assert ranked(folder, make_archive, "porto") == ["port", "door"]
    assert ranked(folder, make_archive, "porta") == ["door", "port"]


def test_without_the_bonus_the_stem_alone_decides(folder, make_archive):
    """What the bonus corrects: by the stem, the door's three mentions win."""
    assert ranked(folder, make_archive, "porto", exact_form_boost=0.0) == ["door", "port"]
