"""Shared fixtures: real archives on disk built with the real engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from search import Archive

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARCHIVIO_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "seeds" / "000_42c455790e5f0a4a.txt"
CORPUS = SHARED / "corpus" / "italian_news_dev.jsonl.gz"
QUERIES = SHARED / "eval" / "queries_dev.jsonl"
DEMO = ROOT / "demo" / "articoli"


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} non disponibile (../shared assente)")


@pytest.fixture(scope="session")
def seed_path() -> Path:
    needs(SEED)
    return SEED


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory) -> Archive:
    """The demo archive, plus the seed article when ../shared is present."""
    base = tmp_path_factory.mktemp("demo")
    archive = Archive(base / "data", base / "index")
    paths = [DEMO] + ([SEED] if SEED.exists() else [])
    report = archive.import_paths(paths)
    assert report.ok, report.rejected
    yield archive
    archive.close()


@pytest.fixture
def empty_archive(tmp_path) -> Archive:
    archive = Archive(tmp_path / "data", tmp_path / "index")
    yield archive
    archive.close()


@pytest.fixture(scope="session")
def corpus_archive(tmp_path_factory) -> Archive:
    """The 19,902-article dev corpus, imported once per test session."""
    needs(CORPUS)
    base = tmp_path_factory.mktemp("corpus")
    archive = Archive(base / "data", base / "index")
    report = archive.import_paths([CORPUS], index=False)
    assert report.ok, report.rejected[:5]
    archive.rebuild(procs=2)
    yield archive
    archive.close()
