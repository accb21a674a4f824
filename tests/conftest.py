"""Shared fixtures: real archives on disk built with the real engine.

Tests marked `both_backends` (a whole module through `pytestmark`, or one
test) run once per backend: whoosh, and PostgreSQL on a throwaway server
started for the session (tests/pg_support; skipped with the reason when
PostgreSQL is not installed). For its postgres run the module-wide
`backend` fixture also sets ARCHIVIO_BACKEND / ARCHIVIO_DSN, so that CLI
processes and `open_archive()` calls use the same backend. A test marked
`whoosh_only(reason=...)` is an Archive-level test kept to whoosh: it gets
the same two runs, the postgres one skipped with its reason. Every other
test (parsers, whoosh internals) runs once and has no backend to depend on.

An archive is named by the folder that keeps it: whoosh's data/ and index/
there, or on PostgreSQL a database of the folder's own. make_archive,
archive_at, copy_archive and archive_env (the environment of a CLI process)
all follow that rule, so a test can mix the API, the CLI and the server.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from archivio.search import Archive, open_archive
from archivio.search.article import Article
from archivio.search.pg import store as pg_store

from . import pg_support

ROOT = Path(__file__).resolve().parents[1]
# The search log (search.searchlog) is on by default, in the data folder; an
# app made around a test's archive would put it in ./data of the checkout.
# Off for the suite; tests/test_search_log.py turns it on where it looks.
os.environ["ARCHIVIO_SEARCH_LOG"] = "0"
# Rebuilds in one process: the suite's xdist workers already use every core
# (a pool per rebuild on top of them made the CI run 12% slower).
os.environ["ARCHIVIO_PROCS"] = "1"
SHARED = Path(os.environ.get("ARCHIVIO_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "seeds" / "000_42c455790e5f0a4a.txt"
CORPUS = SHARED / "corpus" / "italian_news_dev.jsonl.gz"
QUERIES = SHARED / "eval" / "queries_dev.jsonl"
DEMO = ROOT / "demo" / "articoli"
# Articles of the demo archive (one per file; test_import_text_json reads them all).
DEMO_COUNT = 51
# The demo's article that the card's query `piano 28 punti` finds first.
PLAN_TITLE = "Ucraina, un piano di pace in 28 punti: la bozza americana arriva a Kiev e a Mosca"

BACKENDS = ["whoosh", "postgres"]
WHOOSH_ONLY = "riguarda il solo motore whoosh"


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} non disponibile (../shared assente)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    if "backend" in metafunc.fixturenames and (marked("both_backends") or marked("whoosh_only")):
        metafunc.parametrize("backend", BACKENDS, indirect=True, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # With pytest-xdist (`./run test -n 2`, `--dist loadgroup`): a module's
        # tests stay on one worker (their module-scoped archives are built
        # once), and every test on the dev corpus on the same one (its
        # archives take ~2 minutes to build per backend).
        group = "corpus" if item.get_closest_marker("corpus") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
        params = getattr(item, "callspec", None) and item.callspec.params
        marker = item.get_closest_marker("whoosh_only")
        if marker and params and params.get("backend") == "postgres":
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else WHOOSH_ONLY)
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin DSN of the session's PostgreSQL server (started here, stopped at the end)."""
    if os.environ.get("ARCHIVIO_TEST_DSN"):
        yield os.environ["ARCHIVIO_TEST_DSN"]
        return
    reason = pg_support.unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = pg_support.PgServer()
    yield server.dsn()
    server.stop()


# The admin DSN of the session's server while a postgres run is on.
_PG_ADMIN: dict[str, str] = {}
# folder -> the DSN of the database of the archive kept there.
_DATABASES: dict[str, str] = {}


def folder_dsn(folder: Path) -> str | None:
    """In a postgres run, the DSN of the database of the archive kept in
    `folder` (created on first use); None in a whoosh run."""
    if os.environ.get("ARCHIVIO_BACKEND") != "postgres" or "dsn" not in _PG_ADMIN:
        return None
    key = str(folder)
    if key not in _DATABASES:
        _DATABASES[key] = pg_support.create_database(_PG_ADMIN["dsn"])
    return _DATABASES[key]


def archive_env(folder: Path) -> dict[str, str]:
    """The environment of a CLI process working on the archive kept in `folder`
    (its --data-dir and --index-dir: folder/data, folder/index)."""
    env = dict(os.environ)
    dsn = folder_dsn(folder)
    if dsn:
        env["ARCHIVIO_DSN"] = dsn
    return env


