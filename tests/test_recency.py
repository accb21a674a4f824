"""The optional recency boost: newer articles first at equal relevance, never
above an article with more of the words, the same ranking on every page.

Run on both backends (marked both_backends): the same expectations hold for
whoosh and PostgreSQL, whose boosts share search.recency.boost_windows."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from archivio import cli
from archivio.search import Archive
from archivio.search.ranking import Ranking
from archivio.search.recency import WINDOW, boost_windows
from archivio.web import create_app

pytestmark = pytest.mark.both_backends

TEXT = "Il consiglio approva il bilancio comunale dopo una lunga seduta."
START = date(2020, 1, 1)


def article(n: int, day: int | None, body: str = TEXT) -> dict:
    return {
        "id": f"art-{n:03d}",
        "title": f"Seduta numero {n}",
        "body": body,
        "date": (START + timedelta(days=day)).isoformat() if day is not None else None,
    }


@pytest.fixture(scope="module")
def archive(archive_of) -> Archive:
    # Same words, so the same relevance: 150 dated articles imported out of date
    # order, one without a date, and an old article holding a word the others lack.
    days = [(n * 37) % 150 for n in range(150)]
    articles = [article(n, day) for n, day in enumerate(days)]
    articles.append(article(150, None))
    articles.append(article(151, 0, body=TEXT + " Il bilancio del porto resta in attivo."))
    assert len(articles) == 152
    return archive_of("recency", articles)


def ids(result) -> list[str]:
    return [h.article.id for h in result.hits]


def day_of(hit) -> int | None:
    return (hit.article.date - START).days if hit.article.date else None


def test_off_by_default_ties_keep_the_plain_order(archive):
    plain = archive.search("seduta consiglio", per_page=20)
    # Equal scores: the plain order (whoosh: the order of import; PostgreSQL: by id).
    assert ids(plain)[:3] == ["art-000", "art-001", "art-002"]
    assert len({round(h.score, 6) for h in plain.hits}) == 1


def test_newer_articles_first_at_equal_relevance(archive):
    boosted = archive.search("seduta consiglio", per_page=WINDOW, recency=True)
    days = [day_of(h) for h in boosted.hits]
    # The first window, newest first: the 100 best (all tied) by date.
    dated = [d for d in days if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert days[0] == max(dated)


def test_boost_is_the_documented_factor(archive):
    plain = {h.article.id: h.score for h in archive.search("seduta consiglio", per_page=WINDOW).hits}
    boosted = archive.search("seduta consiglio", per_page=WINDOW, recency=True)
    ranking = Ranking()
    newest = max(day_of(h) for h in boosted.hits if h.article.date)
    for hit in boosted.hits:
        if hit.article.date is None:
            assert hit.score == pytest.approx(plain[hit.article.id])
            continue
        age = newest - day_of(hit)
        factor = 1 + ranking.recency_weight * 0.5 ** (age / ranking.recency_half_life_days)
        assert hit.score == pytest.approx(plain[hit.article.id] * factor, rel=1e-9)


def test_pages_cut_the_same_ranking(archive):
    whole = ids(archive.search("seduta consiglio", per_page=100, recency=True))
    pieces: list[str] = []
    for page in (1, 2, 3, 4):
        pieces += ids(archive.search("seduta consiglio", page=page, per_page=25, recency=True))
    assert pieces == whole
    # And across the window boundary too.
    second = archive.search("seduta consiglio", page=2, per_page=100, recency=True)
    across = archive.search("seduta consiglio", page=4, per_page=50, recency=True)
    assert ids(across) == ids(second)[50:]


def test_more_words_beat_a_newer_date(archive):
    # Only art-151 (day 0, the oldest) holds "porto": it stays first.
    result = archive.search("bilancio porto", recency=True)
    assert result.exact_total == 1
    assert ids(result)[0] == "art-151"
    # Partial matches follow, newest first among equals.
    assert day_of(result.hits[1]) == 149


def test_date_sorts_ignore_the_boost(archive):
    assert ids(archive.search("seduta", sort="newest", recency=True)) == ids(
        archive.search("seduta", sort="newest")
    )


def test_cli_flag(archive):
    runner = CliRunner()
    if isinstance(archive, Archive):
        args = ["--data-dir", str(archive.data_dir), "--index-dir", str(archive.index_dir), "query"]
    else:
        args = ["--backend", "postgres", "--dsn", archive.db.dsn, "query"]
    out = runner.invoke(cli.main, [*args, "seduta consiglio", "--recency", "--json", "--limit", "1"])
    assert out.exit_code == 0, out.output
    first = json.loads(out.output)["results"][0]
    assert first["date"] == (START + timedelta(days=149)).isoformat()


def test_web_sort_option(archive):
    client = create_app(archive).test_client()
    boosted = client.get("/api/search?q=seduta+consiglio&ordina=rilevanza-novita").get_json()
    assert boosted["results"][0]["date"] == (START + timedelta(days=149)).isoformat()
    plain = client.get("/api/search?q=seduta+consiglio").get_json()
    assert plain["results"][0]["id"] == "art-000"
    page = client.get("/?q=seduta+consiglio&ordina=rilevanza-novita")
    assert page.status_code == 200
    assert '<option value="rilevanza-novita" selected>Rilevanza, prima i recenti</option>' in page.text


def test_windows_are_pure_arithmetic():
    # (key, score, day): the newest dated article of each window counts as age 0;
    # undated articles and date sorts (score None) keep their score.
    ranked = [("a", 1.0, 10.0), ("b", 1.0, 100.0), ("c", 1.05, None), ("d", None, 50.0)]
    out = boost_windows(ranked, 0.2, 90.0)
    assert [key for key, _ in out] == ["b", "a", "c", "d"]
    assert dict(out) == {"a": pytest.approx(1.0 + 0.2 * 0.5), "b": 1.2, "c": 1.05, "d": None}
    # A weight of 0 is the plain ranking; the second window has its own newest article.
    assert boost_windows(ranked, 0.0, 90.0) == [(k, s) for k, s, _ in ranked]
    many = [(n, 1.0, float(n % WINDOW if n < WINDOW else 0)) for n in range(WINDOW + 2)]
    out = boost_windows(many, 0.2, 90.0)
    assert out[0] == (WINDOW - 1, 1.2)
    assert out[WINDOW:] == [(WINDOW, 1.2), (WINDOW + 1, 1.2)]
