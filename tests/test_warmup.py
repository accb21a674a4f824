"""search.warm: what `archivio serve` loads before it listens (the first
readers' one-time costs), on both backends; an archive that cannot be
searched is left for the site to report, as without it."""

from __future__ import annotations

import logging

import pytest

from archivio.search import warm
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
    with caplog.at_level(logging.WARNING, logger="archivio.search.warmup"):
        assert warm(empty_archive) is None
    # whoosh has no index yet (the site answers "in manutenzione"): said, not raised.
    assert all("Preparazione della ricerca non riuscita" in r.getMessage() for r in caplog.records)


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
