"""Connections: a pool on the primary (writes, migrations) and one for reads.

Searches, article pages and exports of a web server read through
ARCHIVIO_DSN_READ when it is set (a streaming replica), else through the
primary. Writers (import, rebuild, remove) take a connection of their own
and hold the archive's writer lock, a PostgreSQL advisory lock released by
the server if the writer dies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import DatabaseUnavailable, busy
from ..settings import env_float, env_int
from .migrations import migrate

# pg_advisory_lock key of the single writer ("ARCHIVIO").
WRITER_LOCK = 0x4152_4348_4956_494F - 2**63
# Seconds to reach the server (ARCHIVIO_PG_CONNECT_TIMEOUT).
CONNECT_TIMEOUT = 10
# A search (or any read of a web request) is cancelled past this.
STATEMENT_TIMEOUT_MS = 10_000
TRIGRAM_THRESHOLD = 0.2
RANDOM_PAGE_COST = 1.1
# Seconds a read waits for a pooled connection before the database counts as
# unreachable (a 503 with Retry-After on the site, not psycopg_pool's 30 s).
READ_WAIT = 5.0
# After a pooled connection is found broken, for this many seconds a read
# waits only OUTAGE_WAIT for a pooled one, then connects by itself.
OUTAGE_SECONDS = 30.0
OUTAGE_WAIT = 0.05


# Why a connection failed, from libpq's English words (a failed connection
# has no SQLSTATE): the user reads Italian.
_CONNECT_REASONS = (
    (r"password authentication failed", "password errata"),
    (r'role "[^"]*" does not exist', "l'utente non esiste"),
    (r'database "[^"]*" does not exist', "il database non esiste"),
    (r"no pg_hba\.conf entry|permission denied", "accesso non consentito"),
    (r"too many connections", "il server ha troppe connessioni aperte"),
    (r"the database system is (starting up|shutting down)", "il server si sta avviando o arrestando"),
    (r"connection refused", "connessione rifiutata (il server è avviato e accetta connessioni TCP?)"),
    (r"timeout expired", "tempo scaduto"),
    (r"could not translate host name|failed to resolve host", "nome del server sconosciuto"),
    (r"no such file or directory", "socket del server inesistente (il server è avviato?)"),
)


def _reason(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    text = str(error).lower()
    return next((it for en, it in _CONNECT_REASONS if re.search(en, text)), "connessione non riuscita")


def _unavailable(dsn: str, error: BaseException | str) -> DatabaseUnavailable:
    where = psycopg.conninfo.conninfo_to_dict(dsn).get("host") or "localhost"
    return DatabaseUnavailable(f"Database PostgreSQL non raggiungibile ({where}): {_reason(error)}")


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(f"SET pg_trgm.similarity_threshold = {TRIGRAM_THRESHOLD}")
    # The planner prices a `tsv @@ query` test on a row like any filter, not
    # as the read of a TOASTed vector it is, and at the default 4 preferred
    # reading every row to the index: a count of 28,773 matches among 100k
    # articles took 701 ms that way and 57 ms through the GIN index. The
    # archive's pages are mostly in memory, where 1.1 is the usual setting.
    conn.execute(f"SET random_page_cost = {RANDOM_PAGE_COST}")
    conn.commit()


def _begin_read(conn: psycopg.Connection) -> None:
    # One snapshot for the whole read: a search counts, ranks and then reads its
    # page's articles in separate statements, and under the default READ COMMITTED
    # a removal committed in between left the page short of a hit (9 of a total of 250).
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


class Database:
    """The pools of one archive, opened on first use; migrations applied on the primary."""

    def __init__(self, dsn: str, dsn_read: str | None = None, pool_size: int | None = None) -> None:
        self.dsn = dsn
        self.dsn_read = dsn_read or None
        self.pool_size = pool_size or env_int("ARCHIVIO_PG_POOL", 10, minimum=1, maximum=1000)
        self.connect_timeout = env_float("ARCHIVIO_PG_CONNECT_TIMEOUT", CONNECT_TIMEOUT, minimum=0.1)
        self._primary: ConnectionPool | None = None
        self._replica: ConnectionPool | None = None
        # When a read last found a pooled connection broken (monotonic seconds).
        self._broken_at = float("-inf")

    def _open(self, dsn: str) -> ConnectionPool:
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            # psycopg's reason is English and may quote a password: not shown.
            raise DatabaseUnavailable(
                "Indirizzo del database PostgreSQL non valido "
                '(es. postgresql://utente@server/database o "host=server dbname=database").'
            ) from e
        pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=self.pool_size,
            open=False,
            configure=_configure,
            kwargs={"connect_timeout": max(1, int(self.connect_timeout))},
            name="archivio",
        )
        try:
            pool.open(wait=True, timeout=self.connect_timeout)
        except PoolTimeout as e:
            pool.close()
            # The pool only logs why its attempts failed: one more attempt tells.
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
            except psycopg.Error as probe:
                raise _unavailable(dsn, probe) from e
            raise _unavailable(dsn, "connessione non riuscita") from e
        return pool

    @property
    def primary(self) -> ConnectionPool:
        if self._primary is None:
            pool = self._open(self.dsn)
            try:
                with pool.connection() as conn:
                    migrate(conn)
            except BaseException:
                pool.close()
                raise
            self._primary = pool
        return self._primary

    @property
    def replica(self) -> ConnectionPool:
        if self.dsn_read is None:
            return self.primary
        if self._replica is None:
            self.primary  # noqa: B018 - the schema is made (or checked) on the primary first
            self._replica = self._open(self.dsn_read)
        return self._replica

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection]:
        """A read connection in a transaction with a statement time limit,
        reading one snapshot of the archive."""
        try:
            with self._read_connection() as conn:
                conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                yield conn
        except psycopg.errors.UndefinedTable as e:
            # Only a replica can lack the tables the primary has made: it has not replayed them yet.
            raise DatabaseUnavailable(
                "Il database di lettura non ha ancora le tabelle dell'archivio: "
                "la replica non è ancora allineata con il primario, riprova tra poco."
            ) from e
        except psycopg.OperationalError as e:
            if isinstance(e, psycopg.errors.QueryCanceled):
                raise
            raise _unavailable(self.dsn_read or self.dsn, e) from e

    @contextmanager
    def _read_connection(self) -> Iterator[psycopg.Connection]:
        """A working connection with its read transaction begun: a pooled one,
        or, while pooled connections are found broken (the server restarted,
        or another took its place), one of its own.

        A pooled connection is checked by the transaction's first statement
        (no extra round trip); a broken one goes back to the pool, which
        replaces it, and the next is tried. The pool reconnects with a
        growing back-off (1, 2, 4 ... s), so for OUTAGE_SECONDS after a broken
        connection a read that finds no pooled connection at once connects
        by itself: reads answer again as soon as the server accepts
        connections, and fail at once (DatabaseUnavailable) while it doesn't."""
        pool = self.replica
        deadline = time.monotonic() + READ_WAIT
        for _ in range(self.pool_size + 1):
            outage = time.monotonic() - self._broken_at < OUTAGE_SECONDS
            try:
                conn = pool.getconn(timeout=OUTAGE_WAIT if outage else max(0.0, deadline - time.monotonic()))
            except PoolTimeout as e:
                if outage:
                    break
                reason = f"nessuna connessione libera entro {READ_WAIT:g} s"
                raise _unavailable(self.dsn_read or self.dsn, reason) from e
            try:
                _begin_read(conn)
            except psycopg.OperationalError:
                pool.putconn(conn)
                if not conn.broken:
                    raise
                self._broken_at = time.monotonic()
                continue
            self._broken_at = float("-inf")
            try:
                with conn:  # commits, or rolls back on an error
                    yield conn
            finally:
                pool.putconn(conn)
            return
        dsn = self.dsn_read or self.dsn
        try:
            # Within READ_WAIT too: a server that doesn't answer (not one that refuses) must not hold a page.
            conn = psycopg.connect(dsn, connect_timeout=max(1, int(min(self.connect_timeout, READ_WAIT))))
        except psycopg.OperationalError as e:
            raise _unavailable(dsn, e) from e
        try:
            _configure(conn)
            _begin_read(conn)
            with conn:
                yield conn
        finally:
            conn.close()

    @contextmanager
    def writing(self, lock_timeout: float) -> Iterator[psycopg.Connection]:
        """A connection of its own (autocommit: callers open transactions)
        holding the writer lock; WriterBusy past `lock_timeout` seconds."""
        self.primary  # noqa: B018 - migrations first
        try:
            timeout = max(1, int(self.connect_timeout))
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=timeout)
        except psycopg.OperationalError as e:
            raise _unavailable(self.dsn, e) from e
        try:
            deadline = time.monotonic() + lock_timeout
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    raise busy(lock_timeout)
                time.sleep(0.1)
            yield conn
        finally:
            conn.close()  # ends the session: the advisory lock goes with it

    def writer_pid(self) -> int | None:
        """The server process of the session holding the writer lock, or None.
        (pg_locks shows a bigint advisory key as classid = its high 32 bits,
        objid = its low 32 bits, objsubid = 1.)"""
        key = WRITER_LOCK & 0xFFFF_FFFF_FFFF_FFFF
        with self.primary.connection() as conn:
            row = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1 AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                (key >> 32, key & 0xFFFF_FFFF),
            ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        for pool in (self._replica, self._primary):
            if pool is not None:
                pool.close()
        self._primary = self._replica = None
