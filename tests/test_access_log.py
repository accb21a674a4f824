"""One structured access line per request (web.accesslog): method, path
without the query string, status, duration and a search's result count; on
stderr for `archivio serve`, off with ARCHIVIO_ACCESS_LOG=0."""

from __future__ import annotations

import json
import logging

import pytest

from archivio.web import create_app

from .conftest import DEMO
from .robust_support import get, start_server, stop


@pytest.fixture(scope="module")
def folder(tmp_path_factory, make_archive):
    base = tmp_path_factory.mktemp("accesso")
    archive = make_archive(base)
    assert archive.import_paths([DEMO]).ok
    archive.close()
    return base


def lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "archivio.access"]


def test_a_line_per_request_with_the_result_count(folder, make_archive, caplog):
    archive = make_archive(folder)
    try:
        client = create_app(archive).test_client()
        total = archive.search("piano").total
        with caplog.at_level(logging.INFO, logger="archivio.access"):
            client.get("/?q=piano")
            client.get("/api/search?q=piano&per_pagina=1")
            client.get("/api/search?q=zqxwv")
            client.get("/articolo/nessuno?q=segreto")
        got = lines(caplog)
        assert [(e["method"], e["path"], e["status"], e["results"]) for e in got] == [
            ("GET", "/", 200, total),
            ("GET", "/api/search", 200, total),
            ("GET", "/api/search", 200, 0),
            ("GET", "/articolo/nessuno", 404, None),
        ]
        assert all(isinstance(e["ms"], float) and e["ms"] >= 0 for e in got)
        assert "segreto" not in caplog.text  # queries are not logged here
    finally:
        archive.close()


def test_served_lines_go_to_stderr(folder):
    proc, base = start_server(folder / "data", folder / "index", ARCHIVIO_ACCESS_LOG="1")
    try:
        assert get(base + "/api/search?q=piano")[0] == 200
        assert get(base + "/nulla")[0] == 404
    finally:
        stop(proc)
    served = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    assert [(e["path"], e["status"]) for e in served][-2:] == [("/api/search", 200), ("/nulla", 404)]
