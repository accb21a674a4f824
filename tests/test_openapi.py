"""The API's OpenAPI description (/api/openapi.json, web.openapi) against a
real server: schemathesis generates requests from it and checks that none
gets a 500 and that every answer (status, content type, body) is the one
described. The demo archive, served by `cli.py serve`."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from archivio.web.params import API_SEARCH_PARAMETERS

from .robust_support import get, start_server, stop

ROOT_DEMO = "demo/articoli"
# The contract: no 500, and status, content type, headers and body as described.
# (Not "every schema-valid request is accepted": a date the schema's string
# allows, 2025-13-45, is rightly a 400, which the description lists.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, make_archive):
    from pathlib import Path

    base = tmp_path_factory.mktemp("openapi")
    archive = make_archive(base)
    report = archive.import_paths([Path(__file__).resolve().parents[1] / ROOT_DEMO])
    archive.close()
    assert report.ok
    proc, url = start_server(base / "data", base / "index")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server + "/api/openapi.json")


def test_the_description_is_served_and_linked(server):
    status, body, headers = get(server + "/api/openapi.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": server}]
    parameters = document["paths"]["/api/search"]["get"]["parameters"]
    assert tuple(p["name"] for p in parameters) == API_SEARCH_PARAMETERS
    status, page, _ = get(server + "/")
    assert b'<a href="/api/openapi.json">OpenAPI</a>' in page


@pytest.mark.parametrize("path", ["/api/search", "/api/article/{article_id}", "/api/suggest"])
def test_every_answer_is_as_described(api_schema, path):
    """Generated requests for one operation: no 500, status, content type and
    body as described. (schemathesis' own pytest plugin does not load under
    pytest 9: its strategies are driven by hypothesis here.)"""
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def answers_as_described(case) -> None:
        case.call_and_validate(checks=CHECKS)

    answers_as_described()
