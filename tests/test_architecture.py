"""The seams of the layout (ARCHITECTURE.md): what each layer may load, the
backend interface both archives implement, and indexes written before the
whoosh engine moved into its own package."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archivio.search import Archive, ArchiveBackend, IndexMissing, SearchRequest
from archivio.search.pg import PostgresArchive

from .conftest import ROOT

# Three fictional articles (written for this test).
ARTICLES = Path(__file__).parent / "fixtures" / "articles_before_the_move.jsonl"
# Writes an index as the code before the move did (commit 002c207): the
# same files, the formats' classes pickled under their old module path
# (`search.formats`; the analysis' classes under `search.…`: top-level names).
# (Only index/.gitkeep is committed under any index folder: indexes are
# derived data, so the old one is made here rather than kept.)
WRITE_OLD_INDEX = """
import inspect, sys
from archivio.search.whoosh_sqlite import Archive, formats
for module in [m for n, m in sys.modules.items() if n.startswith("archivio.search")]:
    old = "search.formats" if module is formats else module.__name__.removeprefix("archivio.")
    sys.modules[old] = module  # what the old code imported under that name
    for cls in vars(module).values():
        if inspect.isclass(cls) and cls.__module__ == module.__name__:
            cls.__module__ = old
archive = Archive(sys.argv[1], sys.argv[2])
assert archive.import_paths([sys.argv[3]]).added == 3
archive.close()
"""


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `statement`."""
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_postgres_backend_loads_nothing_of_the_whoosh_engine():
    loaded = loaded_after("import archivio.search.pg")
    assert "archivio.search.pg.archive" in loaded
    assert sorted(m for m in loaded if m.startswith("archivio.search.whoosh_sqlite")) == []
    assert "numpy" not in loaded


def test_the_shared_core_loads_neither_backend():
    loaded = loaded_after("from archivio.search import open_archive, SearchRequest")
    prefixes = ("archivio.search.whoosh_sqlite", "archivio.search.pg")
    assert sorted(m for m in loaded if m.startswith(prefixes)) == []
    assert "psycopg" not in loaded and "numpy" not in loaded


def test_the_faces_use_only_the_public_api():
    """cli.py and web/ import `archivio.search` itself, never a module inside it."""
    faces = [ROOT / "cli.py", *sorted((ROOT / "web").glob("*.py"))]
    inside = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in faces
        for line in path.read_text().splitlines()
        if line.strip().startswith(("from archivio.search.", "import archivio.search.", "from ..search"))
    ]
    assert inside == []


