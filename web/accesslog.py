"""One structured line per request on the `archivio.access` logger: a JSON
object with the method, the path (not the query string: what readers
search for is the search log's, without anything personal), the status,
the duration in ms and, for a search, its result count. `archivio serve`
writes them to stderr; ARCHIVIO_ACCESS_LOG=0 turns them off."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from flask import Flask, Response, g, request

log = logging.getLogger("archivio.access")


def to_stderr() -> None:
    """The lines on stderr, one JSON object each (unless ARCHIVIO_ACCESS_LOG
    is 0); once per process."""
    if os.environ.get("ARCHIVIO_ACCESS_LOG", "1").strip().lower() in ("0", "no", "off", "false"):
        return
    if not any(getattr(h, "archivio", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.archivio = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def install(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_line)


def request_seconds() -> float | None:
    """How long this request has taken so far (None: refused before it was timed)."""
    started = g.get("archivio_started")
    return time.perf_counter() - started if started is not None else None


def count_results(total: int) -> None:
    """The result count of this request's search, for its access line."""
    g.archivio_results = total


def _start() -> None:
    g.archivio_started = time.perf_counter()


def _line(response: Response) -> Response:
    if log.isEnabledFor(logging.INFO):
        seconds = request_seconds()
        entry = {
            "method": request.method,
            "path": request.path[:200],
            "status": response.status_code,
            "ms": round(seconds * 1000, 1) if seconds is not None else None,
            "results": g.get("archivio_results"),
        }
        log.info(json.dumps(entry, ensure_ascii=False))
    return response
