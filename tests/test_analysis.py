"""The Italian analysis chain, one filter at a time, then end to end."""

from __future__ import annotations

import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivio.search.analysis import (
    ANALYSIS_VERSION,
    APOSTROPHES,
    ELIDED_FORMS,
    HYPHENS,
    INVISIBLE,
    TOKEN_PATTERN,
    TOKEN_PATTERN_V1,
    AccentFoldFilter,
    AnalysisConfig,
    CompoundFilter,
    ItalianAnalyzer,
    ItalianStemFilter,
    ItalianStopFilter,
    ItalianTokenizer,
    TypedWord,
    _word_analysis,
    exact_analyzer,
    is_stopword,
    normalize_key,
    reference_chain,
    reference_word_analysis,
    stemming_analyzer,
    stems_and_words,
    typed_words,
)


def texts(tokens) -> list[str]:
    return [t.text for t in tokens]


# The tokenizer's rules as written for reading: three whole alternatives, tried in order.
RUN = rf"\w+(?:[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f{INVISIBLE}]+\w*)*"
JOIN = "[" + re.escape(APOSTROPHES + HYPHENS) + "]"
NUMBER = r"\d+(?:[.,]\d+)+"
REFERENCE_TOKENS = re.compile(rf"(?:\w\.){{2,}}(?!\w)|{NUMBER}|{RUN}(?:{JOIN}(?:{NUMBER}|{RUN}))*")
# Version 1's rules.
REFERENCE_TOKENS_V1 = re.compile(r"(?:\w\.){2,}(?!\w)|\d+(?:[.,]\d+)+|\w+(?:['’`]\w+)*")


# Texts made of the pieces where the rules meet: letters, digits, dots, commas,
# apostrophes and their look-alikes, hyphens, combining accents, soft hyphens.
PIECES = st.sampled_from(
    ["a", "à", "E", "1", "٣", "20", ".", ",", "'", "’", "`", " ", "ʼ", "´", "-", "‐", "\u0301", "\u00ad", "_"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_token_pattern_cuts_text_as_the_three_rules_in_order(text):
    assert [m.span() for m in TOKEN_PATTERN.finditer(text)] == [
        m.span() for m in REFERENCE_TOKENS.finditer(text)
    ]
    assert [m.span() for m in TOKEN_PATTERN_V1.finditer(text)] == [
        m.span() for m in REFERENCE_TOKENS_V1.finditer(text)
    ]


def test_token_pattern_edge_cases():
    text = (
        "U.S.A. 1.2. a.b.c fine.Europa 1,200.5 l'Ucraina dell’Europa 3.a.b. x.y ٣.٤ "
        "lʼUcraina l´Ucraina Covid-19 Pe\u0301rez inter\u00adnazionale -vax no- 2019-2020"
    )
    assert TOKEN_PATTERN.findall(text) == [
        "U.S.A.", "1.2.", "a", "b", "c", "fine", "Europa", "1,200.5", "l'Ucraina", "dell’Europa",
        "3.a.b.", "x", "y", "٣.٤", "lʼUcraina", "l´Ucraina", "Covid-19", "Pe\u0301rez",
        "inter\u00adnazionale", "vax", "no", "2019-2020",
    ]  # fmt: skip


def test_tokenizer_keeps_elisions_acronyms_numbers_and_compounds_whole():
    text = "l'Ucraina dell’Europa U.S.A. 2,5% 1.200 euro Covid-19 12.3.2020 dell'1,5"
    tokens = texts(ItalianTokenizer()(text))
    assert tokens == [
        "l'Ucraina", "dell’Europa", "U.S.A.", "2,5", "1.200", "euro", "Covid-19", "12.3.2020", "dell'1,5"
    ]  # fmt: skip
    assert texts(exact_analyzer()(text)) == [
        "ucraina", "europa", "usa", "2,5", "1200", "euro", "covid19", "covid", "19", "12.3.2020", "1,5"
    ]  # fmt: skip


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
        ("d'Angelillo", ["Angelillo"]),
        ("qual'è", ["è"]),
        ("degl'italiani", ["italiani"]),
        # Every apostrophe look-alike is an apostrophe.
        ("lʼUcraina", ["Ucraina"]),
        ("l´Ucraina", ["Ucraina"]),
        ("l‘Ucraina", ["Ucraina"]),
        ("l`Ucraina", ["Ucraina"]),
        ("l′Ucraina", ["Ucraina"]),
        ("l＇Ucraina", ["Ucraina"]),
        # Content words are not elided: their parts, then the parts joined.
        ("Sant'Anna", ["Sant", "Anna", "SantAnna"]),
        ("bell’Italia", ["bell", "Italia", "bellItalia"]),
        ("mezz'ora", ["mezz", "ora", "mezzora"]),
        ("O'Neill", ["Neill"]),  # "o" is a stop word (or)
    ],
)
def test_elision_drops_function_words_only(text, expected):
    tokens = CompoundFilter()(ItalianTokenizer()(text, positions=True))
    assert sorted(texts(tokens)) == sorted(expected)


