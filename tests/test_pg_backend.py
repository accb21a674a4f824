"""What only the PostgreSQL backend has: migrations, the Italian text search
configuration, the vocabulary, transactions and the writer lock. (The
Archive API itself is tested on both backends by the shared test modules.)"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from datetime import date

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search import IndexMissing, WriterBusy, open_archive
from archivio.search.analysis import ANALYSIS_VERSION, stemming_analyzer
from archivio.search.pg import searching
from archivio.search.pg.connection import STATEMENT_TIMEOUT_MS
from archivio.search.pg.migrations import LATEST, current_version, migrate
from archivio.search.settings import SettingError

from . import pg_support
from .conftest import DEMO, DEMO_COUNT, ROOT, archive_env


@pytest.fixture
def dsn(pg_server) -> str:
    return pg_support.create_database(pg_server)


@pytest.fixture
def archive(dsn):
    a = open_archive("postgres", dsn=dsn)
    yield a
    a.close()


def vocabulary(dsn: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(dsn) as conn:
        return {(k, t): n for k, t, n in conn.execute("SELECT kind, term, ndoc FROM vocabulary")}


def test_migrations_are_versioned_and_idempotent(archive, dsn):
    archive.stats()  # opening the archive applies them
    with psycopg.connect(dsn) as conn:
        assert current_version(conn) == LATEST == 11
        assert migrate(conn) == []
        rows = conn.execute("SELECT version, description FROM schema_version ORDER BY 1").fetchall()
        assert rows == [
            (1, "articles, Italian text search configuration, vocabulary"),
            (2, "unstemmed vector for exact phrases"),
            (3, "analysis version of the search vectors"),
            (4, "article vectors of the semantic extra"),
            (5, "archive events for monitoring"),
            (6, "stories: signatures and band keys of near-duplicate detection"),
            (7, "the shared story of each article, kept by a trigger"),
            (8, "vector lengths in positions, for BM25's length normalisation"),
            (9, "facet counts of the indexed articles, kept by triggers; indexes in both date orders"),
            (10, "story bands with their holders' dates"),
            (11, "search vectors kept in the article's row"),
        ]


def test_story_bands_get_their_articles_dates(archive, dsn, tmp_path):
    """Migration 10 on bands stored without dates gives each its article's
    date (NULL undated): the bands an import writes itself."""
    records = [
        {"id": f"a{n}", "title": f"Notizia {n}", "body": f"Testo della notizia numero {n}.", **extra}
        for n, extra in enumerate([{"date": "2024-03-01"}, {"date": "2023-12-31"}, {}])
    ]
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert archive.import_paths([src]).added == 3
    bands = "SELECT key, date, id FROM story_bands ORDER BY 1, 2, 3"
    with psycopg.connect(dsn) as conn:
        written = conn.execute(bands).fetchall()
        assert len(written) == 3 * 16
        assert {(i, d) for _, d, i in written} == {
            ("a0", date(2024, 3, 1)),
            ("a1", date(2023, 12, 31)),
            ("a2", None),
        }
        conn.execute("ALTER TABLE story_bands DROP COLUMN date")  # takes its index with it
        conn.execute("CREATE INDEX story_bands_key ON story_bands (key)")
        conn.execute("DELETE FROM schema_version WHERE version = 10")
        conn.commit()
        assert migrate(conn) == [10]
        assert conn.execute(bands).fetchall() == written


def toasted_values(conn: psycopg.Connection) -> int:
    """How many values of `articles` lie in its TOAST table."""
    toast = conn.execute(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'articles'::regclass"
    )
    return conn.execute(f"SELECT count(DISTINCT chunk_id) FROM {toast.fetchone()[0]}").fetchone()[0]


def test_vectors_lie_in_the_articles_row(archive, dsn, tmp_path):
    """Migration 11: an article of 180 different words (vectors of ~3 kB
    each) keeps them in its row, where they were moved to the TOAST table
    before; the migration moves an older archive's in, and ranks the same."""
    rng = random.Random(11)
    words = [
        "".join(rng.choice("bcdfglmnprstvz") + rng.choice("aeiou") for _ in range(4)) for _ in range(400)
    ]
    records = [
        {"id": f"a{n}", "title": f"Notizia {words[n]}", "body": " ".join(rng.sample(words, 180)) + "."}
        for n in range(3)
    ]
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert archive.import_paths([src]).added == 3

    def ranking() -> list[tuple[str, float]]:
        return [(h.article.id, h.score) for h in archive.search(f"{words[0]} {words[1]} {words[7]}").hits]

    ranked = ranking()
    assert sorted(i for i, _ in ranked) == ["a0", "a1", "a2"]
    with psycopg.connect(dsn) as conn:
        sizes = conn.execute("SELECT pg_column_size(tsv), pg_column_size(tsv_exact) FROM articles").fetchall()
        assert all(2500 < size < 4000 for row in sizes for size in row), sizes
        assert toasted_values(conn) == 0
        # The layout before migration 11: every vector moved out.
        conn.execute("ALTER TABLE articles RESET (toast_tuple_target)")
        for column in ("tsv", "tsv_exact"):
            conn.execute(f"ALTER TABLE articles ALTER COLUMN {column} SET STORAGE EXTENDED")
        conn.execute("UPDATE articles SET tsv = tsv || ''::tsvector, tsv_exact = tsv_exact || ''::tsvector")
        conn.execute("DELETE FROM schema_version WHERE version = 11")
        conn.commit()
        assert toasted_values(conn) == 6
        assert ranking() == ranked
        assert migrate(conn) == [11]
        assert toasted_values(conn) == 0
    assert ranking() == ranked


