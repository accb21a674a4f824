"""Ranked retrieval inside the index: the RUM access method, where it is turned on.

PostgreSQL's GIN index finds the articles holding the words but not the
best of them: `ts_rank` then reads each match's vector from the table
(a TOASTed, compressed tsvector of a few kB), so a common word's ranking
costs a detoast per match. The RUM extension (Debian's postgresql-15-rum)
stores the positions in the index and answers `ORDER BY vector <=> query
LIMIT k` from it. The engine asks it for a pool of candidates and ranks
the pool with its own score (search.pg.searching.scorer: idf x ts_rank
per word group), exactly as it ranks every match without RUM: only which
articles make the pool comes from RUM's rank (ts_rank without idf).

Off unless ARCHIVIO_PG_RUM=1: a streaming replica of a primary with a RUM
index stops (PANIC "WAL contains references to invalid pages" replaying
RUM's generic WAL records, postgresql-15-rum 1.3 on PostgreSQL 15.20; the
replication tests found it), so it is for an archive without replicas.
`archivio rebuild` makes the index when the setting is on (RUM is not a
trusted extension: the user must be a superuser, or a superuser must have
run CREATE EXTENSION rum in the database) and drops it when it is off;
`archivio check` says which ranking the archive uses.
"""

from __future__ import annotations

import time

import psycopg

from ..settings import env_int

INDEX = "articles_tsv_rum"
# What the RUM index indexes: `tsv` as an expression of its own, which only
# the pool's statements name. On the column itself the planner also took it
# for plain matching, where a negation made a 45 ms search take 13 s.
RANKED = "(tsv || ''::tsvector)"

# The RUM index, when the extension is (or can be) installed; nothing otherwise.
ENSURE_SQL = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'rum')
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'rum') THEN
        BEGIN
            CREATE EXTENSION rum;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'archivio: CREATE EXTENSION rum needs a superuser; ranking without it';
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'rum') THEN
        CREATE INDEX IF NOT EXISTS {INDEX} ON articles USING rum ({RANKED} rum_tsvector_ops);
    END IF;
END $$;
"""

# Above this many matches a relevance ranking ranks a RUM pool instead of
# every match; below it, ranking them all is as cheap (~30 us a match).
POOL_ABOVE = 2_000
# The pool: the first POOL matches by RUM's rank, ranked by the engine's
# score. Every page ending by rank POOL // 2 is cut from that one ranking;
# deeper pages rank every match (as without RUM), so around that rank a
# page can repeat or miss an article of the page before.
POOL = 400

# Seconds a process trusts what it last read about the index.
_RECHECK = 60.0
_known: dict[str, tuple[float, bool]] = {}


def wanted() -> bool:
    """Whether the RUM index is turned on (ARCHIVIO_PG_RUM=1)."""
    return env_int("ARCHIVIO_PG_RUM", 0, minimum=0, maximum=1) == 1


def ensure(conn: psycopg.Connection) -> bool:
    """Makes the RUM index when it is wanted and the extension is there (or
    can be made), drops it when it is not wanted; whether the archive has it now."""
    with conn.transaction():
        conn.execute(ENSURE_SQL if wanted() else f"DROP INDEX IF EXISTS {INDEX}")
    _known.clear()
    return has_index(conn)


def has_index(conn: psycopg.Connection) -> bool:
    """Whether `articles` has a valid RUM index (read at most every _RECHECK s per database)."""
    key = conn.info.dsn
    now = time.monotonic()
    known = _known.get(key)
    if known is None or now - known[0] > _RECHECK:
        row = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (INDEX,))
        row = row.fetchone()
        known = (now, bool(row and row[0]))
        _known[key] = known
    return known[1]


def pools(end: int) -> bool:
    """Whether a ranking cut at rank `end` is cut from the pool."""
    return end <= POOL // 2


def status(conn: psycopg.Connection) -> str:
    """Which ranking the archive uses, for `check`: "rum" (the index is
    there), "available" (the server has the extension, the archive does
    not use it) or "absent" (plain GIN)."""
    if has_index(conn):
        return "rum"
    found = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'rum')")
    return "available" if found.fetchone()[0] else "absent"
