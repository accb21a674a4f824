"""Typo tolerance: close spellings from the vocabulary, and known words
respelled when no article holds every word of a query (on both backends:
the module is marked both_backends)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivio.search import Archive
from archivio.search.spelling import close_words, edit_distance, slips

pytestmark = pytest.mark.both_backends

VOCABULARY = {"camila", "camilla", "camillo", "milano", "milazzo", "mila", "cane", "pane", "ospizio"}


def brute_force(word: str, maxdist: int) -> list[tuple[int, str]]:
    return sorted(
        (d, w)
        for w in VOCABULARY
        if w != word and w[:1] == word[:1] and (d := edit_distance(word, w)) <= maxdist
    )


def lookup() -> list:
    return [VOCABULARY.intersection, lambda word, _: sorted(w for w in VOCABULARY if w[:1] == word[:1])]


@pytest.mark.parametrize(
    "word, maxdist, expected",
    [
        ("camilla", 1, [(1, "camila"), (1, "camillo")]),
        ("milazo", 1, [(1, "milano"), (1, "milazzo")]),
        ("ospizzio", 1, [(1, "ospizio")]),
        ("cnae", 1, [(1, "cane")]),  # a transposition is one edit
        ("bane", 1, []),  # "cane" and "pane": the first letter is kept
        ("milanno", 2, [(1, "milano"), (2, "milazzo")]),
    ],
)
def test_close_words(word, maxdist, expected):
    assert sorted(close_words(word, maxdist, *lookup())) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="acilmnoz", min_size=1, max_size=9), st.integers(1, 2))
def test_one_edit_generation_agrees_with_the_edit_distance(word, maxdist):
    assert sorted(close_words(word, maxdist, *lookup())) == brute_force(word, maxdist)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcde", max_size=9), st.text(alphabet="abcde", max_size=9), st.integers(0, 3))
def test_a_bounded_edit_distance_is_exact_up_to_its_limit(a, b, limit):
    full = edit_distance(a, b)
    bounded = edit_distance(a, b, limit)
    assert bounded == full if full <= limit else bounded > limit


ARTICLES = [
    {
        "id": "giorgi-fisco",
        "title": "La tennista Camila Giorgi indagata per evasione fiscale",
        "body": "Secondo la procura la tennista non avrebbe dichiarato i premi vinti all'estero.",
        "date": "2020-05-04",
    },
    {
        "id": "camilla-mostra",
        "title": "Camilla inaugura la mostra sul fiume",
        "body": "La pittrice Camilla espone quaranta tele dedicate al fiume e ai suoi ponti.",
        "date": "2020-05-05",
    },
    {
        "id": "evasione-bar",
        "title": "Evasione fiscale, sequestro a un bar del centro",
        "body": "La guardia di finanza ha scoperto ricavi non dichiarati per due anni.",
        "date": "2020-05-06",
    },
]


@pytest.fixture(scope="module")
def archive(archive_of) -> Archive:
    return archive_of("respell", ARTICLES)


def test_a_name_is_not_respelled_into_a_spelling_no_commoner(archive):
    # The articles write "Camila Giorgi"; "camilla" is an Italian name (in the
    # dictionary), and "camila" is in no more articles than it: no respelling
    # (see test_typos for respellings that happen). The article still comes
    # first by its other words.
    result = archive.search("camilla giorgi evasione fiscale")
    assert [h.article.id for h in result.hits][0] == "giorgi-fisco"
    assert result.exact_total == 0 and result.fallback
    assert result.suggestion is None


def test_words_that_meet_as_typed_are_not_respelled(archive):
    result = archive.search("camilla mostra")
    assert [h.article.id for h in result.hits] == ["camilla-mostra"]
    assert result.suggestion is None


def test_respelling_needs_the_other_words_to_meet(archive):
    # No spelling of "camilla" meets "sequestro" and "ponti": graded fallback, no suggestion.
    result = archive.search("camilla sequestro ponti")
    assert result.exact_total == 0 and result.fallback
    assert result.suggestion is None


def test_a_single_word_is_never_respelled(archive):
    result = archive.search("camilla", since="2020-05-06")
    assert result.total == 0 and result.suggestion is None


def test_slips_are_doublings_drops_and_swaps():
    found = slips("camila")
    assert {"camilla", "cammila", "camial", "cmila", "amila", "camil"} <= set(found)
    assert "camilo" not in found and "camila" not in found  # no substitutions, not itself
    assert all(edit_distance("camila", s) == 1 for s in found)


JUDO = [
    {
        "id": "judo-milazzo",
        "title": "Milazzo, maestro di judo arrestato per abusi sulle allieve",
        "body": "Il maestro della palestra di Milazzo è accusato di abusi su alcune giovani atlete.",
        "date": "2020-05-07",
    },
    *(
        {
            "id": f"milano-{n}",
            "title": f"Milano, nuova linea del tram numero {n}",
            "body": "A Milano il comune presenta il progetto della linea e delle fermate.",
            "date": "2020-05-08",
        }
        for n in range(3)
    ),
]


@pytest.fixture(scope="module")
def judo_archive(archive_of) -> Archive:
    return archive_of("judo", JUDO)


def test_suggestion_takes_the_spelling_that_meets_the_other_words(judo_archive):
    # "milazo" is one edit from both "milano" (commoner: 3 articles) and "milazzo";
    # only "milazzo" appears with "judo".
    result = judo_archive.search("maestro judo milazo")
    assert result.suggestion == "maestro judo milazzo"
    assert result.exact_total == 1 and result.hits[0].article.id == "judo-milazzo"


def test_alone_an_unknown_word_gets_the_commoner_spelling(judo_archive):
    result = judo_archive.search("milazo")
    assert result.suggestion == "milano"
    assert {h.article.id for h in result.hits} == {"judo-milazzo", "milano-0", "milano-1", "milano-2"}