def test_phrases_match_the_words_as_written(archive, dsn, tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "eroi", "title": "Eroi civili", "body": "Gli eroi civili."}) + "\n")
    archive.import_paths([src])
    assert archive.search('"eroe civile"').exact_total == 0
    assert archive.search('"eroi civili"').exact_total == 1
    with psycopg.connect(dsn) as conn:
        words = conn.execute("SELECT tsvector_to_array(tsv_exact) FROM articles").fetchone()[0]
        assert sorted(words) == ["civili", "eroi", "gli"]
        # As after migration 2 on a database indexed before it: no unstemmed vectors yet.
        conn.execute("UPDATE articles SET tsv_exact = NULL")
    assert not archive.check()["ok"]
    assert archive.rebuild() == 1
    assert archive.check()["ok"]
    assert archive.search('"eroi civili"').exact_total == 1


def test_postgres_vectors_are_the_engine_s_terms(archive, dsn, tmp_path):
    text = "Dell’Europa, l'elezione e le elezioni: più città, perché 2,5 e 1.000 U.S.A. centro-destra"
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "t", "title": "Titolo", "subtitle": "Sommario", "body": text}) + "\n")
    archive.import_paths([src])
    with psycopg.connect(dsn) as conn:
        tsv, exact, analysis = conn.execute(
            "SELECT tsv::text, tsv_exact::text, analysis FROM articles"
        ).fetchone()
    assert analysis == ANALYSIS_VERSION
    # Positions as whoosh has them (title 1, subtitle 2, body from 3), weights A, B, D (unmarked);
    # stop words are gaps in the stems and words in the unstemmed vector.
    assert tsv == (
        "'1000':13 '2,5':11 'centr':15 'centrodestr':15 'citt':9 'destr':16 'elezion':4,7 'europ':3 "
        "'sommar':2B 'titol':1A 'usa':14"
    )
    assert exact == (
        "'1000':13 '2,5':11 'centro':15 'centrodestra':15 'citta':9 'destra':16 'e':5,12 'elezione':4 "
        "'elezioni':7 'europa':3 'le':6 'perche':10 'piu':8 'sommario':2B 'titolo':1A 'usa':14"
    )
    stems = sorted(t.text for t in stemming_analyzer()(text))
    assert stems == sorted(
        ["europ", "elezion", "elezion", "citt", "2,5", "1000", "usa", "centrodestr", "centr", "destr"]
    )


