"""What readers searched for, for the editors: each search of the site
(its words, filters, result count and time; nothing about who searched) in
a SQLite file, and the report `archivio report` prints: the most searched
queries, those that found nothing, the slowest, per day or week.

A face records a search's first page only (paging is not a new search).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

FILE_NAME = "ricerche.sqlite"
# Rows kept: the oldest go once there are more (a busy site's year of searches).
MAX_ROWS = 2_000_000
PERIODS = ("day", "week")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    at REAL NOT NULL,          -- unix time (UTC)
    day TEXT NOT NULL,         -- YYYY-MM-DD (UTC)
    query TEXT NOT NULL,       -- the words, lower case, spaces collapsed ('' browsing)
    filters TEXT NOT NULL,     -- JSON object of the filters used
    results INTEGER NOT NULL,
    ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS searches_day ON searches (day);
"""


def log_path(data_dir: str | Path | None = None) -> Path | None:
    """Where the log is: ARCHIVIO_SEARCH_LOG (a file; 0: no log), else
    FILE_NAME in the data folder (`data_dir`, $ARCHIVIO_DATA, ./data)."""
    setting = os.environ.get("ARCHIVIO_SEARCH_LOG", "").strip()
    if setting.lower() in ("0", "no", "off", "false"):
        return None
    if setting:
        return Path(setting)
    return Path(data_dir or os.environ.get("ARCHIVIO_DATA") or "data") / FILE_NAME


def normalized(query: str) -> str:
    """The form searches are counted by: "Piano  di PACE" = "piano di pace"."""
    return " ".join(query.lower().split())


class SearchLog:
    """The log file; one connection per process, writes serialised."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=5, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._writes = 0

    def close(self) -> None:
        self._db.close()

    def record(
        self, query: str, filters: dict[str, Any], results: int, ms: float, at: float | None = None
    ) -> None:
        at = time.time() if at is None else at
        day = datetime.fromtimestamp(at, UTC).date().isoformat()
        used = {k: v for k, v in filters.items() if v}
        row = (at, day, normalized(query), json.dumps(used, ensure_ascii=False, sort_keys=True), results, ms)
        with self._lock:
            self._db.execute("INSERT INTO searches VALUES (?, ?, ?, ?, ?, ?)", row)
            self._writes += 1
            if self._writes % 10_000 == 0:
                self._db.execute(
                    "DELETE FROM searches WHERE rowid <= (SELECT max(rowid) FROM searches) - ?", (MAX_ROWS,)
                )

    def report(
        self, since: date | None = None, until: date | None = None, by: str = "day", top: int = 10
    ) -> dict[str, Any]:
        """Searches between `since` and `until` (days, inclusive): how many,
        per day or week (`by`), the `top` most frequent queries, those with no
        result and the slowest. Browsing (no words) counts in the totals only."""
        where, params = "WHERE 1=1", []
        if since:
            where, params = where + " AND day >= ?", [*params, since.isoformat()]
        if until:
            where, params = where + " AND day <= ?", [*params, until.isoformat()]
        words = where + " AND query <> ''"
        q = self._db.execute
        total, zero = q(
            f"SELECT count(*), coalesce(sum(results = 0), 0) FROM searches {where}", params
        ).fetchone()
        periods: dict[str, list[int]] = {}
        for day, n, none in q(
            f"SELECT day, count(*), sum(results = 0) FROM searches {where} GROUP BY day ORDER BY day", params
        ):
            key = day if by == "day" else _week(day)
            counts = periods.setdefault(key, [0, 0])
            counts[0] += n
            counts[1] += none
        most = q(
            f"SELECT query, count(*) AS n FROM searches {words} "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?",
            [*params, top],
        ).fetchall()
        empty = q(
            f"SELECT query, count(*) AS n FROM searches {words} AND results = 0 "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?",
            [*params, top],
        ).fetchall()
        slow = q(
            f"SELECT query, filters, results, ms, at FROM searches {words} ORDER BY ms DESC LIMIT ?",
            [*params, top],
        ).fetchall()
        return {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "searches": total,
            "zero_results": zero,
            "by": by,
            "periods": [{"period": k, "searches": n, "zero_results": z} for k, (n, z) in periods.items()],
            "top_queries": [{"query": text, "count": n} for text, n in most],
            "zero_result_queries": [{"query": text, "count": n} for text, n in empty],
            "slowest": [
                {
                    "query": text,
                    "filters": json.loads(filters),
                    "results": results,
                    "ms": round(ms, 1),
                    "at": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
                }
                for text, filters, results, ms, at in slow
            ],
        }


def _week(day: str) -> str:
    """The ISO week of a day, as its Monday ("2026-W49" would hide the dates)."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()
