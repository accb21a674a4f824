"""Shared fixtures: real archives on disk built with the real engine.

Archive-level test modules (PG_MODULES) run once per backend: whoosh, and
PostgreSQL on a throwaway server started for the session (tests/pg_support;
skipped with the reason when PostgreSQL is not installed). The module-wide
`backend` fixture also sets ARCHIVIO_BACKEND / ARCHIVIO_DSN, so that CLI
processes and `open_archive()` calls in those modules use the same backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from search import Archive, open_archive

from . import pg_support

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARCHIVIO_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "seeds" / "000_42c455790e5f0a4a.txt"
CORPUS = SHARED / "corpus" / "italian_news_dev.jsonl.gz"
QUERIES = SHARED / "eval" / "queries_dev.jsonl"
DEMO = ROOT / "demo" / "articoli"

# Test modules of the Archive API, run against every backend.
PG_MODULES = {
    "test_search",
    "test_cli",
    "test_web",
    "test_corpus",
    "test_recency",
    "test_phrases",
    "test_spelling",
    "test_robust_search",
    "test_robust_web",
}


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} non disponibile (../shared assente)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.module.__name__.split(".")[-1] in PG_MODULES:
        metafunc.parametrize("backend", ["whoosh", "postgres"], indirect=True, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        if item.get_closest_marker("whoosh_only") and params and params.get("backend") == "postgres":
            item.add_marker(pytest.mark.skip(reason="riguarda il solo motore whoosh"))


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


# The admin DSN of the session's server while a PostgreSQL module runs.
_PG_ADMIN: dict[str, str] = {}
_DATABASES: dict[str, str] = {}


def archive_env(folder: Path) -> dict[str, str]:
    """The environment of a CLI process working on the archive kept in `folder`:
    with PostgreSQL, a database of its own for each folder."""
    env = dict(os.environ)
    if env.get("ARCHIVIO_BACKEND") == "postgres" and "dsn" in _PG_ADMIN:
        key = str(folder)
        if key not in _DATABASES:
            _DATABASES[key] = pg_support.create_database(_PG_ADMIN["dsn"])
        env["ARCHIVIO_DSN"] = _DATABASES[key]
    return env


@pytest.fixture(scope="module", autouse=True)
def backend(request) -> str:
    """The backend of the module ("whoosh" unless parametrized): for PostgreSQL,
    a fresh database named in ARCHIVIO_BACKEND / ARCHIVIO_DSN while the module runs."""
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
def make_archive(backend, request):
    """Opens a new, empty archive of the module's backend under a folder
    (whoosh: data/ and index/ there; PostgreSQL: a new database)."""

    def make(base: Path):
        if backend == "postgres":
            dsn = pg_support.create_database(request.getfixturevalue("pg_server"))
            return open_archive("postgres", dsn=dsn)
        return Archive(base / "data", base / "index")

    return make


@pytest.fixture(scope="module")
def archive_of(tmp_path_factory, make_archive):
    """Makes an archive of the module's backend holding `records` (article
    dicts, imported as JSON Lines; each must be added); closed at the end."""
    made = []

    def make(name: str, records: list[dict]):
        base = tmp_path_factory.mktemp(name)
        path = base / "articoli.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        archive = make_archive(base)
        made.append(archive)
        report = archive.import_paths([path])
        assert report.ok and report.added == len(records), report.rejected[:5]
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