def test_vocabulary_follows_imports_updates_and_removals(archive, dsn, tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "title": "Tram a Bologna", "body": "Il tram nuovo."}) + "\n")
    archive.import_paths([src])
    assert vocabulary(dsn) == {
        ("n", ""): 1,
        # The mean vector lengths in positions: 'tram':1A,5 'bologn':3A 'nuov':6,
        # and the six words as written.
        ("n", "tsv"): 4,
        ("n", "tsv_exact"): 6,
        ("w", "tram"): 1,
        ("w", "a"): 1,
        ("w", "bologna"): 1,
        ("w", "il"): 1,
        ("w", "nuovo"): 1,
        ("s", "tram"): 1,
        ("s", "bologn"): 1,
        ("s", "nuov"): 1,
    }
    src.write_text(json.dumps({"id": "a", "title": "Metro a Bologna", "body": "La metro."}) + "\n")
    assert archive.import_paths([src]).updated == 1
    assert vocabulary(dsn) == {
        ("n", ""): 1,
        ("n", "tsv"): 3,
        ("n", "tsv_exact"): 5,
        ("w", "metro"): 1,
        ("w", "a"): 1,
        ("w", "bologna"): 1,
        ("w", "la"): 1,
        ("s", "metr"): 1,
        ("s", "bologn"): 1,
    }
    assert archive.search("metro").total == 1
    assert archive.remove(["a"]) == ["a"]
    assert vocabulary(dsn) == {}


def test_failed_batch_leaves_no_half_article(archive, dsn, tmp_path):
    archive.import_paths([DEMO])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE articles ADD CONSTRAINT short_titles CHECK (id <> 'long')")
    src = tmp_path / "b.jsonl"
    src.write_text(
        json.dumps({"id": "ok", "title": "Breve", "body": "Testo."})
        + "\n"
        + json.dumps({"id": "long", "title": "x" * 80, "body": "Testo."})
        + "\n"
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        archive.import_paths([src])
    assert archive.get("ok") is None and archive.get("long") is None
    assert archive.check()["ok"] and archive.stats()["indexed"] == DEMO_COUNT


def test_no_index_import_then_rebuild(archive):
    archive.import_paths([DEMO], index=False)
    with pytest.raises(IndexMissing, match="archivio rebuild"):
        archive.search("tram")
    assert archive.check()["ok"] is False and len(archive.check()["missing_from_index"]) == 20
    assert archive.rebuild() == DEMO_COUNT
    assert archive.check()["ok"] and archive.search("tram bologna").exact_total == 1


def test_a_second_writer_waits_then_gives_up(archive, dsn):
    archive.stats()
    with archive.db.writing(1.0):
        other = open_archive("postgres", dsn=dsn, lock_timeout=0.3)
        with pytest.raises(WriterBusy, match="occupato"):
            other.import_paths([DEMO])
        other.close()


def test_unreachable_database_and_missing_dsn_are_clear(monkeypatch):
    monkeypatch.delenv("ARCHIVIO_DSN", raising=False)
    monkeypatch.setenv("ARCHIVIO_PG_CONNECT_TIMEOUT", "1")
    with pytest.raises(IndexMissing, match="ARCHIVIO_DSN"):
        open_archive("postgres")
    gone = open_archive("postgres", dsn=f"host=127.0.0.1 port={pg_support.free_port()} user=x")
    with pytest.raises(IndexMissing, match=r"non raggiungibile \(127.0.0.1\): connessione rifiutata"):
        gone.search("tram")
    with pytest.raises(IndexMissing, match="Indirizzo del database PostgreSQL non valido"):
        open_archive("postgres", dsn="non è un indirizzo").stats()


def test_a_database_that_does_not_exist_is_named_so(monkeypatch, pg_server):
    monkeypatch.setenv("ARCHIVIO_PG_CONNECT_TIMEOUT", "1")
    dsn = psycopg.conninfo.make_conninfo(pg_server, dbname="archivio_assente")
    missing = open_archive("postgres", dsn=dsn)
    with pytest.raises(IndexMissing, match=r"non raggiungibile \(127.0.0.1\): il database non esiste"):
        missing.stats()


def test_a_read_database_without_the_tables_yet_is_a_clear_message(archive, dsn, pg_server):
    """A replica that has not replayed the primary's schema yet (here: an empty database)."""
    archive.import_paths([DEMO])
    behind = open_archive("postgres", dsn=dsn, dsn_read=pg_support.create_database(pg_server))
    with pytest.raises(IndexMissing, match="replica non è ancora allineata"):
        behind.search("tram bologna")
    with pytest.raises(IndexMissing, match="replica non è ancora allineata"):
        behind.stats()
    behind.close()


def test_searches_answer_while_an_import_and_a_rebuild_run(archive, dsn, tmp_path):
    """The site does not stop for writes: searches through a second archive
    (its own connection pool, as a web server would have) keep answering,
    never with an error or a changed page, while this one imports and then
    rebuilds (each in its own transactions)."""
    import threading

    archive.import_paths([DEMO])
    expected = [h.article.id for h in archive.search("tram bologna").hits]
    more = tmp_path / "altri.jsonl"
    records = (
        {"id": f"altro-{n}", "title": f"Cronaca locale {n}", "body": f"Notizia numero {n} dal porto."}
        for n in range(1500)
    )
    more.write_text("".join(json.dumps(r) + "\n" for r in records))
    reader = open_archive("postgres", dsn=dsn)
    seen: list[list[str]] = []
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def search_loop() -> None:
        while writing.is_set():
            try:
                seen.append([h.article.id for h in reader.search("tram bologna").hits])
            except BaseException as e:  # noqa: BLE001 - any failure is the finding
                errors.append(e)

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        assert archive.import_paths([more]).added == 1500
        assert archive.rebuild() == 1500 + DEMO_COUNT
    finally:
        writing.clear()
        searcher.join()
        reader.close()
    assert not errors
    assert len(seen) > 5 and all(ids == expected for ids in seen)


def test_the_shared_story_column_follows_imports_and_removals(archive, dsn, tmp_path):
    """articles.shared_story (kept by a trigger on `stories`) is each
    article's story exactly when another article tells it too."""
    from .test_stories import articles

    source = tmp_path / "storie.jsonl"
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles()))
    archive.import_paths([source])

    def kept_and_derived() -> tuple[dict, dict]:
        with psycopg.connect(dsn) as conn:
            kept = dict(conn.execute("SELECT id, shared_story FROM articles WHERE shared_story IS NOT NULL"))
            derived = dict(
                conn.execute(
                    "SELECT s.id, s.story FROM stories s "
                    "WHERE EXISTS (SELECT 1 FROM stories o WHERE o.story = s.story AND o.id <> s.id)"
                )
            )
        return kept, derived

    kept, derived = kept_and_derived()
    assert kept == derived
    assert sorted(kept) == ["frana-agenzia", "frana-quotidiano", "frana-sito"]
    assert len(set(kept.values())) == 1
    archive.remove(["frana-quotidiano"])
    kept, derived = kept_and_derived()
    assert kept == derived and sorted(kept) == ["frana-agenzia", "frana-sito"]
    archive.remove(["frana-sito"])  # the agency's article now stands alone
    assert kept_and_derived() == ({}, {})
    assert archive.search("frana", fold=True).stories == archive.search("frana").total == 3