def test_elided_forms_are_stop_words_or_stop_words_less_a_vowel():
    lucene = {"c", "l", "all", "dall", "dell", "nell", "sull", "coll", "pell", "gl", "agl", "dagl", "degl",
              "negl", "sugl", "un", "m", "t", "s", "v", "d"}  # fmt: skip
    assert lucene <= ELIDED_FORMS
    assert {"quest", "quell", "ch", "com", "dov", "anch", "tutt", "n"} <= ELIDED_FORMS
    assert not {"sant", "bell", "grand", "mezz", "buon"} & ELIDED_FORMS


@pytest.mark.parametrize(
    "text, expected",
    [
        # Parts at their own positions, joined runs at their first part's.
        (
            "il centro-destra vince",
            [("il", 0), ("centro", 1), ("centrodestra", 1), ("destra", 2), ("vince", 3)],
        ),
        (
            "anti-Covid-19 oggi",
            [
                ("anti", 0),
                ("anticovid", 0),
                ("anticovid19", 0),
                ("covid", 1),
                ("covid19", 1),
                ("19", 2),
                ("oggi", 3),
            ],
        ),
        ("no‐vax e-mail", [("no", 0), ("novax", 0), ("vax", 1), ("e", 2), ("email", 2), ("mail", 3)]),
        # No joined form without letters, nor past four parts.
        ("2019-2020 fine", [("2019", 0), ("2020", 1), ("fine", 2)]),
        ("a-b-c-d-e x", [("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 4), ("x", 5)]),
        ("nell'Emilia-Romagna", [("emilia", 0), ("emiliaromagna", 0), ("romagna", 1)]),
        ("Sant'Anna", [("sant", 0), ("santanna", 0), ("anna", 1)]),
        ("inter\u00adnazionale Pe\u0301rez", [("internazionale", 0), ("perez", 1)]),
    ],
)
def test_compounds_index_parts_and_joined_forms(text, expected):
    tokens = [(t.text, t.pos) for t in exact_analyzer()(text, positions=True)]
    assert sorted(tokens, key=lambda t: (t[1], t[0])) == sorted(expected, key=lambda t: (t[1], t[0]))


def test_a_query_asks_for_a_compound_by_its_joined_form():
    found = exact_analyzer()("il centro-destra vince", positions=True, mode="query")
    tokens = [(t.text, t.pos) for t in found]
    assert tokens == [("il", 0), ("centrodestra", 1), ("vince", 2)]
    assert typed_words("Sanità centro-destra Sant'Anna città e") == {
        "sanita": TypedWord("sanità"),
        "centrodestra": TypedWord("centrodestra", ("centro", "destra")),
        "santanna": TypedWord("santanna", ("sant", "anna")),
        "citta": TypedWord("città"),
    }


@pytest.mark.parametrize(
    "number, term",
    [("1.000", "1000"), ("1.000.000", "1000000"), ("25.000", "25000"), ("1.000,50", "1000,50"),
     ("1,5", "1,5"), ("12.3.2020", "12.3.2020"), ("0.500", "0.500"), ("10.30", "10.30"), ("1.5", "1.5")],
)  # fmt: skip
def test_thousands_separators_go_decimals_and_dates_stay(number, term):
    assert texts(exact_analyzer()(number)) == [term]


@pytest.mark.parametrize(
    "word, folded",
    [("città", "citta"), ("perché", "perche"), ("è", "e"), ("Più", "piu"), ("naïve", "naive")],
)
def test_accent_fold_filter(word, folded):
    assert texts(AccentFoldFilter()(ItalianTokenizer()(word.lower()))) == [folded]


def test_stop_words_are_decided_on_the_accented_word():
    # whoosh reuses one Token object: read each one as it streams by.
    tokens = [
        (t.text, t.pos)
        for t in ItalianStopFilter()(
            ItalianTokenizer()("stato di diritto perché perchè sarà Sara", positions=True)
        )
    ]
    assert tokens == [("stato", 0), ("diritto", 2), ("Sara", 6)]  # the gaps keep phrase distances
    assert is_stopword("sarà") and is_stopword("farò") and is_stopword("fosse") and is_stopword("piú")
    assert not is_stopword("sara") and not is_stopword("faro")


def test_stem_filter_conflates_singular_and_plural():
    stems = texts(ItalianStemFilter()(ItalianTokenizer()("elezione elezioni arrestato arrestati")))
    assert stems[0] == stems[1]
    assert stems[2] == stems[3]


@pytest.mark.parametrize(
    "word, expected",
    [
        # Stems of the accented words, then folded (Snowball's own output, folded).
        ("sanità", "sanit"), ("novità", "novit"), ("verità", "verit"), ("qualità", "qualit"),
        ("gravità", "gravit"), ("accetterà", "accett"), ("abbandonò", "abbandon"),
        # Folded first they were san (sano), nov (nove), ver (vero), qual, grav, accetter, abband.
        ("città", "citt"), ("citta", "citt"), ("caffè", "caff"),
    ],
)  # fmt: skip
def test_stems_come_from_the_accented_word(word, expected):
    assert texts(stemming_analyzer()(word)) == [expected]
    assert texts(stemming_analyzer(AnalysisConfig(version=1))(word)) != [expected] or word in (
        "città", "citta", "caffè"
    )  # fmt: skip


@pytest.mark.parametrize(
    "a, b",
    [
        ("l'Ucraina", "Ucraina"),
        ("lʼUcraina", "l´Ucraina"),
        ("città", "citta"),
        ("elezione", "elezioni"),
        ("dell’Europa", "europa"),
        ("È", "E'"),
        ("U.S.A.", "usa"),
        ("Pe\u0301rez", "Pérez"),
        ("1.000", "1000"),
        ("perché", "perchè"),
    ],
)
def test_index_and_query_forms_meet(a, b):
    analyzer = stemming_analyzer()
    assert texts(analyzer(a, removestops=False)) == texts(analyzer(b, removestops=False))


@pytest.mark.parametrize(
    "a, b",
    [
        ("centro-destra", "centrodestra"),
        ("no-vax", "novax"),
        ("anti-Covid", "anticovid"),
        ("Covid-19", "covid19"),
    ],
)
def test_joined_and_split_spellings_meet(a, b):
    for analyzer in (stemming_analyzer(), exact_analyzer()):
        (joined,) = texts(analyzer(b))
        assert joined in texts(analyzer(a))
        assert texts(analyzer(a, mode="query")) == [joined]


def test_stemming_analyzer_drops_stop_words():
    assert texts(stemming_analyzer()("il piano di pace per l'Ucraina")) == ["pian", "pac", "ucrain"]


def test_exact_analyzer_keeps_words_unstemmed_and_stop_words():
    assert texts(exact_analyzer()("Stato di Diritto, città")) == ["stato", "di", "diritto", "citta"]


def test_an_index_built_before_versions_reads_as_version_1():
    old = AnalysisConfig.__new__(AnalysisConfig)
    old.__setstate__({"stemmer": "snowball", "fold_accents": True, "elision": True})  # an old pickle
    assert old == AnalysisConfig(version=1)
    assert pickle.loads(pickle.dumps(ItalianAnalyzer())).config.version == ANALYSIS_VERSION
    # Version 1 as it was: folded first, sant' elided, no compounds.
    v1 = stemming_analyzer(AnalysisConfig(version=1))
    found = texts(v1("sanità Sara sarà Sant'Anna centro-destra 1.000"))
    assert found == ["san", "anna", "centr", "destr", "1.000"]


def test_normalize_key_ignores_case_accents_and_spacing():
    assert normalize_key("  Notizie di  PRIMA pagina ") == "notizie di prima pagina"
    assert normalize_key("ATTUALITÀ") == normalize_key("attualita") == normalize_key("ATTUALITA\u0300")


# The fused analyzer (one pass, cached per word) must give exactly the tokens
# of the filter chain it replaces: text, positions, offsets, stop flags.
TRICKY = [
    "l'Ucraina dell’Europa U.S.A. 2,5% 1.200 euro Covid-19 O'Neill c'è E' È perche'",
    "Il piano di pace per l'Ucraina: «stato di diritto», città, PERCHÉ, naïve, ½ ﬁne",
    "d' l''x `quest`anno sant'Antonio all'ONU un'altra 3.14.15 a.b.",
    "lʼUcraina l´x Pe\u0301rez inter\u00adnazionale anti-Covid-19 no‐vax 2019-2020 a-b-c-d-e",
    "1.000.000 sarà Sara, perchè PERCHÉ e-mail",
    "Sant'Anna-Covid nell'Emilia-Romagna dell'anti-l' ' - é\u0301 _-_",
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
        AnalysisConfig(version=1),
        AnalysisConfig(version=1, fold_accents=False),
    ],
)
@pytest.mark.parametrize("stemming", [True, False])
def test_fused_analyzer_matches_the_filter_chain(text, config, stemming):
    fused, chain = ItalianAnalyzer(config, stemming), reference_chain(config, stemming)

    def tokens(analyzer, **kw):
        found = analyzer(text, positions=True, chars=True, **kw)
        return [(t.text, t.pos, t.startchar, t.endchar, t.stopped) for t in found]

    for kw in ({}, {"removestops": False}, {"no_morph": True}, {"mode": "query"}):
        assert tokens(fused, **kw) == tokens(chain, **kw)
    for word in config.pattern.findall(text):
        for morph, query in ((True, False), (False, False), (True, True)):
            expected = reference_word_analysis(word, config, stemming, morph, query)
            assert _word_analysis(config, stemming, morph, query)(word) == expected


def test_one_pass_gives_both_fields_terms():
    text = TRICKY[0] + " " + TRICKY[1]
    counts, positions = stems_and_words(text)
    assert {k.decode(): n for k, n in counts.items()} == stemming_analyzer().term_counts(text)
    assert {k.decode(): p for k, p in positions.items()} == exact_analyzer().term_positions(text)
