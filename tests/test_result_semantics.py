"""Counts a reader can trust: totals and facets are functions of (query,
filters) only; sorting and paging change the order and the slice, nothing
else. Disjunctive facets, browsing without words, bylines as one author.

A small archive written for these tests, on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search.article import author_key, author_name
from archivio.search.results import FILL_BELOW
from archivio.search.whoosh_sqlite import searching as whoosh_searching

pytestmark = pytest.mark.both_backends

CATEGORIES = ["cronaca", "esteri", "sport"]
AUTHORS = ["dal nostro inviato MARCO VERDI", "Marco Verdi", "di ANNA NERI", "Anna Neri", "Luca Ziniti"]


def _records() -> list[dict]:
    """40 articles: 3 hold "vaccino anziani lombardia" whole (one per
    category), 20 only "vaccino", 8 only "lombardia", 9 none of the words."""
    out = []
    start = date(2019, 11, 20)
    for n in range(40):
        if n < 3:
            words = "Il vaccino per gli anziani arriva in Lombardia"
        elif n < 23:
            words = "Il vaccino antinfluenzale è disponibile in farmacia"
        elif n < 31:
            words = "In Lombardia nevica sulle montagne"
        else:
            words = "Il consiglio comunale approva il bilancio"
        out.append(
            {
                "id": f"r{n:02d}",
                "title": f"Notizia {n}: {words.split()[1]}",
                "body": f"{words}. Testo numero {n} dell'archivio di prova.",
                "author": AUTHORS[n % len(AUTHORS)],
                "category": CATEGORIES[n % len(CATEGORIES)],
                # Every 5 days from 20 Nov 2019: 2019 and 2020, several months.
                "date": (start + timedelta(days=5 * n)).isoformat(),
            }
        )
    return out


@pytest.fixture(scope="module")
def archive(archive_of):
    return archive_of("semantics", _records())


def _facet(result, name) -> dict:
    return {f["value"]: f["count"] for f in result.facets[name]}


def test_partial_matches_join_below_a_constant_not_the_page_size(archive):
    assert FILL_BELOW == 10
    for per_page in (1, 2, 3, 5, 10, 50):
        r = archive.search("vaccino anziani lombardia", per_page=per_page)
        # 3 hold every word; 20 + 8 hold some.
        assert (r.total, r.exact_total, r.partial_total) == (31, 3, 28)
    r = archive.search("vaccino anziani lombardia", per_page=5)
    assert [h.all_words for h in r.hits] == [True, True, True, False, False]
    assert {h.article.id for h in r.hits[:3]} == {"r00", "r01", "r02"}


def test_sort_changes_the_order_and_nothing_else(archive):
    results = {
        sort: archive.search("vaccino anziani lombardia", sort=sort, per_page=100)
        for sort in ("relevance", "newest", "oldest")
    }
    totals = {(r.total, r.exact_total) for r in results.values()}
    assert totals == {(31, 3)}
    assert len({str(r.facets) for r in results.values()}) == 1
    ids = {sort: [h.article.id for h in r.hits] for sort, r in results.items()}
    assert sorted(ids["relevance"]) == sorted(ids["newest"]) == sorted(ids["oldest"])
    # By date, the articles with every word first, each group by date.
    assert ids["newest"][:3] == ["r02", "r01", "r00"]
    assert ids["oldest"][:3] == ["r00", "r01", "r02"]
    assert ids["newest"][3:] == sorted(ids["newest"][3:], reverse=True)
    assert ids["oldest"][3:] == sorted(ids["oldest"][3:])
    assert [h.all_words for h in results["newest"].hits] == [True] * 3 + [False] * 28


def test_many_all_words_matches_leave_partial_ones_out(archive):
    r = archive.search("vaccino", per_page=2)
    assert (r.total, r.exact_total, r.partial_total) == (23, 23, 0)


@pytest.fixture
def unhurried(archive, monkeypatch):
    """The ranking budgets out of reach: a search cut by one lists its
    partial matches newest first, as the page then says (SearchResult.cut),
    and a CI worker's garbage collection once took a 40-article search past
    the whoosh engine's 0.35 s of CPU. Paging is what is tested here."""
    monkeypatch.setattr(whoosh_searching, "TIME_LIMIT", 60.0)
    if hasattr(archive, "ranking_seconds"):  # PostgreSQL's, in wall seconds
        monkeypatch.setattr(archive, "ranking_seconds", 9.0)
    return archive