def facet_counts_kept_and_derived(dsn: str) -> tuple[dict, dict]:
    """facet_counts' rows, and the same counts derived from the indexed articles."""
    key = "author_key, author, category_key, category, date"
    with psycopg.connect(dsn) as conn:
        kept = {row[:5]: row[5] for row in conn.execute(f"SELECT {key}, n FROM facet_counts")}
        derived = {
            row[:5]: row[5]
            for row in conn.execute(
                f"SELECT {key}, count(*) FROM articles WHERE tsv IS NOT NULL GROUP BY {key}"
            )
        }
    return kept, derived


def test_facet_counts_follow_every_write(archive, dsn, tmp_path):
    """facet_counts (migration 9) equals the counts of the indexed articles
    after an import, a re-import that moves articles to another author,
    category and day (or none), a removal, an import without indexing and
    a rebuild; browsing's total and facets read it and agree with a search."""
    archive.import_paths([DEMO])
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT
    assert all(n > 0 for n in kept.values())
    moved = [
        {
            "id": "spostato-1",
            "title": "Bilancio comunale",
            "body": "Il consiglio approva il bilancio.",
            "author": "Ottavia Quercioli",
            "category": "Politica",
            "date": "2021-03-04",
        },
        {"id": "spostato-2", "title": "Senza data", "body": "Un articolo senza autore né data."},
    ]
    source = tmp_path / "a.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in moved))
    archive.import_paths([source])
    moved[0].update(author="Marco Bianchi", category="Cronaca", date="2021-03-05")
    moved[1].update(author="Ottavia Quercioli", date="2020-01-02")
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in moved))
    archive.import_paths([source])
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT + 2
    archive.remove(["spostato-1"])
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT + 1
    extra = tmp_path / "b.jsonl"
    # Two on one (author, category, day): one row of facet_counts, counting 2.
    later = {
        "title": "Dopo",
        "body": "Ancora da indicizzare.",
        "author": "Ottavia Quercioli",
        "category": "Scuola",
        "date": "2019-05-06",
    }
    extra.write_text(
        "".join(
            json.dumps(dict(later, id=i, body=f"{later['body']} ({i})")) + "\n" for i in ("dopo-1", "dopo-2")
        )
    )
    archive.import_paths([extra], index=False)
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT + 1  # not indexed: not counted
    assert archive.rebuild() == DEMO_COUNT + 3
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT + 3
    assert kept["ottavia quercioli", "Ottavia Quercioli", "scuola", "Scuola", date(2019, 5, 6)] == 2
    browsed = archive.search("", facets=True, author="Ottavia Quercioli")
    assert browsed.total == 3
    assert [(f["value"], f["count"]) for f in browsed.facets["year"]] == [(2019, 2), (2020, 1)]
    assert [(f["value"], f["count"]) for f in browsed.facets["category"]] == [("Scuola", 2)]
    # Disjunctive: the author facet leaves its own filter out, and keeps the category's.
    narrowed = archive.search("", facets=True, author="Ottavia Quercioli", category="Scuola")
    assert narrowed.total == 2
    assert ("Ottavia Quercioli", 2) in [(f["value"], f["count"]) for f in narrowed.facets["author"]]


