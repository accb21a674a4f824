"""The Italian dictionary behind typo tolerance (Debian's hunspell-it read by
libhunspell), asked about accent-folded, lower-case words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivio.search.dictionary import Dictionary, italian

needs_dictionary = pytest.mark.skipif(
    not italian().available, reason=f"dizionario italiano assente: {italian().reason}"
)


@needs_dictionary
@pytest.mark.parametrize(
    "word",
    [
        "valle",
        "accompagnati",
        "precipizio",
        "ventunenne",
        "regioni",  # words and inflections
        "citta",
        "perche",
        "piu",  # accents folded away on the last vowel
        "milano",
        "isernia",
        "camilla",  # names, capitalized in the dictionary
        "onu",  # acronyms, upper case in it
    ],
)
def test_italian_words_are_known(word):
    assert italian().knows(word)


@needs_dictionary
@pytest.mark.parametrize(
    "word", ["coronavirs", "accompgnati", "giorgi", "lamorgese", "rizzutto", "", "e45", "citt", "cittaa"]
)
def test_misspellings_names_and_non_words_are_not(word):
    assert not italian().knows(word)


@needs_dictionary
def test_spell_takes_the_word_as_written():
    assert italian().spell("città") and not italian().spell("citta")


def test_a_missing_dictionary_knows_nothing_and_says_why(tmp_path):
    missing = Dictionary(tmp_path / "it_IT")
    assert not missing.available
    assert "non trovato" in missing.reason
    assert not missing.knows("valle") and not missing.spell("valle")


@needs_dictionary
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_any_text_is_answered_without_error(text):
    assert italian().knows(text) in (True, False)
    assert italian().spell(text) in (True, False)
