"""Number words and digits meet (search.numbers): "quindici" finds "15",
"ventunenne" finds "21enne" and "21 anni", each way; a cardinal that is as
often another word ("venti", winds) is left alone. A small archive of
fictional news, on both backends."""

from __future__ import annotations

import pytest

from archivio.search.ranking import Ranking

pytestmark = pytest.mark.both_backends

RECORDS = {
    "parola": "Quindici feriti nello scontro tra due treni regionali",
    "cifre": "Treni fermi in galleria dopo lo scontro: 15 feriti",
    "eta_parola": "Arrestato un ventunenne per il furto in farmacia",
    "eta_cifre": "Arrestato un 21enne per il furto in tabaccheria",
    "eta_anni": "Arrestato un ragazzo di 21 anni per il furto in edicola",
    "vento": "Forti venti di burrasca sulla costa, alberi caduti",
    "numero": "Sulla costa 20 alberi caduti dopo la burrasca",
    **{f"x{n}": f"Il consiglio approva il bilancio del comune di Paese {n}" for n in "abcdefgh"},
}


@pytest.fixture(scope="module")
def folder(folder_of):
    rows = [
        {"id": ident, "title": f"Notizia {ident}", "body": body, "date": f"2022-05-{n + 1:02d}"}
        for n, (ident, body) in enumerate(RECORDS.items())
    ]
    return folder_of("numeri", rows)


def found(folder, make_archive, text: str, **ranking) -> set[str]:
    """The articles holding every word of `text` (the others that hold some
    of them follow in the results, as in any search)."""
    archive = make_archive(folder, ranking=Ranking(**ranking))
    try:
        result = archive.search(text, facets=False)
        ids = {h.article.id for h in result.hits if h.all_words}
        assert result.exact_total == len(ids)
        return ids
    finally:
        archive.close()


@pytest.mark.parametrize("text", ["15 feriti", "quindici feriti", "QUINDICI scontro"])
def test_a_number_is_found_in_words_and_in_digits(folder, make_archive, text):
    assert found(folder, make_archive, text) == {"parola", "cifre"}


@pytest.mark.parametrize("text", ["ventunenne furto", "21enne furto", "21 anni furto", "arrestato 21enne"])
def test_an_age_is_found_in_every_form(folder, make_archive, text):
    assert found(folder, make_archive, text) == {"eta_parola", "eta_cifre", "eta_anni"}


def test_without_number_words_only_the_form_typed(folder, make_archive):
    assert found(folder, make_archive, "15 feriti", number_words=False) == {"cifre"}
    assert found(folder, make_archive, "ventunenne furto", number_words=False) == {"eta_parola"}


def test_a_cardinal_that_is_another_word_is_left_alone(folder, make_archive):
    assert found(folder, make_archive, "venti costa") == {"vento"}
    assert found(folder, make_archive, "20 alberi") == {"numero"}


def test_the_other_form_is_highlighted(folder, make_archive):
    archive = make_archive(folder)
    try:
        hits = {h.article.id: h for h in archive.search("15 feriti", facets=False).hits}
        assert "<mark>Quindici</mark> <mark>feriti</mark>" in hits["parola"].to_dict()["snippet"]
        hits = {h.article.id: h for h in archive.search("ventunenne", facets=False).hits}
        assert "un <mark>21enne</mark> per" in hits["eta_cifre"].to_dict()["snippet"]
        assert "di <mark>21 anni</mark> per" in hits["eta_anni"].to_dict()["snippet"]
    finally:
        archive.close()