def test_vector_lengths_are_those_ts_rank_counts(archive, dsn):
    """Each vector's length (migration 8) is the document length of
    ts_rank's normalisation 2, and the vocabulary keeps their means, after
    an import and after a rebuild."""
    archive.import_paths([DEMO])
    for step in ("import", "rebuild"):
        if step == "rebuild":
            assert archive.rebuild() == DEMO_COUNT
        with psycopg.connect(dsn) as conn:
            for column in ("tsv", "tsv_exact"):
                rows = conn.execute(
                    f"SELECT {column}_length, ts_rank('{{1,1,1,1}}', {column}, q, 0) "
                    f"/ ts_rank('{{1,1,1,1}}', {column}, q, 2) "
                    f"FROM (SELECT *, quote_literal((tsvector_to_array({column}))[1])::tsquery AS q "
                    "FROM articles) a"
                ).fetchall()
                assert len(rows) == DEMO_COUNT
                assert [length for length, _ in rows] == pytest.approx([ratio for _, ratio in rows], rel=1e-5)
                mean = sum(length for length, _ in rows) / len(rows)
                assert vocabulary(dsn)["n", column] == round(mean)


def test_relevance_is_bm25_over_ts_rank(archive, dsn, tmp_path):
    """One body occurrence of a word is a term frequency of 1 (ts_rank of
    weight D over D's weight); a word's score is BM25's of its stem plus
    exact_form_boost times BM25's of its form as typed, each by its own idf
    and its vector's length against the mean: the longer article ranks below."""
    filler = "Il consiglio comunale discute il bilancio delle scuole e dei parcheggi. " * 4
    records = [
        {"id": "breve", "title": "Notizie", "body": "Il tram arriva in piazza."},
        {"id": "lungo", "title": "Cronaca", "body": "Il tram arriva in piazza. " + filler},
        {"id": "altro", "title": "Mercati", "body": filler},
    ]
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    archive.import_paths([src])
    result = archive.search("tram")
    assert [h.article.id for h in result.hits] == ["breve", "lungo"]
    with psycopg.connect(dsn) as conn:
        lengths = dict(
            ((i, column), n)
            for i, a, b in conn.execute("SELECT id, tsv_length, tsv_exact_length FROM articles")
            for column, n in (("tsv", a), ("tsv_exact", b))
        )
    k1, b, boost = 1.2, 0.75, 0.6
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "tram" in 2 of 3 articles, stem and word

    def bm25(article: str, column: str) -> float:
        mean = round(sum(n for (_, c), n in lengths.items() if c == column) / 3)
        return (k1 + 1) / (1 + k1 * (1 - b + b * lengths[article, column] / mean))

    for hit in result.hits:
        assert hit.score == pytest.approx(
            idf * (bm25(hit.article.id, "tsv") + boost * bm25(hit.article.id, "tsv_exact")), rel=1e-5
        )


