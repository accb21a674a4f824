"""Ranked retrieval from the RUM index (search.pg.rum, ARCHIVIO_PG_RUM=1),
on a real server that has the extension: `check` names the index a ranking uses, a pool of
RUM's best candidates ranks as every match does where the best articles
stand out, counts stay exact, and without the index the GIN path answers
the same. The pool thresholds are lowered here so that a small archive of
fictional news reaches them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg
import pytest

from archivio.search import open_archive
from archivio.search.pg import rum

from . import pg_support
from .robust_support import ROOT, cli_env

# Three articles about a storm ("bufera" in the title and all over the
# body) among twenty that mention one in passing, and four about hail.
STRONG = [
    {
        "id": f"bufera-{n}",
        "title": f"Bufera sulla costa, {place}",
        "body": f"La bufera ha colpito {place} nella notte. Bufera e vento forte: la bufera non si "
        "ferma, dicono i pescatori, e la bufera di ieri era la peggiore dell'anno.",
        "date": f"2024-01-0{n}",
    }
    for n, place in enumerate(["Camogli", "Sestri Levante", "Lerici"], start=1)
]
WEAK = [
    {
        "id": f"cronaca-{n:02d}",
        "title": f"Consiglio comunale numero {n}",
        "body": f"Il consiglio comunale ha discusso il bilancio del servizio idrico per la seduta {n}, "
        "approvando le tariffe dell'anno e un fondo per i danni della bufera di gennaio "
        "sul lungomare, poi rinviando il resto alla prossima riunione della giunta.",
        "date": f"2024-02-{n:02d}",
    }
    for n in range(1, 21)
]
HAIL = [
    {
        "id": f"grandine-{n}",
        "title": f"Grandine sui vigneti, raccolto a rischio ({n})",
        "body": "La grandine ha colpito i vigneti delle colline: i produttori contano i danni.",
        "date": f"2024-03-0{n}",
    }
    for n in range(1, 5)
]


@pytest.fixture(scope="module")
def rum_on():
    """ARCHIVIO_PG_RUM=1 for the module (CLI processes inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCHIVIO_PG_RUM", "1")
        yield


@pytest.fixture(scope="module")
def rum_dsn(pg_server, tmp_path_factory, rum_on) -> str:
    with psycopg.connect(pg_server) as conn:
        found = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'").fetchone()
    if not found:
        pytest.skip("estensione RUM non installata sul server di prova (Debian: postgresql-15-rum)")
    dsn = pg_support.create_database(pg_server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # 27 rows fit a page of the table: the planner would read it whole
        # rather than through an index, which is what a large archive does.
        name = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{name}" SET enable_seqscan = off')
    source = tmp_path_factory.mktemp("rum") / "articoli.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in STRONG + WEAK + HAIL))
    archive = open_archive("postgres", dsn=dsn)
    try:
        assert archive.import_paths([source]).added == len(STRONG + WEAK + HAIL)
        assert archive.check()["ranking"] == "available"  # turned on, made by the next rebuild
        archive.rebuild()
    finally:
        archive.close()
    return dsn


@pytest.fixture
def archive(rum_dsn):
    a = open_archive("postgres", dsn=rum_dsn)
    yield a
    a.close()


@pytest.fixture
def small_pools(monkeypatch):
    """A pool of 8 candidates for any ranking of more than 5 matches."""
    monkeypatch.setattr(rum, "POOL_ABOVE", 5)
    monkeypatch.setattr(rum, "POOL", 8)


def every_match_ranked(archive, text: str, **options):
    """The search of `text` as it is without a pool: every match ranked."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rum, "POOL_ABOVE", 10**9)
        return archive.search(text, **options)


def ids(result) -> list[str]:
    return [h.article.id for h in result.hits]


def test_a_new_archive_ranks_from_the_rum_index_and_check_says_so(archive, rum_dsn):
    assert archive.check()["ranking"] == "rum"
    with psycopg.connect(rum_dsn) as conn:
        method = conn.execute(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = %s",
            (rum.INDEX,),
        ).fetchone()
    assert method == ("rum",)
    env = cli_env(ARCHIVIO_BACKEND="postgres", ARCHIVIO_DSN=rum_dsn)
    cli = [sys.executable, str(ROOT / "cli.py"), "check"]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Ordinamento per rilevanza: indice RUM" in out.stdout


def rum_scans(dsn: str) -> int:
    """How many times the RUM index was scanned, as the server's statistics
    tell once the scanning sessions have ended."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s", (rum.INDEX,)
        ).fetchone()
    return row[0]


def test_a_pool_ranks_the_best_articles_as_ranking_every_match_does(archive, rum_dsn, small_pools):
    scans = rum_scans(rum_dsn)
    searching = open_archive("postgres", dsn=rum_dsn)
    pooled = searching.search("bufera", per_page=3, fold=False)
    searching.close()  # its server processes end, and report their statistics
    deadline = time.monotonic() + 5
    while rum_scans(rum_dsn) == scans and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rum_scans(rum_dsn) > scans  # the pool came from the index
    every = every_match_ranked(archive, "bufera", per_page=3, fold=False)
    assert sorted(ids(pooled)) == ["bufera-1", "bufera-2", "bufera-3"]
    assert ids(pooled) == ids(every)
    assert [h.score for h in pooled.hits] == pytest.approx([h.score for h in every.hits])
    # Counts are over every match, pool or not.
    assert (
        (pooled.total, pooled.exact_total, pooled.pages) == (every.total, every.exact_total, 8) == (23, 23, 8)
    )


def test_partial_matches_are_pooled_too(archive, small_pools):
    """No article holds both words: the partial matches (27) are ranked
    from a pool, the hail articles and the storm articles first."""
    pooled = archive.search("bufera grandine", per_page=4, fold=False)
    every = every_match_ranked(archive, "bufera grandine", per_page=4, fold=False)
    assert (pooled.total, pooled.exact_total) == (every.total, every.exact_total) == (27, 0)
    assert ids(pooled) == ids(every) == ["grandine-1", "grandine-2", "grandine-3", "grandine-4"]


def test_pages_within_the_pool_are_one_ranking(archive, small_pools):
    """Pages ending by rank POOL // 2 (4) are cut from one ranking: none
    repeated, none missing."""
    top = ids(archive.search("bufera", per_page=4, fold=False))
    paged = [i for page in (1, 2) for i in ids(archive.search("bufera", per_page=2, page=page, fold=False))]
    assert paged == top and len(set(top)) == 4
    # Past the pool's half, the ranking of every match.
    deep = ids(archive.search("bufera", per_page=5, page=2, fold=False))
    assert deep == ids(every_match_ranked(archive, "bufera", per_page=5, page=2, fold=False))


def test_without_the_index_the_gin_path_answers_the_same(archive, rum_dsn, small_pools):
    before = archive.search("bufera", per_page=3, fold=False)
    with psycopg.connect(rum_dsn, autocommit=True) as conn:
        conn.execute(f"DROP INDEX {rum.INDEX}")
        conn.execute("DROP EXTENSION rum")
    rum._known.clear()  # as a server process finds out within rum._RECHECK seconds
    try:
        assert archive.check()["ranking"] == "available"
        after = archive.search("bufera", per_page=3, fold=False)
        assert ids(after) == ids(before) and after.total == before.total
    finally:
        archive.rebuild()  # makes the extension and the index again
    assert archive.check()["ranking"] == "rum"


def test_turned_off_a_rebuild_drops_the_index(archive, monkeypatch):
    """Off (the default), a rebuild drops the index: for an archive that
    gains a streaming replica, which RUM's WAL would stop."""
    monkeypatch.delenv("ARCHIVIO_PG_RUM")
    archive.rebuild()
    assert archive.check()["ranking"] == "available"
    monkeypatch.setenv("ARCHIVIO_PG_RUM", "1")
    archive.rebuild()
    assert archive.check()["ranking"] == "rum"
