"""Typo tolerance on the dev corpus: the cases observed in issue 13 (point 4),
on both backends (skipped when ../shared is absent)."""

from __future__ import annotations

import pytest

from archivio.search.dictionary import italian

pytestmark = [pytest.mark.corpus, pytest.mark.both_backends]

needs_dictionary = pytest.mark.skipif(
    not italian().available, reason=f"dizionario italiano assente: {italian().reason}"
)


@pytest.mark.parametrize(
    "typed",
    # Misspellings the corpus holds in 4, 1 and 5 articles; "coronavirus" is in 7,640.
    ["coronavirs milano", "coronavrus milano", "coronvirus milano"],
)
def test_misspellings_found_in_a_few_articles_get_the_frequent_spelling(corpus_archive, typed):
    result = corpus_archive.search(typed, facets=False)
    assert result.suggestion == "coronavirus milano"
    # Corrected: every article the right spelling finds (its synonyms
    # included: covid, sars-cov-2), not only the misspelt ones.
    right = corpus_archive.search("coronavirus milano", facets=False)
    assert right.exact_total > 800
    assert result.exact_total >= right.exact_total and not result.fallback


@needs_dictionary
@pytest.mark.parametrize(
    "typed",
    [
        # Respelled by a slip into a rarer word that met the other word once
        # ("vale insulti", "precipizio parte", "ventunenne salato", "camila tennis").
        "valle insulti",
        "valle rocciosa",
        "precipizio parete",
        "ventunenne salvato",
        "camilla tennis",
        # Italian words next to commoner close words ("vale", "precipito", "ventenne").
        "valle",
        "precipizio",
        "ventunenne",
        "accompagnati",
    ],
)
def test_italian_words_are_never_corrected_nor_respelled(corpus_archive, typed):
    result = corpus_archive.search(typed, facets=False)
    assert result.suggestion is None


def test_a_surname_is_not_corrected_into_a_common_word(corpus_archive):
    # "giorgi" (12 articles) is one edit from "giorni" (4,477): 373 times, under the ratio.
    result = corpus_archive.search("giorgi", facets=False)
    assert result.suggestion is None
    assert result.parsed.highlight.stems == {"giorg"}  # its own stem only, no "giorn"
