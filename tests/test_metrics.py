"""/metrics in Prometheus' format (web.metrics): requests and latency per
route, new searches and those without results, the archive's sizes, its
index generation and last import; with
several server processes, any of them answers for all."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from archivio.search import Freshness
from archivio.web import create_app

from .conftest import DEMO
from .robust_support import get, start_server, stop

DEMO_COUNT = len(list(DEMO.glob("*.txt")))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, make_archive):
    base = tmp_path_factory.mktemp("metriche")
    archive = make_archive(base)
    assert archive.import_paths([DEMO]).ok
    archive.close()
    return base


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Each sample by name and labels (sorted)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counts_after_known_requests(folder, make_archive):
    archive = make_archive(folder)
    try:
        client = create_app(archive).test_client()
        client.get("/?q=piano")
        client.get("/?q=piano&pagina=2")  # another page: not a new search
        client.get("/api/search?q=zqxwv")
        client.get("/articolo/nessuno")
        client.get("/nulla/di/nulla")
        response = client.get("/metrics")
    finally:
        archive.close()
    assert response.status_code == 200 and response.mimetype == "text/plain"
    got = samples(response.get_data(as_text=True))

    def requests(route: str, status: str) -> float:
        return got[
            ("archivio_http_requests_total", (("method", "GET"), ("route", route), ("status", status)))
        ]

    assert requests("/", "200") == 2
    assert requests("/api/search", "200") == 1
    assert requests("/articolo/<article_id>", "404") == 1
    assert requests("other", "404") == 1
    assert got[("archivio_http_request_duration_seconds_count", (("route", "/"),))] == 2
    assert got[("archivio_searches_total", ())] == 2
    assert got[("archivio_zero_result_searches_total", ())] == 1
    assert got[("archivio_articles", ())] == got[("archivio_indexed_articles", ())] == DEMO_COUNT


def test_several_processes_count_together(folder):
    proc, base = start_server(folder / "data", folder / "index", "--workers", "2")
    try:
        for _ in range(20):
            assert get(base + "/api/search?q=piano")[0] == 200
        for _ in range(4):  # whichever process answers counts all 20
            got = samples(get(base + "/metrics")[1].decode())
            key = (
                "archivio_http_requests_total",
                (("method", "GET"), ("route", "/api/search"), ("status", "200")),
            )
            assert got[key] == 20
            assert got[("archivio_searches_total", ())] == 20
    finally:
        stop(proc)


@pytest.mark.both_backends
def test_index_generation_and_last_import(tmp_path, make_archive):
    """The index generation counts the changes of the searchable index (an
    import that adds or updates, a removal, a rebuild; not an import that
    changes nothing); the last import time moves with every import."""
    archive = make_archive(tmp_path)
    try:
        client = create_app(archive).test_client()

        def scraped() -> tuple[float, float | None]:
            got = samples(client.get("/metrics").get_data(as_text=True))
            return got[("archivio_index_generation", ())], got.get(
                ("archivio_last_import_timestamp_seconds", ())
            )

        assert scraped() == (0, None)
        before = time.time()
        assert archive.import_paths([DEMO]).added == DEMO_COUNT
        generation, imported = scraped()
        assert generation == 1 and before <= imported <= time.time()
        assert archive.import_paths([DEMO]).unchanged == DEMO_COUNT
        generation, again = scraped()
        assert generation == 1 and again >= imported
        first = archive.search("").hits[0].article.id
        assert archive.remove([first]) == [first]
        assert archive.remove(["nessuno"]) == []
        assert scraped()[0] == 2
        archive.rebuild()
        assert scraped() == (3, again)
        assert archive.freshness() == Freshness(index_generation=3, last_import=again)
    finally:
        archive.close()
