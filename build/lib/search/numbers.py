"""Number words and digits meet: "quindici" finds "15", "ventunenne" finds
"21enne" and "21 anni", and the other way round.

Groups of equivalent forms, as search.synonyms reads them, generated with
num2words' Italian cardinals. The dev corpus writes both kinds of forms
often: "21enne" 159 times, "ventunenne" 19, "21 anni" 108; "40enne" 204,
"quarantenne" 46. As synonyms they are alternatives of the word typed,
scored as the best of them (one word, one weight).
"""

from __future__ import annotations

from functools import lru_cache

from .analysis import is_stopword
from .synonyms import Synonyms, Words, form_of

# The cardinals that a news text writes either way: 0-100, the hundreds and
# the thousands to ten thousand ("duecento", "tremila"). Larger ones, years
# above all, are written in digits.
CARDINALS = [*range(0, 101), *range(200, 1001, 100), *range(2000, 10001, 1000)]
# Cardinals that are as often another word: "venti" is the plural of "vento"
# (winds). Left out both ways: "venti freddi" must not find "20 freddi".
OTHER_WORDS = frozenset({"venti"})
# Ages written as one word: "diciottenne", "ventunenne", "ventitreenne",
# "centenne" (below eleven the forms are irregular and rare: "decenne").
AGES = range(11, 111)


def cardinal(n: int) -> str:
    """n in Italian words, as num2words writes it ("ventitré")."""
    from num2words import num2words

    return num2words(n, lang="it")


def age_word(n: int) -> str:
    """The one-word age of n years: the cardinal without its final vowel,
    plus "enne" ("diciott-enne", "ventun-enne"); a final "tré" stays whole
    ("ventitreenne")."""
    word = cardinal(n)
    if word.endswith("tré"):
        return word[:-1] + "eenne"
    return word[:-1] + "enne"


def number_groups() -> list[list[str]]:
    """Each cardinal with its digits (stop words such as "uno" and OTHER_WORDS
    left out); each age word with "NNenne" and "NN anni"."""
    words = {n: cardinal(n) for n in CARDINALS}
    groups = [[w, str(n)] for n, w in words.items() if not is_stopword(w) and w not in OTHER_WORDS]
    groups += [[age_word(n), f"{n}enne", f"{n} anni"] for n in AGES]
    return groups


@lru_cache(maxsize=1)
def _number_forms() -> list[list[Words]]:
    return [[f for f in map(form_of, group) if f] for group in number_groups()]


@lru_cache(maxsize=8)
def with_number_words(synonyms: Synonyms) -> Synonyms:
    """`synonyms` plus the number groups (the user's groups first: their
    variants come first). Cached per Synonyms object: the shipped list is
    one object until its file changes."""
    return Synonyms([*synonyms.groups, *_number_forms()])
