"""A primary and a streaming replica (pg_basebackup -R) on loopback: imports
go to the primary, searches through ARCHIVIO_DSN_READ to the replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from archivio.search import open_archive

from . import pg_support
from .conftest import DEMO, DEMO_COUNT, ROOT

# Replication on one machine takes milliseconds; the bound leaves room for a busy CI.
MAX_LAG_SECONDS = 10.0


@pytest.fixture(scope="module")
def servers():
    reason = pg_support.unavailable_reason() or (
        "ARCHIVIO_TEST_DSN names one server: the replica test starts its own two"
        if os.environ.get("ARCHIVIO_TEST_DSN")
        else None
    )
    if reason:
        pytest.skip(reason)
    with pg_support.primary_and_replica() as pair:
        yield pair


def test_search_on_the_replica_sees_the_primary_import(servers, tmp_path):
    primary, replica = servers
    writer = open_archive("postgres", dsn=primary.dsn())
    report = writer.import_paths([DEMO])
    assert report.added == DEMO_COUNT
    expected = writer.search("tram bologna").to_dict()
    reader = open_archive("postgres", dsn=primary.dsn(), dsn_read=replica.dsn())
    with reader.db.reading() as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True

    # Waiting on the replay position, not on the articles: until the replica has replayed
    # the primary's schema, the tables do not exist there yet.
    pg_support.wait_for_replay(primary, replica, MAX_LAG_SECONDS)
    assert reader.stats()["indexed"] == DEMO_COUNT
    found = reader.search("tram bologna").to_dict()
    assert found["total"] == expected["total"] == 2
    assert [r["id"] for r in found["results"]] == [r["id"] for r in expected["results"]]
    assert found["facets"] == expected["facets"]

    # A removal on the primary reaches the replica too.
    gone = expected["results"][0]["id"]
    assert writer.remove([gone]) == [gone]
    pg_support.wait_for_replay(primary, replica, MAX_LAG_SECONDS)
    assert reader.get(gone) is None
    assert reader.search("tram bologna").total == 1

    # The CLI reads through ARCHIVIO_DSN_READ as well (and writes are refused there).
    env = dict(
        os.environ, ARCHIVIO_BACKEND="postgres", ARCHIVIO_DSN=primary.dsn(), ARCHIVIO_DSN_READ=replica.dsn()
    )
    cli = [sys.executable, str(ROOT / "cli.py")]
    out = subprocess.run(
        [*cli, "query", "tram bologna", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total"] == 1
    with pytest.raises(Exception, match="read-only"):
        open_archive("postgres", dsn=replica.dsn()).import_paths([DEMO])
    writer.close()
    reader.close()
