"""Archivio's search site: a Flask app over `search.Archive`.

    flask --app web run          development server
    python cli.py serve          production (waitress)

The app holds no search logic: every answer comes from the one shared
`Archive` (it keeps a whoosh searcher and a SQLite connection per thread).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, url_for

from search import Archive, open_archive
from search.settings import env_float, env_int

from .limits import MAX_BODY_BYTES, MAX_PARAMS, check_request
from .views import bp, register_error_handlers

STATIC_DIR = Path(__file__).parent / "static"
PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?/?")

# No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Search queries travel in URLs: never hand them to other sites.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(archive: Archive | None = None, config: Mapping[str, Any] | None = None) -> Flask:
    """The search site. Without `archive`, one is opened by search.open_archive
    from ARCHIVIO_BACKEND, ARCHIVIO_DSN, ARCHIVIO_DSN_READ, ARCHIVIO_DATA and
    ARCHIVIO_INDEX in `config`, else the environment, else ./data and ./index."""
    app = Flask(__name__)
    app.config.from_mapping(
        ARCHIVIO_DATA=None,
        ARCHIVIO_INDEX=None,
        # Results per page on the search page (the API accepts per_pagina).
        ARCHIVIO_PER_PAGE=10,
        # Requests using the index at once, and how long one waits for its
        # turn before the server answers 503 (see views.engine_slot).
        ARCHIVIO_SEARCH_CONCURRENCY=env_int("ARCHIVIO_SEARCH_CONCURRENCY", 1, minimum=1, maximum=64),
        ARCHIVIO_SEARCH_WAIT=env_float("ARCHIVIO_SEARCH_WAIT", 15.0),
        # Static files carry a content hash in their URL, so they can be cached.
        SEND_FILE_MAX_AGE_DEFAULT=86_400,
        # The site's address as readers reach it (http://host[:port]), for the
        # absolute links of /opensearch.xml; unset, a well-formed Host header is used.
        ARCHIVIO_PUBLIC_URL=os.environ.get("ARCHIVIO_PUBLIC_URL") or None,
        # No route reads a body (web.limits); werkzeug refuses longer ones with 413.
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_PARTS=MAX_PARAMS,
    )
    if config:
        app.config.from_mapping(config)
    public_url = app.config["ARCHIVIO_PUBLIC_URL"]
    if public_url and not PUBLIC_URL.fullmatch(public_url):
        raise ValueError(
            f"ARCHIVIO_PUBLIC_URL non valido: {public_url!r}. Usa http(s)://nome[:porta], "
            "per esempio https://archivio.example.it."
        )
    if archive is None:
        # The backend (whoosh or postgres) and its DSNs: config, else the environment.
        archive = open_archive(
            app.config.get("ARCHIVIO_BACKEND"),
            dsn=app.config.get("ARCHIVIO_DSN"),
            dsn_read=app.config.get("ARCHIVIO_DSN_READ"),
            data_dir=app.config["ARCHIVIO_DATA"],
            index_dir=app.config["ARCHIVIO_INDEX"],
        )
    app.extensions["archivio"] = archive
    app.extensions["archivio_slots"] = threading.BoundedSemaphore(
        max(1, int(app.config["ARCHIVIO_SEARCH_CONCURRENCY"]))
    )
    # /api/search returns exactly `cli.py query --json`: same key order, real accents.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    versions = _static_versions()

    def static_url(filename: str) -> str:
        return url_for("static", filename=filename, v=versions.get(filename))

    app.jinja_env.globals["static_url"] = static_url
    app.register_blueprint(bp)
    register_error_handlers(app)

    @app.before_request
    def bounded_request() -> None:
        # Before any parameter is parsed: a refused request costs the same whatever its size.
        check_request(request)

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "Cache-Control" not in response.headers:
            # Answers change with every import and carry no validator: a cache
            # must ask again (no-cache; the browser's back button still shows
            # the stored page). Errors are never stored: a 503 must not outlive
            # the overload. Static files (1 day, versioned URLs), suggestions
            # (60 s) and /opensearch.xml set their own.
            response.headers["Cache-Control"] = "no-cache" if response.status_code < 400 else "no-store"
        return response

    return app


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, for cache-busting URLs."""
    return {
        p.name: hashlib.sha1(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()
    }


__all__ = ["create_app"]