@given(
    per_page=st.integers(1, 40),
    page=st.integers(1, 4),
    sort=st.sampled_from(["relevance", "newest", "oldest"]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_totals_and_facets_never_depend_on_paging_or_sort(unhurried, per_page, page, sort):
    archive = unhurried
    reference = archive.search("vaccino anziani lombardia", category=["cronaca", "sport"])
    if (page - 1) * per_page >= reference.total:
        page = 1
    r = archive.search(
        "vaccino anziani lombardia", category=["cronaca", "sport"], sort=sort, page=page, per_page=per_page
    )
    assert (r.total, r.exact_total) == (reference.total, reference.exact_total)
    assert r.facets == reference.facets
    assert r.facet_sizes == reference.facet_sizes
    # The slice is the slice of the whole list in that order.
    whole = archive.search(
        "vaccino anziani lombardia", category=["cronaca", "sport"], sort=sort, per_page=100
    )
    start = (page - 1) * per_page
    assert [h.article.id for h in r.hits] == [h.article.id for h in whole.hits[start : start + per_page]]


def test_facets_are_disjunctive(archive):
    everything = archive.search("vaccino")
    assert _facet(everything, "category") == {"cronaca": 8, "esteri": 8, "sport": 7}
    chosen = archive.search("vaccino", category="cronaca")
    assert chosen.total == 8
    # The other categories still show, each with the count it would add.
    assert _facet(chosen, "category") == {"cronaca": 8, "esteri": 8, "sport": 7}
    both = archive.search("vaccino", category=["cronaca", "esteri"])
    assert both.total == 16
    assert _facet(both, "category") == {"cronaca": 8, "esteri": 8, "sport": 7}
    # Other facets count within the chosen categories.
    assert sum(_facet(both, "author").values()) == 16
    assert sum(_facet(both, "year").values()) == 16


@given(
    query=st.sampled_from(["", "vaccino", "lombardia", "vaccino anziani lombardia"]),
    author=st.sampled_from([None, "Marco Verdi", "di ANNA NERI", "Luca Ziniti"]),
    categories=st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2),
    span=st.sampled_from([None, ("2019-12-01", "2020-03-31"), ("2020-01-01", "2020-12-31")]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_each_facet_counts_the_matches_passing_the_other_filters(archive, query, author, categories, span):
    """Every facet, with or without words (browsing reads counts kept apart
    on PostgreSQL), equals a count over the records: the matches passing
    every filter but the facet's own; months within the chosen year."""
    records = {r["id"]: r for r in _records()}
    matched = [records[h.article.id] for h in archive.search(query, per_page=100).hits]
    since, until = span or (None, None)

    def passes(r: dict, left: str) -> bool:
        day = r["date"]
        return (
            (left == "author" or author is None or author_key(r["author"]) == author_key(author))
            and (left == "category" or not categories or r["category"] in categories)
            and (left == "dates" or since is None or since <= day <= until)
        )

    def counted(left: str, value) -> dict:
        out: dict = {}
        for r in matched:
            if passes(r, left):
                out[value(r)] = out.get(value(r), 0) + 1
        return out

    r = archive.search(query, author=author, category=categories, since=since, until=until, facet_limit=None)
    assert r.total == sum(passes(m, "") for m in matched)
    nonzero = {
        name: {v: n for v, n in _facet(r, name).items() if n} for name in ("author", "category", "year")
    }
    assert nonzero["author"] == counted("author", lambda m: author_name(m["author"]))
    assert nonzero["category"] == counted("category", lambda m: m["category"])
    assert nonzero["year"] == counted("dates", lambda m: int(m["date"][:4]))
    months = counted("dates", lambda m: m["date"][:7]) if span and span[0][:4] == span[1][:4] else {}
    assert _facet(r, "month") == {m: n for m, n in months.items() if m[:4] == (span or ("",))[0][:4]}


def test_bylines_are_one_author_in_facets_and_filters(archive):
    r = archive.search("", per_page=1)
    assert _facet(r, "author") == {"Marco Verdi": 16, "Anna Neri": 16, "Luca Ziniti": 8}
    # The article keeps its byline as written.
    assert archive.get("r00").author == "dal nostro inviato MARCO VERDI"
    assert archive.search("", author="Marco Verdi").total == 16
    assert archive.search("", author="dal nostro inviato Marco Verdi").total == 16
    # A partial name is a filter with its true count.
    partial = archive.search("", author="Ziniti")
    assert partial.total == 8
    assert _facet(partial, "author") == {"Marco Verdi": 16, "Anna Neri": 16, "Luca Ziniti": 8}


def test_browsing_without_words_lists_newest_first_with_facets(archive):
    r = archive.search("", per_page=3)
    assert (r.total, r.exact_total, r.sort) == (40, 40, "newest")
    assert [h.article.id for h in r.hits] == ["r39", "r38", "r37"]
    assert _facet(r, "category") == {"cronaca": 14, "esteri": 13, "sport": 13}
    assert _facet(r, "year") == {2019: 9, 2020: 31}
    oldest = archive.search("", category="esteri", sort="oldest", per_page=2)
    assert oldest.total == 13
    assert [h.article.id for h in oldest.hits] == ["r01", "r04"]


def test_months_of_the_chosen_year(archive):
    r = archive.search("", since="2019-01-01", until="2019-12-31")
    assert r.total == 9
    # 20 Nov 2019 + 5-day steps: 3 in November, 6 in December.
    assert r.facets["month"] == [{"value": "2019-11", "count": 3}, {"value": "2019-12", "count": 6}]
    # The year facet ignores the date filter (another year can be chosen).
    assert _facet(r, "year") == {2019: 9, 2020: 31}
    month = archive.search("", since="2019-12-01", until="2019-12-31")
    assert month.total == 6
    assert month.facets["month"] == r.facets["month"]
    assert archive.search("").facets["month"] == []


def test_facet_limit_lists_every_value(archive):
    r = archive.search("", facet_limit=1)
    assert r.facet_sizes["author"] == 3 and len(r.facets["author"]) == 1
    assert r.facets["author"] == [{"value": "Anna Neri", "count": 16}]
    every = archive.search("", facet_limit=None)
    assert len(every.facets["author"]) == 3


def test_json_keeps_its_keys_and_adds_new_ones(archive):
    d = archive.search("vaccino anziani lombardia", per_page=4).to_dict()
    assert {"total", "exact_total", "fallback", "suggestion", "facets", "results"} <= set(d)
    assert (d["total"], d["exact_total"], d["partial_total"], d["cut"]) == (31, 3, 28, False)
    assert [r["all_words"] for r in d["results"]] == [True, True, True, False]
    assert set(d["facets"]) == {"author", "category", "year", "month"}


def test_byline_names():
    assert author_name("dal nostro inviato FEDERICO RAMPINI") == "Federico Rampini"
    assert author_name("dalla nostra inviata a Kiev GIULIA ROSSI") == "Giulia Rossi"
    assert author_name("a cura di Mario Rossi") == "Mario Rossi"
    assert author_name("di Luigi Di Maio") == "Luigi Di Maio"
    assert author_name("Di Maio") == "Di Maio"
    assert (
        author_key("dal nostro inviato FEDERICO RAMPINI")
        == author_key("Federico Rampini")
        == "federico rampini"
    )