def test_a_search_runs_each_statement_once(archive, monkeypatch):
    """No statement of a search repeats (same SQL, same parameters): the
    query builder's first count is the all-words count, the stories among
    the matches are counted by the same statement, and a blended ranking
    does not also rank the all-words articles for the page alone."""
    archive.import_paths([DEMO])
    archive.search("piano")  # the pool's connections, the migrations' check
    statements: list[str] = []
    execute = psycopg.Connection.execute

    def recorded(self, query, params=None, **options):
        if not str(query).startswith("SET "):  # settings (the ranking budget's timeouts), not work
            statements.append(repr((str(query), params)))
        return execute(self, query, params, **options)

    monkeypatch.setattr(psycopg.Connection, "execute", recorded)
    for text, options in [
        ("piano 28 punti", {}),
        ("piano 28 punti", {"page": 2, "per_page": 3}),
        ("piano pace ucraina", {"facets": True}),
        ("governo", {"facets": True, "category": "Politica", "since": "2020-01-01"}),
        ("", {"facets": True}),
        ("pianno", {}),
    ]:
        statements.clear()
        archive.search(text, **options)
        assert statements, text
        repeated = sorted({s for s in statements if statements.count(s) > 1})
        assert repeated == [], (text, options)


@pytest.mark.parametrize("text", ["piano pace ucraina", '"piano di pace" ucraina'])
def test_partial_matches_past_the_ranking_budget_are_listed_newest_first(archive, dsn, monkeypatch, text):
    """As the whoosh engine does past its budget (search.budget): the
    all-words articles keep their ranking, the partial matches follow
    newest first, the result says it was cut, and every count is the
    uncut search's. With no time left no ranking statement of the partial
    matches runs (a blended query, and one with a quoted phrase)."""
    archive.import_paths([DEMO])
    ranked = archive.search(text, fold=False, per_page=20, facets=True)
    newest = archive.search(text, fold=False, per_page=20, sort="newest")
    monkeypatch.setenv("ARCHIVIO_PG_RANKING_SECONDS", "0")
    hurried = open_archive("postgres", dsn=dsn)
    cut = hurried.search(text, fold=False, per_page=20, facets=True)
    assert (ranked.cut, cut.cut) == (False, True)
    assert (cut.total, cut.exact_total, cut.facets) == (ranked.total, ranked.exact_total, ranked.facets)
    assert (ranked.total, ranked.exact_total) == (16, 2)
    every_word = [h.article.id for h in ranked.hits if h.all_words]
    some_words = [h.article.id for h in newest.hits if not h.all_words]
    assert [h.article.id for h in cut.hits] == every_word + some_words[: 20 - len(every_word)]
    assert [h.all_words for h in cut.hits] == [True] * 2 + [False] * (len(cut.hits) - 2)
    assert all(h.score is None for h in cut.hits[2:])
    folded = hurried.search(text, per_page=5, page=2)  # folded copies, a later page
    assert (folded.cut, folded.total) == (True, 16)
    assert archive.search(text, per_page=5, page=2).cut is False
    hurried.close()
    monkeypatch.setenv("ARCHIVIO_PG_RANKING_SECONDS", "11")  # past the statement timeout
    with pytest.raises(SettingError, match="ARCHIVIO_PG_RANKING_SECONDS='11'"):
        open_archive("postgres", dsn=dsn)


DEMO_WORDS = ["piano", "pace", "ucraina", "governo", "scuola", "bilancio", "porto", "comune", "sanità"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.sampled_from(DEMO_WORDS), min_size=1, max_size=4, unique=True),
    page=st.integers(1, 3),
    per_page=st.sampled_from([3, 10]),
    fold=st.booleans(),
    category=st.sampled_from([None, "Politica", "Esteri"]),
)
def test_no_count_depends_on_the_ranking_budget(
    archive, dsn, monkeypatch, words, page, per_page, fold, category
):
    """Past the ranking budget only the order of the partial matches
    changes: the totals, the stories, the facets and the pages are those of
    the same search ranked in full, whatever the words, page, folding and
    filter."""
    if not archive.article_count():
        archive.import_paths([DEMO])
    options = {"page": page, "per_page": per_page, "fold": fold, "category": category, "facets": True}
    monkeypatch.setenv("ARCHIVIO_PG_RANKING_SECONDS", "0")
    hurried = open_archive("postgres", dsn=dsn)
    try:
        text = " ".join(words)
        ranked, cut = archive.search(text, **options), hurried.search(text, **options)
    finally:
        hurried.close()
    assert not ranked.cut
    assert cut.cut == (cut.total > cut.exact_total)  # cut exactly when partial matches are ranked
    counted = ("total", "exact_total", "stories", "facets", "facet_sizes", "pages")
    assert {k: getattr(cut, k) for k in counted} == {k: getattr(ranked, k) for k in counted}
    assert len(cut.hits) == len(ranked.hits)