def archive_at(folder: Path, **options):
    """The archive kept in `folder`, as a CLI process run with archive_env(folder)
    sees it; a new, empty one the first time. `options` go to its constructor."""
    dsn = folder_dsn(folder)
    if dsn:
        return open_archive("postgres", dsn=dsn, **options)
    return Archive(folder / "data", folder / "index", **options)


def copy_archive(source: Path, target: Path) -> None:
    """Copies the (closed) archive kept in `source` to `target`: the whoosh
    folders, or a PostgreSQL database made from the source's."""
    dsn = folder_dsn(source)
    if dsn is None:
        shutil.copytree(source / "data", target / "data")
        shutil.copytree(source / "index", target / "index")
    else:
        _DATABASES[str(target)] = pg_support.copy_database(_PG_ADMIN["dsn"], dsn)


def stored_articles(archive) -> dict[str, Article]:
    """Every article of `archive` by id, read from its store (SQLite or the
    `articles` table) rather than through the API under test."""
    if isinstance(archive, Archive):
        return {a.id: a for a in archive.store.iter_all()}
    with archive.db.reading() as conn:
        return {a.id: a for a in pg_store.iter_all(conn)}


@pytest.fixture(scope="module", autouse=True)
def backend(request) -> str:
    """The backend of the module's run ("whoosh" unless parametrized): for
    PostgreSQL, a fresh database named in ARCHIVIO_BACKEND / ARCHIVIO_DSN
    while the run lasts."""
    name = getattr(request, "param", "whoosh")
    if name != "postgres":
        yield name
        return
    _PG_ADMIN["dsn"] = request.getfixturevalue("pg_server")
    dsn = pg_support.create_database(_PG_ADMIN["dsn"])
    saved = {k: os.environ.get(k) for k in ("ARCHIVIO_BACKEND", "ARCHIVIO_DSN", "ARCHIVIO_DSN_READ")}
    os.environ.update(ARCHIVIO_BACKEND="postgres", ARCHIVIO_DSN=dsn)
    os.environ.pop("ARCHIVIO_DSN_READ", None)
    yield name
    _PG_ADMIN.clear()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def make_archive(backend):
    """Opens a new, empty archive of the module's backend kept in a folder
    (whoosh: data/ and index/ there; PostgreSQL: a new database): archive_at."""
    return archive_at


@pytest.fixture(scope="module")
def folder_of(tmp_path_factory, make_archive):
    """Makes the folder of an archive of the module's backend holding
    `records` (article dicts, imported as JSON Lines; each must be added),
    closed: open it with make_archive(folder, ...) as often as needed (with
    another Ranking, say)."""

    def make(name: str, records: list[dict]) -> Path:
        base = tmp_path_factory.mktemp(name)
        path = base / "articoli.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        archive = make_archive(base)
        try:
            report = archive.import_paths([path])
            assert report.ok and report.added == len(records), report.rejected[:5]
        finally:
            archive.close()
        return base

    return make


@pytest.fixture(scope="module")
def archive_of(folder_of, make_archive):
    """Makes an archive of the module's backend holding `records` (see
    folder_of), open; closed at the end."""
    made = []

    def make(name: str, records: list[dict]):
        archive = make_archive(folder_of(name, records))
        made.append(archive)
        return archive

    yield make
    for archive in made:
        archive.close()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    needs(SEED)
    return SEED


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory, make_archive):
    """The demo archive, plus the seed article when ../shared is present."""
    archive = make_archive(tmp_path_factory.mktemp("demo"))
    paths = [DEMO] + ([SEED] if SEED.exists() else [])
    report = archive.import_paths(paths)
    assert report.ok, report.rejected
    yield archive
    archive.close()


@pytest.fixture
def empty_archive(tmp_path, make_archive):
    archive = make_archive(tmp_path)
    yield archive
    archive.close()


@pytest.fixture(scope="session")
def corpus_archives():
    """The dev-corpus archive of each backend, built once per session."""
    built: dict = {}
    yield built
    for archive in built.values():
        archive.close()


@pytest.fixture(scope="module")
def corpus_archive(tmp_path_factory, make_archive, backend, corpus_archives):
    """The 19,902-article dev corpus, imported once per test session (and backend)."""
    needs(CORPUS)
    if backend not in corpus_archives:
        archive = make_archive(tmp_path_factory.mktemp("corpus"))
        report = archive.import_paths([CORPUS], index=False)
        assert report.ok, report.rejected[:5]
        archive.rebuild(procs=2)
        corpus_archives[backend] = archive
    return corpus_archives[backend]
