"""PostgreSQL going away and coming back, on real servers of the test's own
(restarting or promoting the session's would disturb other modules).

- A restart under load: the site answers 503 with Retry-After while the
  server is away, and every search again as soon as it is back (16 clients
  searching without pause through `archivio serve` while `pg_ctl restart
  -m fast` runs).
- A failover: the primary stops, its streaming replica is promoted, and the
  archive opened on it goes on searching and importing with every article.
"""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from archivio.search import open_archive

from . import pg_support
from .conftest import DEMO, DEMO_COUNT, ROOT
from .robust_support import cli_command, cli_env, free_port, get, stop, wait_until_answering, write_jsonl

CLIENTS = 16
QUERIES = ["tram bologna", "piano 28 punti", "alluvione liguria", "torrente Entella", "sanità"]
# The bound: every search answered within this many seconds of the
# server accepting connections again.
RECOVERY_SECONDS = 2.0
# No request may wait longer than this (psycopg_pool's own wait is 30 s).
LONGEST_SECONDS = 8.0


@pytest.fixture(scope="module")
def server():
    reason = pg_support.unavailable_reason()
    if reason:
        pytest.skip(reason)
    pg = pg_support.PgServer()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def site(server, tmp_path_factory):
    """`archivio serve --workers 2` over the server's archive (the demo): its base URL."""
    dsn = server.dsn()
    archive = open_archive("postgres", dsn=dsn)
    assert archive.import_paths([DEMO]).added == DEMO_COUNT
    archive.close()
    folder = tmp_path_factory.mktemp("site")
    env = cli_env(None, ARCHIVIO_BACKEND="postgres", ARCHIVIO_DSN=dsn, ARCHIVIO_RESULT_CACHE="0")
    env["ARCHIVIO_SEARCH_LOG"] = "0"
    port = free_port()
    with open(folder / "server.log", "w") as log:  # each refused request logs a line
        proc = subprocess.Popen(
            cli_command(folder / "data", folder / "index", "serve", "--port", str(port), "--workers", "2"),
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            cwd=ROOT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(proc, base)
            yield base
        finally:
            stop(proc)


Answer = tuple[float, float, int, str | None]  # (start, end, status, Retry-After)


def search(base: str, n: int) -> Answer:
    """One search, the page or the API by turns."""
    q = urllib.parse.urlencode({"q": QUERIES[n % len(QUERIES)]})
    started = time.monotonic()
    status, _, headers = get(base + ("/api/search?" if n % 2 else "/?") + q, timeout=30)
    return started, time.monotonic(), status, headers.get("Retry-After")


def under_load(base: str, action) -> tuple[list[Answer], float, float]:
    """CLIENTS clients searching without pause while `action` runs (and 4.5 s
    after it): their answers, and when the action started and ended."""
    answers: list[Answer] = []
    running = threading.Event()
    running.set()

    def client(n: int) -> None:
        while running.is_set():
            answers.append(search(base, n))
            n += CLIENTS

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        began = time.monotonic()
        action()
        ended = time.monotonic()
        time.sleep(RECOVERY_SECONDS + 2.5)
    finally:
        running.clear()
        for t in threads:
            t.join(60)
    return answers, began, ended


def test_a_restart_under_load_costs_only_503s_and_recovers_at_once(server, site):
    answers, down, up = under_load(site, server.restart)  # -w: returns once it accepts connections
    statuses = {status for _, _, status, _ in answers}
    assert statuses <= {200, 503}, statuses
    # Searches over before the restart began were answered (those running
    # when it stopped the server could fail: that is the outage).
    assert all(s == 200 for _, end, s, _ in answers if end < down), [a for a in answers if a[1] < down][:5]
    refused = [a for a in answers if a[2] == 503]
    assert all(retry == "5" for *_, retry in refused)
    # Nothing waits long, during the outage or after it.
    assert max(end - start for start, end, _, _ in answers) < LONGEST_SECONDS
    # The restart was felt: searches running when the server stopped were refused.
    assert refused, "no search failed during the restart"
    # Once the server accepts connections again (pg_ctl -w has returned), every search is answered.
    after = [a for a in answers if a[0] > up]
    assert len(after) > 2 * CLIENTS
    assert all(status == 200 for _, _, status, _ in after), [a for a in after if a[2] != 200][:5]
    assert min(end for _, end, _, _ in after) - up < RECOVERY_SECONDS


def test_a_restart_while_idle_fails_no_search_after_it(server, site):
    """The pooled connections the restart closed are found when next used,
    after the server is back: each is replaced, no search fails (before,
    one failed per pooled connection)."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        assert {a[2] for a in pool.map(lambda n: search(site, n), range(4 * CLIENTS))} == {200}
        server.restart()
        answers = list(pool.map(lambda n: search(site, n), range(4 * CLIENTS)))
    assert [a[2] for a in answers] == [200] * (4 * CLIENTS)
    assert max(end - start for start, end, _, _ in answers) < LONGEST_SECONDS


def test_a_stopped_server_gets_quick_503s_then_searches_once_started(server, site):
    with ThreadPoolExecutor(CLIENTS) as pool:
        assert {a[2] for a in pool.map(lambda n: search(site, n), range(2 * CLIENTS))} == {200}
        server.shut_down()
        try:
            refused = list(pool.map(lambda n: search(site, n), range(2 * CLIENTS)))
        finally:
            server.start()
        up = time.monotonic()
        answers = list(pool.map(lambda n: search(site, n), range(4 * CLIENTS)))
    assert [(status, retry) for _, _, status, retry in refused] == [(503, "5")] * (2 * CLIENTS)
    # Refused at once, not after psycopg_pool's 30 s.
    assert max(end - start for start, end, _, _ in refused) < LONGEST_SECONDS
    assert [a[2] for a in answers] == [200] * (4 * CLIENTS)
    assert max(end for _, end, _, _ in answers) - up < 2 * RECOVERY_SECONDS


@pytest.fixture
def pair():
    reason = pg_support.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with pg_support.primary_and_replica() as servers:
        yield servers


def test_a_promoted_replica_carries_on_with_every_article(pair, tmp_path):
    primary, replica = pair
    writer = open_archive("postgres", dsn=primary.dsn())
    assert writer.import_paths([DEMO]).added == DEMO_COUNT
    first = tmp_path / "primo.jsonl"
    write_jsonl(first, 0, 30, topic="funivia")
    assert writer.import_paths([first]).added == 30
    expected = writer.search("funivia").to_dict()
    writer.close()
    pg_support.wait_for_replay(primary, replica, 30)

    # The primary is lost; the replica is promoted (pg_ctl promote -w waits until it takes writes).
    primary.shut_down()
    replica.promote()

    # The application now points ARCHIVIO_DSN at the promoted server.
    archive = open_archive("postgres", dsn=replica.dsn())
    assert archive.article_count() == DEMO_COUNT + 30
    found = archive.search("funivia").to_dict()
    assert found["total"] == expected["total"] == 30
    assert [r["id"] for r in found["results"]] == [r["id"] for r in expected["results"]]
    second = tmp_path / "secondo.jsonl"
    write_jsonl(second, 30, 12, topic="funivia")
    assert archive.import_paths([second]).added == 12
    assert archive.article_count() == DEMO_COUNT + 42
    assert archive.search("funivia").total == 42
    assert archive.check()["ok"] is True
    archive.close()