def test_a_statement_past_its_deadline_is_cancelled_and_the_timeout_restored(dsn):
    """search.pg.searching._before: the server cancels a statement at the
    deadline; within it, the search's own statement timeout is set back."""
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        assert searching._before(conn, time.monotonic() + 5, "SELECT 1", ()) == [(1,)]
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == f"{STATEMENT_TIMEOUT_MS // 1000}s"
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled), conn.transaction():
            searching._before(conn, started + 0.2, "SELECT pg_sleep(3)", ())
        assert 0.2 <= time.monotonic() - started < 2.0
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == f"{STATEMENT_TIMEOUT_MS // 1000}s"
        with pytest.raises(psycopg.errors.QueryCanceled):  # no time left: nothing is sent
            searching._before(conn, started, "SELECT pg_sleep(3)", ())


def test_check_finds_facet_counts_astray_and_fix_recounts_them(archive, dsn, tmp_path):
    """facet_counts written around its triggers (a hand edit, a restore of
    one table): `check` says how many rows differ and fails; `check --fix`
    (its rebuild) counts them anew from the articles."""
    archive.import_paths([DEMO])
    assert archive.check()["ok"] and archive.check()["facets_off"] == 0
    with psycopg.connect(dsn) as conn:
        first, second = conn.execute(
            "SELECT author_key, category_key, date FROM facet_counts ORDER BY 1, 2, 3 LIMIT 2"
        ).fetchall()
        conn.execute(
            "UPDATE facet_counts SET n = n + 3 WHERE (author_key, category_key, date) = (%s, %s, %s)", first
        )
        keys = "(author_key, category_key, date)"
        conn.execute(f"DELETE FROM facet_counts WHERE {keys} IS NOT DISTINCT FROM (%s, %s, %s)", second)
    report = archive.check()
    assert (report["ok"], report["facets_off"]) == (False, 3)  # a row changed (2: kept and derived), one gone

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(ROOT / "cli.py"), "--backend", "postgres", "--dsn", dsn, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=archive_env(tmp_path))

    checked = cli("check")
    assert checked.returncode == 1, checked.stderr
    said = "I conteggi per autore, categoria e data non corrispondono agli articoli (3 righe)"
    assert said in checked.stdout
    fixed = cli("check", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert f"Indice ricostruito: {DEMO_COUNT} articoli." in fixed.stdout
    kept, derived = facet_counts_kept_and_derived(dsn)
    assert kept == derived and sum(kept.values()) == DEMO_COUNT
    assert archive.check()["ok"]


def test_the_facets_statement_counts_the_matches_in_scope(archive, monkeypatch):
    """With facets, the statement that reads every match for them also
    counts the matches passing every filter, those sharing a story and
    their stories: no count of its own for the words' matches (the
    all-words count stays, the query builder needs it first), and the same
    totals as the search without facets."""
    archive.import_paths([DEMO])
    statements: list[str] = []
    execute = psycopg.Connection.execute

    def recorded(self, query, params=None, **options):
        statements.append(str(query))
        return execute(self, query, params, **options)

    for text, options in [
        ("piano pace ucraina", {}),
        ("governo scuola", {"category": "Politica"}),
        ("governo scuola", {"since": "2025-01-01", "category": ["Esteri", "Politica"]}),
        ("governo scuola", {"author": "Elena Marchetti"}),
    ]:
        plain = archive.search(text, **options)
        monkeypatch.setattr(psycopg.Connection, "execute", recorded)
        statements.clear()
        faceted = archive.search(text, facets=True, **options)
        monkeypatch.setattr(psycopg.Connection, "execute", execute)
        assert (faceted.total, faceted.exact_total, faceted.stories) == (
            plain.total,
            plain.exact_total,
            plain.stories,
        )
        assert faceted.total > faceted.exact_total  # partial matches joined: their count is the facets'
        counts = [s for s in statements if s.startswith("SELECT count(*)") and "@@" in s]  # of words
        assert len(counts) == 1, (text, options, counts)
