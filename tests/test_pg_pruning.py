"""The pruned relevance ranking of PostgreSQL (search.pg.searching._pruned):
ranking first the articles holding the words that can score the most, and
keeping that ranking only when BM25's bounds prove it, gives the ranking
of every match, page by page, scores included. On a real server, an
archive of fictional articles made of words of very different frequencies
(seeded), the pruning threshold lowered so that it is tried on every query."""

from __future__ import annotations

import json
import random

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search import open_archive
from archivio.search.pg import searching

from . import pg_support

# Rare words first: "zibellino" in ~2% of the articles, "comune" in ~90%.
WORDS = {
    "zibellino": 0.02,
    "ghiacciaio": 0.04,
    "vendemmia": 0.08,
    "traghetto": 0.15,
    "mercato": 0.3,
    "scuola": 0.5,
    "comune": 0.9,
}
FILLER = ["oggi", "ieri", "sera", "notizia", "cronaca", "cittadini", "piazza", "strada", "lavori", "giunta"]
ARTICLES = 160


def articles() -> list[dict]:
    """Articles of seeded random words: each query word in its share of
    them, once to four times, in the title now and then; lengths of 8 to
    80 words."""
    rng = random.Random(29)
    out = []
    for n in range(ARTICLES):
        body = [rng.choice(FILLER) for _ in range(rng.randint(8, 80))]
        title = [rng.choice(FILLER)]
        for word, share in WORDS.items():
            if rng.random() < share:
                for _ in range(rng.randint(1, 4)):
                    body.insert(rng.randrange(len(body) + 1), word)
                if rng.random() < 0.2:
                    title.append(word)
        out.append({"id": f"a{n:03d}", "title": " ".join(title).capitalize(), "body": " ".join(body) + "."})
    return out


@pytest.fixture(scope="module")
def archive(pg_server, tmp_path_factory):
    dsn = pg_support.create_database(pg_server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # 160 rows fit a few pages: the planner would read them whole, as a
        # large archive never does for a text search.
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET enable_seqscan = off')
    source = tmp_path_factory.mktemp("pruning") / "articoli.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in articles()))
    a = open_archive("postgres", dsn=dsn)
    assert a.import_paths([source]).added == ARTICLES
    yield a
    a.close()


def ranking(archive, text: str, prune_above: int, **options) -> list[tuple[str, float]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(searching, "PRUNE_ABOVE", prune_above)
        result = archive.search(text, fold=False, **options)
    return [(h.article.id, round(h.score or 0.0, 9)) for h in result.hits]


QUERIES = st.lists(st.sampled_from(sorted(WORDS)), min_size=2, max_size=5, unique=True).map(" ".join)


@st.composite
def queries_with_phrases(draw) -> str:
    """A query of the words, its first two quoted now and then: a phrase
    is held (for the pruning) by the articles holding any of its words."""
    words = draw(QUERIES).split()
    if draw(st.booleans()):
        words[:2] = [f'"{words[0]} {words[1]}"']
    return " ".join(words)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries_with_phrases(), page=st.integers(1, 4), per_page=st.sampled_from([3, 5, 10]))
def test_a_pruned_ranking_is_the_ranking_of_every_match(archive, text, page, per_page):
    pruned = ranking(archive, text, 0, page=page, per_page=per_page)
    every = ranking(archive, text, 10**9, page=page, per_page=per_page)
    assert pruned == every


def test_the_rarest_words_settle_a_page(archive, monkeypatch):
    """The pruning is not idle: for a query of a rare word and common ones,
    the articles holding the rare word prove the first page; its k-th
    score is then above what the common words alone can add."""
    proved = []
    attempt = searching._pruned

    def recorded(*args):
        pruned = attempt(*args)
        proved.append(pruned is not None and pruned.proved)
        return pruned

    monkeypatch.setattr(searching, "_pruned", recorded)
    pruned = ranking(archive, "vendemmia mercato comune", 0, per_page=3)
    assert True in proved
    assert pruned == ranking(archive, "vendemmia mercato comune", 10**9, per_page=3)


# _holding's claim, checked against PostgreSQL's own ts_rank: a (vector,
# tsquery) pair ranks above ts_rank's floor only in the articles its clause
# holds, whatever the tsquery's shape (the weight labels, an OR at the top
# of a phrase, an AND of ORs, a negation).
LEXEMES = ["alfa", "beta", "gamma", "delta"]
OPERATORS = st.sampled_from(["|", "&", "<->", "<2>"])
TSQUERIES = st.recursive(
    st.builds(lambda w, label: f"'{w}'{label}", st.sampled_from(LEXEMES), st.sampled_from(["", ":A"])),
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["|", "&", "<->", "<2>"]), inner
        ),
        inner.map(lambda a: f"!({a})"),
    ),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from([*LEXEMES, "altro"]), max_size=8),
    title=st.lists(st.sampled_from(LEXEMES), max_size=2),
    ts=TSQUERIES,
)
def test_a_rank_above_the_floor_is_held(pg_server, words, title, ts):
    holding = searching._holding([("tsv", ts)])
    vector = "setweight(to_tsvector('simple', %s), 'A') || to_tsvector('simple', %s)"
    sql = f"SELECT ts_rank({vector}, %s::tsquery, 0), ({vector}) @@ %s::tsquery"
    with psycopg.connect(pg_server) as conn:
        rank, held = conn.execute(
            sql, (" ".join(title), " ".join(words), ts, " ".join(title), " ".join(words), holding.params[0])
        ).fetchone()
    assert rank <= 1e-19 or held, (ts, title, words, rank)


def test_a_phrase_is_held_by_two_of_its_words():
    """ts_rank scores an AND or a phrase by pairs of its lexemes: an article
    with one of them is not held ("92 anni" is not held by every article
    saying "anni"); under an OR at the top, any lexeme is."""
    assert searching._holding([("tsv_exact", "'92' <-> 'anni'")]).params == ("('92' & 'anni')",)
    assert searching._holding([("tsv", "'a' <-> 'b' <-> 'c'")]).params == (
        "('a' & 'b') | ('a' & 'c') | ('b' & 'c')",
    )
    assert searching._holding([("tsv", "('a') | ('b' <-> 'c')")]).params == ("'a' | 'b' | 'c'",)
    assert searching._holding([("tsv", "'a':* & 'b'")]) is None


def test_an_unproved_page_ranks_the_other_matches_once(archive, monkeypatch):
    """When the chosen groups' articles do not prove the page, the articles
    holding none of them are ranked apart and merged: still the page of
    every match, without ranking the chosen groups' articles again."""
    outcomes: list[bool] = []
    attempt = searching._pruned

    def recorded(*args):
        pruned = attempt(*args)
        if pruned is not None:
            outcomes.append(pruned.proved)
        return pruned

    monkeypatch.setattr(searching, "_pruned", recorded)
    for text in (
        "scuola comune",
        "traghetto mercato scuola comune",
        "mercato scuola comune oggi",
        "zibellino comune",
    ):
        for per_page in (3, 10):
            pruned = ranking(archive, text, 0, per_page=per_page)
            assert pruned == ranking(archive, text, 10**9, per_page=per_page)
    assert False in outcomes and True in outcomes
