"""Bounds on every request, checked before any work that grows with its size.

The checks read only the raw request line and headers (byte counts and one
`bytes.count`, both in C), so a refused request costs the same whatever it
carries: 0.2-1.4 ms of the app's CPU, 0.3-2 ms of the server's with
waitress, from 1 KB to the 244 KB of issue 14 (python bench/limits.py).
Requests within these bounds have at most MAX_PARAMS values to parse,
each at most MAX_VALUE_CHARS long; then the engine's own bounds take over
(search.queryparse, the search time budget). The server (web.server) caps
what reaches the app at all.
"""

from __future__ import annotations

from flask import Request

# Bytes after "?" as sent (percent-encoded). A full search (a 1000-character
# query, an author, 20 categories, dates, sort, page) takes under 8 KiB
# unless it is mostly accented letters, which cost 6 bytes each encoded.
MAX_QUERY_BYTES = 16_384
# name=value pairs: the page's own links carry at most 27 (q, autore, 20
# categorie, da, a, ordina, pagina, per_pagina, filtro).
MAX_PARAMS = 64
# Characters of one value once decoded (the query's own limit is the same:
# search.queryparse.MAX_QUERY_CHARS).
MAX_VALUE_CHARS = 1000
# The longest path a route takes: /articolo/<id> with an id of 200 characters.
MAX_PATH_BYTES = 2048
# Every route reads only the URL: a body is never needed.
MAX_BODY_BYTES = 65_536


class RequestRefused(Exception):
    """A request over one of the bounds; the message is for the reader (Italian)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def check_request(request: Request) -> None:
    """Raises RequestRefused when the request is over a bound. Reads no
    parameter: only lengths of what the server already holds."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        limit = f"{MAX_QUERY_BYTES:,}".replace(",", ".")
        raise RequestRefused(f"L'indirizzo è troppo lungo: al massimo {limit} caratteri dopo «?».", 414)
    # Parameters are separated by "&" only (werkzeug, like urllib.parse).
    if request.query_string.count(b"&") + 1 > MAX_PARAMS:
        raise RequestRefused(f"Troppi parametri nell'indirizzo: al massimo {MAX_PARAMS}.", 400)
    if len(request.environ.get("PATH_INFO", "")) > MAX_PATH_BYTES:
        raise RequestRefused("L'indirizzo della pagina è troppo lungo.", 414)
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise RequestRefused("La richiesta è troppo grande.", 413)
