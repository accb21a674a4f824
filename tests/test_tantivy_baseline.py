"""bench.baselines.TantivyBaseline, the native reference engine of bench.relevance:
its Italian chain, its filters (the same meaning as the other baselines'), and
user text that never reaches tantivy's query language. Skipped without tantivy
(a dev extra)."""

from __future__ import annotations

import pytest

from bench.baselines import TantivyBaseline

pytest.importorskip("tantivy")

# Fictional articles, written for this test.
RECORDS = [
    {
        "id": "rionali",
        "title": "Nuove regole per i mercati rionali",
        "body": "Il consiglio comunale di Valdoro approva il regolamento dei banchi.",
        "category": "Cronaca",
        "date": "2024-03-10",
        "author": "Giulia Bianchi",
    },
    {
        "id": "festa",
        "title": "La città di Monteluce è in festa",
        "body": "Musica nelle piazze fino a tardi, e perché no, un ballo e il ragù della nonna.",
        "category": "Cultura",
        "date": "2024-06-01",
        "author": "Paolo Verdi",
    },
    {
        "id": "pesce",
        "title": "Chiude il mercato del pesce",
        "subtitle": "Gli ultimi pescatori di Porto Alba",
        "body": "Dopo sessant'anni le bancarelle lasciano il molo.",
        "category": "Economia",
        "date": "2025-01-15",
        "author": "Anna Bianchini",
    },
    {"id": "senza-data", "title": "Un mercato senza data", "body": "Nessun campo facoltativo."},
    {
        "id": "concerto",
        "title": "Musica, teatro e danza nelle sere d'estate di Valdoro",
        "body": "Un concerto.",
    },
    {
        "id": "inverno",
        "title": "Cronache dal lago",
        "body": "Valdoro d'inverno: a Valdoro il lago gela e Valdoro tace.",
    },
]
MERCATO = ["pesce", "rionali", "senza-data"]  # "mercato" and "mercati", sorted


@pytest.fixture(scope="module")
def tantivy(tmp_path_factory):
    system = TantivyBaseline(tmp_path_factory.mktemp("tantivy") / "index")
    system.build(RECORDS)
    yield system
    system.close()


def test_the_stemmer_bridges_plural_and_singular(tantivy):
    assert sorted(tantivy.search("mercati")) == MERCATO
    assert sorted(tantivy.search("mercato")) == MERCATO
    assert tantivy.search("rionale") == ["rionali"]
    assert tantivy.search("pescatore") == ["pesce"]  # the subtitle is searched with the body


def test_accents_fold_both_ways(tantivy):
    assert tantivy.search("citta") == ["festa"]
    assert tantivy.search("CITTÀ") == ["festa"]
    assert tantivy.search("ragu") == ["festa"]  # the stemmer alone keeps "ragù"
    assert tantivy.search("RAGÙ") == ["festa"]


def test_a_stop_word_alone_finds_nothing(tantivy):
    for query in ("il", "perché", "è", "della", "di il per"):
        assert tantivy.terms(query) == [], query
        assert tantivy.search(query) == [], query


def test_any_term_with_the_title_boosted(tantivy):
    """An OR of the terms; a word of a long title outweighs three in a short body at x3, not at x1."""
    assert sorted(tantivy.search("molo banchi mai visti")) == ["pesce", "rionali"]
    assert tantivy.search("valdoro") == ["concerto", "inverno", "rionali"]
    title1 = tantivy.with_title_boost(1.0)  # the same index, searched with another boost
    assert (title1.title_boost, tantivy.title_boost) == (1.0, 3.0)
    assert title1.search("valdoro") == ["inverno", "concerto", "rionali"]


def test_filters_narrow(tantivy):
    assert tantivy.search("mercato", {"category": "economia"}) == ["pesce"]
    assert tantivy.search("mercato", {"category": "CRONACA"}) == ["rionali"]
    assert tantivy.search("mercato", {"category": "sport"}) == []
    assert tantivy.search("mercato", {"since": "2025-01-01"}) == ["pesce"]
    assert tantivy.search("mercato", {"until": "2024-12-31"}) == ["rionali"]
    assert tantivy.search("mercato", {"since": "2024-03-10", "until": "2024-03-10"}) == ["rionali"]
    # Author: contains the normalized needle, as the other baselines.
    assert sorted(tantivy.search("mercato", {"author": "Bianchi"})) == ["pesce", "rionali"]
    assert tantivy.search("mercato", {"author": "bianchini"}) == ["pesce"]
    assert tantivy.search("mercato", {"author": "Rossi"}) == []
    assert tantivy.search("mercato", {"category": "economia", "until": "2024-12-31"}) == []
    assert sorted(tantivy.search("mercato", {})) == MERCATO


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"mercato', MERCATO),
        ("title:pesce", ["pesce"]),  # "title" is a word, not a field
        ("(mercato AND pesce)", MERCATO),
        ("mercat* OR -festa^3 ~2", ["festa"]),  # no wildcard, no exclusion
        ("[a TO z] {} \\ / : ! +", []),
        ("*", []),
        ("", []),
        ("AND OR NOT", []),
    ],
)
def test_a_hostile_query_is_plain_text(tantivy, query, found):
    """tantivy's query syntax in user text is inert: its words are searched as words."""
    assert sorted(tantivy.search(query)) == found


def test_bench_speed_builds_adds_and_searches_it_from_another_process(tmp_path):
    """bench.speed's worker builds the index, another run adds to it, and the
    query function reopens it: the same answers as the built object."""
    import json

    from bench.speed import tantivy_query_fn, worker_main

    first, more = tmp_path / "first.jsonl", tmp_path / "more.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:3]))
    more.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[3:]))
    worker_main(["build", "tantivy", str(first), str(tmp_path)])
    fn, handle = tantivy_query_fn(tmp_path / "tantivy", {"q1": {"category": "economia"}})
    assert sorted(fn({"qid": "q1", "query": "mercato"}, "plain")) == ["pesce", "rionali"]
    assert fn({"qid": "q1", "query": "mercato"}, "filter") == ["pesce"]
    assert fn({"qid": "q1", "query": "mercato"}, "page") is None  # no facet counts: not measured
    handle.close()
    worker_main(["add", "tantivy", str(more), str(tmp_path)])
    fn, handle = tantivy_query_fn(tmp_path / "tantivy", {})
    assert sorted(fn({"qid": "q1", "query": "mercato"}, "plain")) == MERCATO
    handle.close()