def test_one_name_for_each_part():
    """Everything is imported as `archivio.…`, in a checkout as from a wheel:
    the root folders refuse their top-level names (a second copy of the
    engine would have its own caches and its own QueryError), and no code
    of the project asks for them."""
    for name in ("search", "web"):
        refused = subprocess.run(
            [sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True
        )
        assert refused.returncode == 1 and f"as `archivio.{name}`, not `{name}`" in refused.stderr
    top_level = re.compile(r"^\s*(from|import) (search|web|cli|cli_messages)\b", re.MULTILINE)
    sources = [*ROOT.glob("*.py"), *ROOT.glob("search/**/*.py"), *ROOT.glob("web/*.py")]
    sources += [*ROOT.glob("tests/*.py"), *ROOT.glob("bench/**/*.py")]
    assert [str(p.relative_to(ROOT)) for p in sources if top_level.search(p.read_text())] == []
    loaded = loaded_after("import archivio.cli, archivio.web")
    assert {"search", "web", "cli"} & loaded == set()


def _interface(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("backend", [Archive, PostgresArchive], ids=["whoosh", "postgres"])
def test_each_backend_implements_the_declared_interface(backend):
    declared = _interface(ArchiveBackend)
    assert len(declared) == 24
    implemented = _interface(backend)
    for name, signature in declared.items():
        assert name in implemented, f"{backend.__name__} lacks {name}"
        assert implemented[name] == signature, f"{backend.__name__}.{name}{implemented[name]} != {signature}"


def test_a_search_request_is_its_own_cache_key():
    one = SearchRequest.of("porto", category=["Cronaca"], page=2)
    assert one == SearchRequest.of("porto", category="Cronaca", page=2)
    assert hash(one) == hash(SearchRequest.of("  porto ", category=["Cronaca"], page=2))
    assert one != SearchRequest.of("porto", category=["Cronaca"], page=2, recency=True)


def test_an_index_written_under_the_old_module_names_asks_for_a_rebuild(tmp_path):
    """whoosh pickles the schema's classes by module path: an index written
    before the engine became `archivio.search` names `search.…` classes,
    which no longer import (a wheel has no top-level `search`; in a checkout
    the folder refuses that name). Searching says to rebuild, in Italian,
    and a rebuild from the store brings every article back."""
    data, index = tmp_path / "data", tmp_path / "index"
    subprocess.run(
        [sys.executable, "-c", WRITE_OLD_INDEX, str(data), str(index), str(ARTICLES)], cwd=ROOT, check=True
    )
    toc = next(index.glob("gen-*/_MAIN_*.toc")).read_bytes()
    assert b"search.formats" in toc and b"archivio.search" not in toc
    archive = Archive(data, index)
    try:
        with pytest.raises(IndexMissing) as refused:
            archive.search("sanita regione")
        assert "versione precedente di Archivio" in str(refused.value)
        assert "archivio rebuild" in str(refused.value)
        archive.rebuild()
        assert [h.article.id for h in archive.search("sanita regione").hits] == ["vecchio-3"]
        assert archive.search("porto", author="Marta Rossi").total == 1
        assert archive.check()["ok"] is True
    finally:
        archive.close()


def test_the_engine_writes_its_own_compact_formats(tmp_path):
    """The index a rebuild writes gives its text fields this engine's posting
    formats (search.schema alone gives whoosh's: bigger, and not the bulk
    builder's path)."""
    from archivio.search.whoosh_sqlite.formats import CompactPositions, FastFrequency

    archive = Archive(tmp_path / "data", tmp_path / "index")
    try:
        archive.import_paths([ARTICLES])
        schema = archive.index.open().schema
        assert [type(schema[name].format) for name in ("text", "title", "exact")] == [
            FastFrequency,
            CompactPositions,
            CompactPositions,
        ]
    finally:
        archive.close()


# -- the filters' registry ------------------------------------------------------------------

# A valid value of every filter argument (a new filter adds its own here).
SAMPLE_ARGUMENTS = {"author": "Rossi", "category": ["Cronaca"], "since": "2024-01-01", "until": "2024-12-31"}
SAMPLE_PARAMS = {"autore": "Rossi", "categoria": "Cronaca", "da": "2024-01-01", "a": "2024-12-31"}


def test_every_filter_is_known_to_every_layer():
    from click.testing import CliRunner
    from werkzeug.datastructures import MultiDict

    from archivio.cli import main
    from archivio.search.filters import FILTER_KINDS, make_filters
    from archivio.search.pg.sqlquery import SQL_FILTERS
    from archivio.web.params import read_params

    names = [kind.name for kind in FILTER_KINDS]
    assert names == ["author", "category", "dates"]
    # PostgreSQL compiles each by name; the whoosh engine reads each kind's query.
    assert set(SQL_FILTERS) == set(names)
    arguments = [a for kind in FILTER_KINDS for a in kind.arguments]
    assert sorted(arguments) == sorted(SAMPLE_ARGUMENTS)
    for kind in FILTER_KINDS:
        alone = make_filters(**{a: SAMPLE_ARGUMENTS[a] for a in kind.arguments})
        assert [k.name for k in FILTER_KINDS if k.is_set(alone)] == [kind.name]
    # The page reads and writes back each parameter; the CLI offers each option.
    params = [p for kind in FILTER_KINDS for p in kind.params]
    assert sorted(params) == sorted(SAMPLE_PARAMS)
    pairs = read_params(MultiDict(SAMPLE_PARAMS)).query_pairs()
    assert sorted(name for name, _ in pairs) == sorted(params)
    help_text = CliRunner().invoke(main, ["query", "--help"]).output
    for kind in FILTER_KINDS:
        assert sorted(o.argument for o in kind.options) == sorted(kind.arguments)
        for option in kind.options:
            assert all(name in help_text for name in option.names)
