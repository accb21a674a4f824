"""Throwaway PostgreSQL servers for the tests: initdb + pg_ctl on loopback.

The servers run as the `postgres` OS user when the tests run as root
(PostgreSQL refuses root), from Debian's /usr/lib/postgresql/*/bin (or
$ARCHIVIO_PG_BIN), with their data in a temporary directory and a free
port on 127.0.0.1. ARCHIVIO_TEST_DSN names an existing server instead
(its user must be allowed to create databases).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

SERVER_OPTIONS = [
    "-c",
    "listen_addresses=127.0.0.1",
    # A test server: durability off, speed on.
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200",
]


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    configured = os.environ.get("ARCHIVIO_PG_BIN")
    if configured:
        return Path(configured) if (Path(configured) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here (None: they can)."""
    if os.environ.get("ARCHIVIO_TEST_DSN"):
        return None
    if pg_bin() is None:
        return "PostgreSQL non installato (initdb/pg_ctl assenti: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "eseguiti da root senza l'utente di sistema 'postgres' per avviare il server"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


class PgServer:
    """One PostgreSQL server in a temporary folder: a fresh cluster, or a
    streaming replica of `primary`."""

    def __init__(self, primary: PgServer | None = None) -> None:
        self.bin = pg_bin()
        # Not under pytest's folders: those are private to the user running the tests.
        self.base = Path(tempfile.mkdtemp(prefix="archivio-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        _own(self.base)
        if primary is None:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
        else:
            # A streaming replica: a base backup with standby.signal and primary_conninfo (-R).
            self._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            )
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            _as_server_user([str(self.bin / tool), *args]), capture_output=True, text=True, timeout=120
        )
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        options = " ".join([f"-p {self.port}", f"-k {self.base}", *SERVER_OPTIONS])
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")

    def restart(self) -> None:
        """pg_ctl restart -m fast: sessions are ended; returns once it accepts connections."""
        options = " ".join([f"-p {self.port}", f"-k {self.base}", *SERVER_OPTIONS])
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.base / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def shut_down(self) -> None:
        """pg_ctl stop -m fast, keeping its folder (a lost primary)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def promote(self) -> None:
        """A replica becomes a primary; returns once it takes writes."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def stop(self) -> None:
        """Stops the server and deletes its folder."""
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"


@contextlib.contextmanager
def primary_and_replica() -> Iterator[tuple[PgServer, PgServer]]:
    """A primary and its streaming replica, both stopped and deleted after."""
    primary = PgServer()
    replica = None
    try:
        replica = PgServer(primary=primary)
        yield primary, replica
    finally:
        for server in (replica, primary):
            if server is not None:
                server.stop()


def create_database(admin_dsn: str, prefix: str = "archivio_test") -> str:
    """A new empty database on the server of `admin_dsn`; its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _dsn_of(admin_dsn, name)


def copy_database(admin_dsn: str, source_dsn: str, prefix: str = "archivio_test") -> str:
    """A new database on the server of `admin_dsn`, a copy of `source_dsn`'s
    (CREATE DATABASE ... TEMPLATE); its DSN. Nothing may be connected to the
    source: a server process can outlive its closed connection for a moment,
    so a source still "in use" is retried for a few seconds."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    source = psycopg.conninfo.conninfo_to_dict(source_dsn)["dbname"]
    deadline = time.monotonic() + 10
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        while True:
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    return _dsn_of(admin_dsn, name)


def _dsn_of(admin_dsn: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def wait_for(predicate, timeout: float, interval: float = 0.05) -> float:
    """Polls `predicate` until it is true; the seconds it took (TimeoutError past `timeout`)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not true after {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started


def wait_for_replay(primary: PgServer, replica: PgServer, timeout: float) -> float:
    """Waits until the replica has replayed all the WAL the primary has inserted so far
    (schema changes included); the seconds it took. The insert position, not the write
    position: with synchronous_commit off a commit record may not be written yet."""
    with psycopg.connect(primary.dsn(), autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    with psycopg.connect(replica.dsn(), autocommit=True) as conn:

        def replayed() -> bool:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
            return bool(row[0])

        return wait_for(replayed, timeout)
