"""Hostile requests against the real server (`cli.py serve`, on 127.0.0.1):
markup planted in articles and in queries is escaped wherever it is echoed,
article ids never reach files, security headers are on every answer
(errors included), the server binds to the loopback interface and runs no
debugger, and nothing can be written over HTTP."""

from __future__ import annotations

import http.client
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from archivio.web import create_app

from .robust_support import get, run_cli, start_server, stop, store_count, write_jsonl

pytestmark = pytest.mark.both_backends

HOSTILE = [
    {
        "id": "ostile-1",
        "title": "Ostile <script>alert('titolo')</script> zafferano",
        "subtitle": '"onmouseover="alert(1)" x=" sottotitolo zafferano',
        "author": "<img src=x onerror=alert(2)>",
        "category": '"><svg onload=alert(3)>',
        "date": "2024-05-01",
        "body": 'Corpo zafferano <script>alert(4)</script> con <a href="javascript:alert(5)">link</a> '
        "e '\"><iframe src=javascript:alert(6)>.\n\nSecondo paragrafo zafferano </textarea><b>x</b>.",
        "url": "javascript:alert(7)",
        "source": "<b onclick=alert(8)>Fonte</b>",
    },
    {
        "id": "ostile-2",
        "title": "Secondo ostile zafferano",
        "body": "Testo zafferano normale.",
        "url": "jAvAsCrIpT:alert(9)",
        "source": "Fonte",
    },
    {
        "id": "ostile-3",
        "title": "Terzo zafferano con link dati",
        "body": "Testo zafferano.",
        "url": " data:text/html;base64,PHNjcmlwdD5hbGVydCgxMCk8L3NjcmlwdD4=",
    },
]
HOSTILE_QUERY = 'zafferano <script>alert(11)</script> "onmouseover=alert(12) javascript:alert(13)'


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_no_active_markup(html_text: str) -> None:
    """No script but ours, no event handler, no javascript:/data: link, no planted element."""
    parser = Tags()
    parser.feed(html_text)
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "svg", "img", "object", "embed"), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, attrs)
            if name in ("href", "src", "action", "formaction"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in ("", "http", "https"), (tag, attrs)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    (root / "ostili.json").write_text(json.dumps(HOSTILE))
    write_jsonl(root / "altri.jsonl", 0, 30)
    p = run_cli(root / "data", root / "index", "import", str(root / "ostili.json"), str(root / "altri.jsonl"))
    assert p.returncode == 0, p.stdout + p.stderr
    proc, base = start_server(root / "data", root / "index")
    yield root, proc, base
    stop(proc)


def raw_get(base: str, path: str, method: str = "GET", body: bytes | None = None):
    """A request sent as written: no client-side normalisation of the path."""
    netloc = urlsplit(base).netloc
    conn = http.client.HTTPConnection(netloc, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if body is not None:
            conn.putheader("Content-Type", "application/x-www-form-urlencoded")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def test_markup_in_articles_and_queries_is_escaped(server):
    _, _, base = server
    pages = [
        "/?" + urlencode({"q": "zafferano"}),
        "/?" + urlencode({"q": HOSTILE_QUERY}),
        "/?" + urlencode({"q": "zafferano", "autore": "<img src=x onerror=alert(2)>"}),
        "/?" + urlencode({"q": "zafferano", "categoria": '"><svg onload=alert(3)>', "da": "<script>"}),
        "/?" + urlencode({"q": HOSTILE_QUERY, "pagina": "<script>"}),
        "/articolo/ostile-1",
        "/articolo/ostile-1?" + urlencode({"q": HOSTILE_QUERY}),
        "/articolo/ostile-2",
        "/articolo/ostile-3",
        "/articolo/" + quote("<script>alert(1)</script>", safe=""),
    ]
    for path in pages:
        status, body, headers = get(base + path)
        assert status in (200, 400, 404), (path, status)
        text = body.decode()
        assert headers["Content-Type"].startswith("text/html")
        assert_no_active_markup(text)
        assert "<script>alert" not in text and "<svg" not in text and "<img src=x" not in text
    # The planted text is shown, as text.
    status, body, _ = get(base + "/articolo/ostile-1")
    assert "&lt;script&gt;alert(" in body.decode()
    # The JSON API hands data, never markup to render: its snippet is escaped.
    status, body, headers = get(base + "/api/search?" + urlencode({"q": "zafferano", "per_pagina": 20}))
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    result = json.loads(body)
    assert {r["id"] for r in result["results"]} >= {"ostile-1", "ostile-2", "ostile-3"}
    for r in result["results"]:
        assert "<script" not in r["snippet"] and "<iframe" not in r["snippet"]


@pytest.mark.parametrize(
    "path",
    [
        "/articolo/..%2f..%2fetc%2fpasswd",
        "/articolo/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/articolo/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/articolo/../../etc/passwd",
        "/articolo/..\\..\\etc\\passwd",
        "/articolo/%2fetc%2fpasswd",
        "/articolo/....//....//etc/passwd",
        "/api/article/..%2f..%2fetc%2fpasswd",
        "/static/..%2f..%2fcli.py",
        "/static/../cli.py",
        "/static/%2e%2e/%2e%2e/cli.py",
        "/static/..%5c..%5ccli.py",
        "/articolo/..%2f..%2fdata%2farchive.sqlite",
        "/../../etc/passwd",
    ],
)
def test_paths_cannot_reach_files(server, path):
    _, _, base = server
    status, body, _ = raw_get(base, path)
    assert status in (404, 400), (path, status)
    assert b"root:" not in body and b"import click" not in body and b"SQLite format" not in body


ROUTES = [
    "/",
    "/?q=zafferano",
    "/articolo/ostile-2",
    "/api/search?q=zafferano",
    "/api/article/ostile-2",
    "/api/suggest?q=zaf",
    "/opensearch.xml",
    "/healthz",
    "/static/archivio.css",
]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_nothing_can_be_written_over_http(server, method):
    root, _, base = server
    before = store_count(root / "data")
    for path in ROUTES + ["/import", "/rebuild", "/remove", "/api/import", "/api/remove/ostile-2", "/admin"]:
        status, body, headers = raw_get(base, path, method, body=b"paths=/etc&ids=ostile-2")
        assert status in (404, 405), (method, path, status)
        assert "Content-Security-Policy" in headers
    assert store_count(root / "data") == before
    status, _, _ = get(base + "/articolo/ostile-2")
    assert status == 200


def test_the_app_has_read_only_routes_and_no_debugger(server):
    root, _, _ = server
    from archivio.search import Archive

    archive = Archive(root / "data", root / "index")
    app = create_app(archive)
    assert not app.debug and not app.testing
    assert not app.config.get("DEBUG") and not app.config.get("PROPAGATE_EXCEPTIONS")
    for rule in app.url_map.iter_rules():
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, (rule.rule, rule.methods)
    archive.close()


def test_error_answers_carry_security_headers_and_no_internals(server):
    _, _, base = server
    for path, method, expected in (
        ("/?q=zafferano", "GET", 200),
        ("/nessuna-pagina", "GET", 404),
        ("/?q=zafferano&pagina=abc", "GET", 400),
        ("/api/search?q=" + "x" * 2000, "GET", 400),
        ("/", "POST", 405),
        ("/", "TRACE", 405),
    ):
        status, body, headers = raw_get(base, path, method)
        assert status == expected, (path, method, status)
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        text = body.decode(errors="replace")
        for leak in ("Traceback", "Werkzeug", "werkzeug", "/work/", "site-packages", 'File "'):
            assert leak not in text, (path, leak)
        # The server says who it is, not which versions it runs.
        assert headers.get("Server", "archivio") == "archivio"


def _listening_addresses(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_serve_binds_to_loopback_by_default_and_has_no_debug_switch(server):
    _, _, base = server
    port = urlsplit(base).port
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
    root = server[0]
    p = run_cli(root / "data", root / "index", "serve", "--help")
    assert "127.0.0.1" in p.stdout and "debug" not in p.stdout.lower()
    p = run_cli(root / "data", root / "index", "serve", "--debug")
    assert p.returncode == 2  # no such option


@pytest.mark.whoosh_only(reason="an index directory never built; PostgreSQL's case is in test_pg_backend")
def test_maintenance_page_from_the_real_server(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", 0, 5)
    p = run_cli(tmp_path / "data", tmp_path / "index", "import", "--no-index", str(tmp_path / "a.jsonl"))
    assert p.returncode == 0, p.stderr
    proc, base = start_server(tmp_path / "data", tmp_path / "index")
    try:
        status, body, headers = get(base + "/?q=alfa")
        assert status == 503 and "manutenzione" in body.decode()
        assert headers["Retry-After"] and "Content-Security-Policy" in headers
    finally:
        stop(proc)
