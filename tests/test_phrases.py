"""Quoted phrases match the words as typed (accents and case aside), in order,
not merely their stems: on both backends (the module is marked both_backends)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.both_backends

ARTICLES = [
    ("eroe", "Impastato, un eroe civile", "La memoria di un eroe civile della Sicilia."),
    ("eroi", "Gli eroi civili del Novecento", "Storie di eroi civili e di coraggio."),
    ("diritto", "Lo stato di diritto in Europa", "Il rispetto dello stato di diritto nell'Unione."),
    ("romano", "Lo stato del diritto romano", "Come lo stato del diritto antico regolava i commerci."),
    ("dimaio", "Di Maio incontra i sindacati", "L'incontro di Di Maio con i sindacati a Roma."),
    ("capoverde", "Vacanze a Maio", "Maio, isola di Capo Verde, e le sue spiagge."),
    ("citta", "La città è più viva", "Più città, più verde: la città è più viva."),
]


@pytest.fixture(scope="module")
def archive(archive_of):
    rows = [
        {"id": i, "title": t, "body": b, "date": "2024-05-0" + str(n + 1)}
        for n, (i, t, b) in enumerate(ARTICLES)
    ]
    return archive_of("phrases", rows)


def exact_ids(archive, text: str) -> list[str]:
    result = archive.search(text, per_page=20)
    return sorted(h.article.id for h in result.hits[: result.exact_total])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The same stems ("eroe"/"eroi", "civile"/"civili"), other words: not the phrase.
        ('"eroe civile"', ["eroe"]),
        ('"eroi civili"', ["eroi"]),
        # A stop word inside the phrase is a word of it: "del" is not "di".
        ('"stato di diritto"', ["diritto"]),
        ('"stato del diritto"', ["romano"]),
        # A stop word at the edge too: "di Maio", not Maio alone.
        ('"di maio"', ["dimaio"]),
        # Accents and case do not count.
        ('"CITTA E PIU VIVA"', ["citta"]),
        ('"più città"', ["citta"]),
        # Unquoted words still find every form.
        ("eroe civile", ["eroe", "eroi"]),
    ],
)
def test_phrase_matches_the_words_in_order(archive, text, expected):
    assert exact_ids(archive, text) == expected
