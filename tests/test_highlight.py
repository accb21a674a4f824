"""Highlights mark what the search matched, on both backends: whole phrases
(quoted, or multi-word synonyms such as "covid 19") and never their words
alone, the inflections the stemmed search finds, a wildcard's expanded
words; titles are marked too (page, article page, JSON `title_html`);
a snippet is up to three fragments around different matched words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivio.search import snippets
from archivio.search.analysis import TOKEN_PATTERN, exact_analyzer, stem
from archivio.search.queryparse import Highlight
from archivio.search.snippets import SEPARATOR, highlight_all, snippet, to_html, to_plain
from archivio.web import create_app

pytestmark = pytest.mark.both_backends

FAR = " ".join(["Il resto della giornata è trascorso senza altre novità di rilievo."] * 8)

ARTICLES = [
    {
        "id": "covid",
        "title": "Vaccino contro il Covid-19 in arrivo",
        "body": (
            "Il vaccino contro il coronavirus Sars-CoV-2 arriverà a dicembre. "
            "Alla riunione c'erano 19 ministri e 2 esperti."
        ),
    },
    {
        "id": "conti",
        "title": "La giunta approva i conti",
        "body": "Lo hanno deciso 19 consiglieri su 2 sedute, senza il coronavirus all'ordine del giorno.",
    },
    {
        "id": "punta",
        "title": "Escursione sul lago",
        "body": "Un escursionista è caduto vicino a Punta Almana. Il soccorso è stato puntuale.",
    },
    {
        "id": "punti",
        "title": "Il piano in 28 punti",
        "body": "Il piano si articola in 28 punti, discussi punto per punto.",
    },
    {
        "id": "elezioni",
        "title": "Elezioni regionali in primavera",
        "body": "Le elezioni si terranno ad aprile. L'elenco dei candidati è pronto, nessuna eleganza.",
    },
    {
        "id": "diritto",
        "title": "Il ministro parla ai giudici",
        "body": "Lo stato di diritto va difeso. Lo stato delle carceri preoccupa, di diritto e di fatto.",
    },
    {
        "id": "usa",
        "title": "Visita negli Stati Uniti",
        "body": "Il ministro è negli Stati Uniti. Sono stati firmati accordi, uniti da un interesse comune.",
    },
    {
        "id": "lontani",
        "title": "Cronaca di una giornata",
        "body": f"La mattina è arrivato il treno. {FAR} A mezzogiorno il sindaco ha parlato. {FAR} "
        "La sera la banda ha suonato in piazza.",
    },
]


@pytest.fixture(scope="module")
def archive(archive_of):
    return archive_of("highlight", [{**a, "date": "2024-05-01"} for a in ARTICLES])


def hit(archive, query: str, article_id: str):
    result = archive.search(query, per_page=20)
    found = {h.article.id: h for h in result.hits}
    assert article_id in found, (query, list(found))
    return found[article_id]


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


# -- synonyms and phrases: whole or not at all ------------------------------------------------


def test_a_synonym_phrase_is_marked_whole_never_its_pieces(archive):
    covid = hit(archive, "coronavirus", "covid").to_dict()
    # "covid 19" and "sars cov 2" are synonyms of coronavirus: marked as one each,
    # the bare "19" ministers and "2" experts are not.
    assert covid["snippet"] == (
        "Il vaccino contro il <mark>coronavirus</mark> <mark>Sars-CoV-2</mark> arriverà a dicembre. "
        "Alla riunione c&#x27;erano 19 ministri e 2 esperti."
    )
    assert covid["title_html"] == "Vaccino contro il <mark>Covid-19</mark> in arrivo"
    conti = hit(archive, "coronavirus", "conti").to_dict()
    assert marks(conti["snippet"]) == ["coronavirus"]
    assert conti["title_html"] == "La giunta approva i conti"


def test_a_quoted_phrase_is_marked_whole(archive):
    segments = hit(archive, '"stato di diritto"', "diritto").segments
    assert to_html(segments) == (
        "Lo <mark>stato di diritto</mark> va difeso. Lo stato delle carceri preoccupa, di diritto e di fatto."
    )


def test_a_multi_word_synonym_of_a_word_is_marked_whole(archive):
    result = hit(archive, "usa", "usa").to_dict()
    assert result["title_html"] == "Visita negli <mark>Stati Uniti</mark>"
    assert result["snippet"] == (
        "Il ministro è negli <mark>Stati Uniti</mark>. "
        "Sono stati firmati accordi, uniti da un interesse comune."
    )


# -- words: what the search matched --------------------------------------------------------------


def test_inflections_the_search_finds_are_marked(archive):
    result = hit(archive, "elezione", "elezioni").to_dict()
    assert result["title_html"] == "<mark>Elezioni</mark> regionali in primavera"
    assert marks(result["snippet"]) == ["elezioni"]


def test_punti_marks_punta_because_the_search_finds_it_by_the_same_stem(archive):
    # Snowball stems punti, punto and punta alike ("punt"): "punti" finds the
    # article that only says "Punta Almana", and the mark shows why. "puntuale"
    # (stem "puntual") is neither found nor marked.
    assert stem("punti") == stem("punta") == stem("punto") == "punt" != stem("puntuale")
    found = {h.article.id for h in archive.search("punti", per_page=20).hits}
    assert found == {"punti", "punta"}
    assert hit(archive, "punti", "punta").to_dict()["snippet"] == (
        "Un escursionista è caduto vicino a <mark>Punta</mark> Almana. Il soccorso è stato puntuale."
    )
    assert marks(hit(archive, "punti", "punti").to_dict()["snippet"]) == ["punti", "punto", "punto"]


def test_a_wildcard_marks_the_words_it_searched_not_every_word_with_its_start(archive):
    result = hit(archive, "el?zioni", "elezioni").to_dict()
    # "el?zioni" searched "elezioni": not "elenco" nor "eleganza", which share "el".
    assert marks(result["snippet"]) == ["elezioni"]
    assert result["title_html"] == "<mark>Elezioni</mark> regionali in primavera"
    assert marks(hit(archive, "elez*", "elezioni").to_dict()["snippet"]) == ["elezioni"]


def test_excluded_words_are_not_marked(archive):
    result = hit(archive, "piano -elezioni", "punti").to_dict()
    assert result["title_html"] == "Il <mark>piano</mark> in 28 punti"


# -- snippets of several fragments ---------------------------------------------------------------


def test_snippet_fragments_around_different_words(archive):
    segments = hit(archive, "treno sindaco banda", "lontani").segments
    text = to_plain(segments)
    # The three words are far apart: one fragment each, in the order of the text.
    assert text.count(SEPARATOR) == 2
    assert [t for t, m in segments if m] == ["treno", "sindaco", "banda"]
    assert to_html(segments) == (
        "La mattina è arrivato il <mark>treno</mark>. Il resto della giornata è trascorso senza altre novità"
        " di rilievo. Il resto della … rilievo. A mezzogiorno il <mark>sindaco</mark> ha parlato. Il resto"
        " della giornata è trascorso senza altre novità di rilievo. Il … di rilievo. La sera la"
        " <mark>banda</mark> ha suonato in piazza."
    )


def test_one_fragment_when_one_passage_holds_every_word(archive):
    segments = hit(archive, "sindaco parlato", "lontani").segments
    assert SEPARATOR not in to_plain(segments)
    assert [t for t, m in segments if m] == ["sindaco", "parlato"]


def test_no_second_fragment_for_a_word_already_shown(archive):
    segments = hit(archive, "giornata", "lontani").segments
    assert SEPARATOR not in to_plain(segments)


# -- pages ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(archive):
    return create_app(archive).test_client()


def test_result_list_and_article_page_mark_the_title(client):
    page = client.get("/", query_string={"q": "coronavirus"}).get_data(as_text=True)
    assert '?q=coronavirus">Vaccino contro il <mark>Covid-19</mark> in arrivo</a></h2>' in page
    article = client.get("/articolo/covid", query_string={"q": "coronavirus"}).get_data(as_text=True)
    assert '<h1 class="article-title">Vaccino contro il <mark>Covid-19</mark> in arrivo</h1>' in article
    assert "c&#x27;erano 19 ministri e 2 esperti" in article


def test_api_results_add_title_html_and_keep_their_keys(client, archive):
    body = client.get("/api/search", query_string={"q": "elezione"}).get_json()
    first = body["results"][0]
    assert first["title"] == "Elezioni regionali in primavera"
    assert first["title_html"] == "<mark>Elezioni</mark> regionali in primavera"
    assert list(first) == [
        "id",
        "title",
        "subtitle",
        "author",
        "date",
        "category",
        "source",
        "url",
        "score",
        "snippet",
        "all_words",
        "title_html",
        "copies",
        "other_sources",
    ]


# -- invariants (no archive) ------------------------------------------------------------------------

WORDS = ["Stato", "di", "diritto", "covid", "19", "Covid-19", "punti", "l’Europa", "Europa", "2", "città"]
HIGHLIGHT = Highlight(
    stems={stem("punti"), "europa", "citta"},
    words={"diritto"},
    phrases={(("stato", "di", "diritto"), 1), (("covid", "19"), 1)},
)
_EXACT = exact_analyzer()


SEPARATORS = [" ", ", ", "\n\n", "-", ". "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=40))
def test_marks_are_the_text_itself_in_order_and_each_one_matched(pieces):
    text = "".join(w + sep for w, sep in pieces)
    segments = highlight_all(text, HIGHLIGHT)
    assert to_plain(segments) == text
    for marked, is_mark in segments:
        if not is_mark:
            continue
        # One word per position: a compound's parts, not its joined form ("Covid-19": covid, 19).
        words = tuple({t.pos: t.text for t in _EXACT(marked, positions=True)}.values())
        single = len(words) == 1 and (words[0] in HIGHLIGHT.words or stem(words[0]) in HIGHLIGHT.stems)
        assert single or (words, 1) in HIGHLIGHT.phrases, marked
    # A phrase's words never make marks alone: a lone "19" or "di" is never marked.
    assert all(t.strip() not in ("19", "di", "Stato") for t, m in segments if m)
    snippet_text = to_plain(snippet(text, HIGHLIGHT))
    assert all(part.strip(" …") in " ".join(text.split()) for part in snippet_text.split(SEPARATOR))


def token_by_token_spans(text: str, hl: Highlight) -> list[tuple[int, int, str]]:
    """The marks found the plain way, one token at a time (what match_spans
    did before it skipped the tokens that mark nothing)."""
    firsts: dict = {}
    for words, slop in sorted(hl.phrases):
        firsts.setdefault(words[0], []).append((words, slop))
    out, covered = [], 0
    for m in TOKEN_PATTERN.finditer(text):
        singles, starts = snippets._token_marks(m.group(), hl, firsts)
        spans = [(m.start() + s, m.start() + e, k) for s, e, k in singles]
        for start, position, words, slop in starts:
            end = snippets._phrase_end(text, m.start(), m.group(), position, words[1:], slop)
            if end is not None:
                spans.append((m.start() + start, end, " ".join(words)))
        for span in sorted(spans, key=lambda s: (s[0], -s[1])):
            if span[0] >= covered:
                covered = span[1]
                out.append(span)
    return out


MIXED = [*WORDS, "1.200", "2,5", "U.S.A.", "Sant'Anna", "centro-destra", "Città", "dell'Europa", "d’Italia"]
MIXED.append("x")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(MIXED), st.sampled_from([*SEPARATORS, "", "'", "."])), max_size=60),
    st.sets(st.sampled_from(["punt", "europa", "citta", "anna", "sant", "destra", "1200", "usa", "x"])),
    st.sets(st.sampled_from(["diritto", "19", "italia", "2,5", "centro"])),
    st.sets(st.sampled_from([("stato", "di", "diritto"), ("covid", "19"), ("centro", "destra"), ("x", "x")])),
)
def test_marks_are_those_of_a_walk_token_by_token(pieces, stems, words, phrases):
    """match_spans visits only the tokens that can mark something; the marks
    are exactly those of a walk over every token, for several searches in a
    row on one highlight (its memo carried from text to text)."""
    hl = Highlight(stems=set(stems), words=set(words), phrases={(p, 1) for p in phrases})
    text = "".join(w + sep for w, sep in pieces)
    for part in (text, text[::-1], text.upper(), text):
        assert list(snippets.match_spans(part, hl)) == token_by_token_spans(part, hl)


def test_a_phrase_is_marked_by_the_index_positions_even_inside_a_compound():
    """The phrase covid 19 is found where the index finds it: in "Covid-19"
    (parts covid, 19 at consecutive positions) and in "covid 19", never
    across another word ("covid Covid-19" is not covid then 19)."""
    hl = Highlight()
    hl.add_phrase(["covid", "19"])
    marked = [t for t, m in highlight_all("covid Covid-19, poi covid 19 e covid, 19 marzo", hl) if m]
    assert marked == ["Covid-19", "covid 19", "covid, 19"]
    hl = Highlight()
    hl.add_phrase(["stato", "di", "diritto"], slop=2)
    marked = [t for t, m in highlight_all("lo Stato, di fatto diritto; Stato di fatto, di diritto", hl) if m]
    # Each word at most 2 positions after the one before: diritto is 2 after
    # "di" in the first; in the second, 3 after the first "di" and the second
    # "di" is 3 after stato.
    assert marked == ["Stato, di fatto diritto"]
