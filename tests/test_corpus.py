"""Integration on the real dev corpus (skipped when ../shared is absent)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import CORPUS, QUERIES, needs

pytestmark = [pytest.mark.corpus, pytest.mark.both_backends]


def test_whole_corpus_is_imported_and_indexed(corpus_archive):
    stats = corpus_archive.stats()
    assert stats["articles"] == stats["indexed"] == 19_902
    assert stats["first_date"] == "2020-01-01"
    assert corpus_archive.check()["ok"]
    assert CORPUS.exists()


def _concurrently(function, items: list) -> list:
    """`function` over `items`, three at a time: a PostgreSQL search spends
    most of its time waiting for the server, which has a core of its own
    (the archive answers from several threads, as behind the web server)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(function, items))


def test_known_item_queries_find_their_article(corpus_archive):
    needs(QUERIES)
    queries = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]

    def search(q: dict):
        f = q.get("filters") or {}
        return corpus_archive.search(
            q["query"],
            author=f.get("author"),
            category=f.get("category"),
            since=f.get("since"),
            until=f.get("until"),
            facets=False,
        )

    top1 = top10 = 0
    for q, result in zip(queries, _concurrently(search, queries), strict=True):
        ids = [h.article.id for h in result.hits]
        top1 += bool(ids) and ids[0] in q["relevant"]
        top10 += any(i in q["relevant"] for i in ids)
        assert result.total > 0, q["qid"]
    # Measured 147/150 at rank 1 and 149/150 in the top 10 when this was written.
    assert top1 >= 143 and top10 >= 148, (top1, top10)


def test_facets_and_filters_on_the_corpus(corpus_archive):
    result = corpus_archive.search("coronavirus", category="cronaca", since="2020-03-01", until="2020-03-31")
    assert result.total > 100
    categories = {c["value"]: c["count"] for c in result.facets["category"]}
    # Disjunctive: the chosen category counts all its matches, the others stay offered.
    assert categories["cronaca"] == result.total and len(categories) > 1
    months = {m["value"]: m["count"] for m in result.facets["month"]}
    assert months["2020-03"] == result.total
    assert sum(a["count"] for a in result.facets["author"]) <= result.total
    assert all(h.article.date.month == 3 for h in result.hits)


LONG_QUERY = (
    "governo regione sindaco ospedale scuola lavoro tribunale polizia calcio campionato "
    "economia banca europa elezioni partito ministro presidente città provincia comune "
    "mercato prezzi turismo cultura festival"
)


@pytest.mark.parametrize("query", ["vaccino anziani lombardia", LONG_QUERY])
def test_counts_and_facets_on_the_corpus_never_depend_on_page_or_sort(corpus_archive, query):
    reference = corpus_archive.search(query)
    assert reference.total > reference.exact_total or reference.exact_total >= 10
    # One at a time: the long query takes PostgreSQL ~2 s, and three at once
    # on a busy machine passed its 10 s statement timeout.
    for sort in ("relevance", "newest", "oldest"):
        for per_page in (1, 5, 7, 10, 50):
            r = corpus_archive.search(query, sort=sort, per_page=per_page)
            assert (r.total, r.exact_total) == (reference.total, reference.exact_total), (sort, per_page)
            assert r.facets == reference.facets
            assert len(r.hits) == min(per_page, r.total)
            if sort != "relevance":  # by date, the articles with every word first
                assert [h.all_words for h in r.hits] == sorted((h.all_words for h in r.hits), reverse=True)


def test_chosen_category_keeps_the_others_on_the_corpus(corpus_archive):
    everything = corpus_archive.search("coronavirus")
    first = everything.facets["category"][0]
    chosen = corpus_archive.search("coronavirus", category=first["value"])
    assert chosen.total == first["count"]
    assert chosen.facets["category"] == everything.facets["category"]
