"""The Italian analysis chain, one filter at a time, then end to end."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.analysis import (
    TOKEN_PATTERN,
    AccentFoldFilter,
    AnalysisConfig,
    ElisionFilter,
    ItalianAnalyzer,
    ItalianStemFilter,
    ItalianStopFilter,
    ItalianTokenizer,
    _word_analysis,
    exact_analyzer,
    normalize_key,
    reference_chain,
    reference_word_analysis,
    stemming_analyzer,
    stems_and_words,
)


def texts(tokens) -> list[str]:
    return [t.text for t in tokens]


# The tokenizer's rules as first written: three whole alternatives, tried in order.
REFERENCE_TOKENS = re.compile(r"(?:\w\.){2,}(?!\w)|\d+(?:[.,]\d+)+|\w+(?:['’`]\w+)*")


# Texts made of the pieces where the rules meet: letters, digits, dots, commas, apostrophes.
PIECES = st.sampled_from(["a", "à", "E", "1", "٣", "20", ".", ",", "'", "’", "`", " "])


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_token_pattern_cuts_text_as_the_three_rules_in_order(text):
    assert [m.span() for m in TOKEN_PATTERN.finditer(text)] == [
        m.span() for m in REFERENCE_TOKENS.finditer(text)
    ]


def test_token_pattern_edge_cases():
    text = "U.S.A. 1.2. a.b.c fine.Europa 1,200.5 l'Ucraina dell’Europa 3.a.b. x.y ٣.٤"
    assert TOKEN_PATTERN.findall(text) == [
        "U.S.A.", "1.2.", "a", "b", "c", "fine", "Europa", "1,200.5", "l'Ucraina", "dell’Europa",
        "3.a.b.", "x", "y", "٣.٤",
    ]


def test_tokenizer_keeps_elisions_acronyms_and_numbers_whole():
    tokens = texts(ItalianTokenizer()("l'Ucraina dell’Europa U.S.A. 2,5% 1.200 euro Covid-19"))
    assert tokens == ["l'Ucraina", "dell’Europa", "USA", "2,5", "1.200", "euro", "Covid", "19"]


def test_tokenizer_offsets_point_into_the_original_text():
    text = "Il piano dell’Europa"
    spans = [(t.startchar, t.endchar) for t in ItalianTokenizer()(text, chars=True)]
    assert [text[s:e] for s, e in spans] == ["Il", "piano", "dell’Europa"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("l'Ucraina", ["Ucraina"]),
        ("dell’Europa", ["Europa"]),
        ("all'ONU", ["ONU"]),
        ("quest'anno", ["anno"]),
        ("c'è", ["è"]),
        ("un'altra", ["altra"]),
        ("sant'Antonio", ["Antonio"]),
        ("d'Angelillo", ["Angelillo"]),
        ("O'Neill", ["O", "Neill"]),
    ],
)
def test_elision_filter_drops_the_article(text, expected):
    assert texts(ElisionFilter()(ItalianTokenizer()(text))) == expected


def test_elision_filter_moves_the_offset_to_the_word():
    text = "dell’Europa"
    (token,) = ElisionFilter()(ItalianTokenizer()(text, chars=True))
    assert text[token.startchar : token.endchar] == "Europa"


@pytest.mark.parametrize(
    "word, folded",
    [("città", "citta"), ("perché", "perche"), ("è", "e"), ("Più", "piu"), ("naïve", "naive")],
)
def test_accent_fold_filter(word, folded):
    assert texts(AccentFoldFilter()(ItalianTokenizer()(word.lower()))) == [folded]


def test_stop_filter_removes_folded_stop_words_but_can_keep_positions():
    # whoosh reuses one Token object: read each one as it streams by.
    tokens = [
        (t.text, t.pos)
        for t in ItalianStopFilter()(ItalianTokenizer()("stato di diritto perche", positions=True))
    ]
    assert tokens == [("stato", 0), ("diritto", 2)]  # the gap keeps phrase distances


def test_stem_filter_conflates_singular_and_plural():
    stems = texts(ItalianStemFilter()(ItalianTokenizer()("elezione elezioni arrestato arrestati")))
    assert stems[0] == stems[1]
    assert stems[2] == stems[3]


@pytest.mark.parametrize(
    "a, b",
    [
        ("l'Ucraina", "Ucraina"),
        ("città", "citta"),
        ("elezione", "elezioni"),
        ("dell’Europa", "europa"),
        ("perché", "perche'"),
        ("È", "E'"),
        ("positività", "positivita"),
        ("U.S.A.", "usa"),
    ],
)
def test_index_and_query_forms_meet(a, b):
    analyzer = stemming_analyzer()
    assert texts(analyzer(a, removestops=False)) == texts(analyzer(b, removestops=False))


def test_stemming_analyzer_drops_stop_words():
    assert texts(stemming_analyzer()("il piano di pace per l'Ucraina")) == ["pian", "pac", "ucrain"]


def test_exact_analyzer_keeps_words_unstemmed_and_stop_words():
    assert texts(exact_analyzer()("Stato di Diritto, città")) == ["stato", "di", "diritto", "citta"]


def test_normalize_key_ignores_case_accents_and_spacing():
    assert normalize_key("  Notizie di  PRIMA pagina ") == "notizie di prima pagina"
    assert normalize_key("ATTUALITÀ") == normalize_key("attualita")


# The fused analyzer (one pass, cached per word) must give exactly the tokens
# of the filter chain it replaces: text, positions, offsets, stop flags.
TRICKY = [
    "l'Ucraina dell’Europa U.S.A. 2,5% 1.200 euro Covid-19 O'Neill c'è E' È perche'",
    "Il piano di pace per l'Ucraina: «stato di diritto», città, PERCHÉ, naïve, ½ ﬁne",
    "d' l''x `quest`anno sant'Antonio all'ONU un'altra 3.14.15 a.b.",
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize(
    "config",
    [
        AnalysisConfig(),
        AnalysisConfig(stemmer="none"),
        AnalysisConfig(stemmer="light"),
        AnalysisConfig(fold_accents=False),
        AnalysisConfig(elision=False),
    ],
)
@pytest.mark.parametrize("stemming", [True, False])
def test_fused_analyzer_matches_the_filter_chain(text, config, stemming):
    fused, chain = ItalianAnalyzer(config, stemming), reference_chain(config, stemming)

    def tokens(analyzer, **kw):
        found = analyzer(text, positions=True, chars=True, **kw)
        return [(t.text, t.pos, t.startchar, t.endchar, t.stopped) for t in found]

    for kw in ({}, {"removestops": False}, {"no_morph": True}):
        assert tokens(fused, **kw) == tokens(chain, **kw)
    for word in TOKEN_PATTERN.findall(text):
        for morph in (True, False):
            expected = reference_word_analysis(word, config, stemming, morph)
            assert _word_analysis(config, stemming, morph)(word) == expected


def test_one_pass_gives_both_fields_terms():
    text = TRICKY[0] + " " + TRICKY[1]
    counts, positions = stems_and_words(text)
    assert {k.decode(): n for k, n in counts.items()} == stemming_analyzer().term_counts(text)
    assert {k.decode(): p for k, p in positions.items()} == exact_analyzer().term_positions(text)
