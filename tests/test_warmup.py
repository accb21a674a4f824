"""search.warm: what `archivio serve` loads before it listens (the first
readers' one-time costs), on both backends; an archive that cannot be
searched is left for the site to report, as without it."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from archivio import web as web_module
from archivio.search import open_archive, warm
from archivio.search.whoosh_sqlite.ranking.topk import docsets_for
from archivio.web import create_app, warm_app

pytestmark = pytest.mark.both_backends

# Fictional articles, written for this test.
RECORDS = [
    {
        "id": "mercato",
        "title": "Il mercato rionale chiude per lavori",
        "body": "Le bancarelle tornano in piazza a primavera.",
        "category": "Cronaca",
        "date": "2024-01-10",
    },
    {
        "id": "passerella",
        "title": "Al porto la nuova passerella",
        "body": "Lavori finiti: la passerella collega il molo alla spiaggia.",
        "category": "Cronaca",
        "date": "2025-03-02",
    },
]


def test_warm_browses_then_searches_a_word_of_the_newest_title(archive_of):
    archive = archive_of("warm", RECORDS)
    # The first word of five letters or more: "Al" may be a stop word or a name.
    assert warm(archive) == "porto"
    assert [h.article.id for h in archive.search("porto").hits] == ["passerella"]


def test_an_empty_archive_is_left_as_it_is(empty_archive, caplog):
    # whoosh has no index yet: the site answers "in manutenzione", and
    # `archivio serve` says why; nothing more to say, nothing raised.
    with caplog.at_level(logging.WARNING, logger="archivio.search.warmup"):
        assert warm(empty_archive) is None
    assert [r for r in caplog.records if r.name == "archivio.search.warmup"] == []


@pytest.mark.whoosh_only
def test_the_whoosh_engine_has_its_bitmaps_and_story_map_before_the_first_search(archive_of):
    archive = archive_of("warm-whoosh", RECORDS)
    warm(archive)
    ds = docsets_for(archive.index.searcher())
    assert ("stories",) in ds._local


def test_the_site_compiles_its_templates_and_warms_its_archive(archive_of):
    app = create_app(archive_of("warm-site", RECORDS))
    assert warm_app(app) == "porto"
    assert sorted(name for _, name in app.jinja_env.cache) == sorted(app.jinja_env.list_templates())


@pytest.mark.whoosh_only
def test_a_server_waits_for_its_warm_up_only_so_long(archive_of, monkeypatch):
    """A warm-up that takes too long (a huge archive, a database that does
    not answer) goes on beside the first requests: the server listens."""
    app = create_app(archive_of("warm-slow", RECORDS))
    release = threading.Event()
    monkeypatch.setattr(web_module, "warm", lambda archive: release.wait(10) and "tardi")
    started = time.monotonic()
    assert warm_app(app, wait=0.2) is None
    assert time.monotonic() - started < 5
    release.set()


@pytest.mark.whoosh_only(reason="a database of its own, unreachable: once is enough")
def test_an_unreachable_database_is_reported_not_raised(caplog, monkeypatch):
    monkeypatch.setenv("ARCHIVIO_PG_CONNECT_TIMEOUT", "1")
    archive = open_archive("postgres", dsn="host=127.0.0.1 port=1 user=archivio dbname=archivio")
    with caplog.at_level(logging.WARNING, logger="archivio.search.warmup"):
        assert warm(archive) is None
    ours = [r.getMessage() for r in caplog.records if r.name == "archivio.search.warmup"]
    assert len(ours) == 1 and ours[0].startswith(
        "Preparazione della ricerca non riuscita: Database PostgreSQL"
    )
