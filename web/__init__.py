"""Archivio's search site: a Flask app over a `search.ArchiveBackend`.

    flask --app archivio.web run   development server
    python cli.py serve          production (waitress)

The app holds no search logic: every answer comes from the one shared
`Archive` (it keeps a whoosh searcher and a SQLite connection per thread).
"""

from __future__ import annotations

if __name__ != "archivio.web":
    # One name, in a checkout as in a wheel (see search/__init__.py).
    raise ImportError(f"import Archivio's site as `archivio.web`, not `{__name__}`")

import os
import re
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, request

from archivio.search import (
    ArchiveBackend,
    SearchLog,
    default_synonyms,
    env_float,
    env_int,
    log_path,
    open_archive,
    warm,
)

from . import accesslog, metrics, presentation
from .api import api
from .errors import errors
from .exports import export_url, exports
from .feeds import feed_url, feeds
from .headers import add_headers
from .health import health
from .limits import MAX_BODY_BYTES, MAX_PARAMS, check_request
from .pages import pages

PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?/?")


def create_app(archive: ArchiveBackend | None = None, config: Mapping[str, Any] | None = None) -> Flask:
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
        # turn before the server answers 503 (see web.engine.engine_slot).
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
    default_synonyms()  # a synonyms file that cannot be read stops the start (SettingError), not each search
    # The search log (search.searchlog): ARCHIVIO_SEARCH_LOG in `config` (a
    # path, or None: off), else the environment's choice beside the data.
    path = (
        app.config["ARCHIVIO_SEARCH_LOG"]
        if "ARCHIVIO_SEARCH_LOG" in app.config
        else log_path(app.config["ARCHIVIO_DATA"])
    )
    app.extensions["archivio_search_log"] = SearchLog(path) if path else None
    app.extensions["archivio_slots"] = threading.BoundedSemaphore(
        max(1, int(app.config["ARCHIVIO_SEARCH_CONCURRENCY"]))
    )
    # /api/search returns exactly `cli.py query --json`: same key order, real accents.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    presentation.install(app)
    for blueprint in (pages, api, feeds, exports, health, errors):
        app.register_blueprint(blueprint)
    app.add_template_global(feed_url)
    app.add_template_global(export_url)
    # Before any parameter is parsed: a refused request costs the same whatever its size.
    app.before_request(lambda: check_request(request))
    app.after_request(add_headers)
    accesslog.install(app)
    metrics.install(app)

    return app


# Seconds a server waits for its warm-up before it listens anyway (the
# warm-up then goes on beside the first requests): at 100k articles it
# takes ~1.5 s; an unreachable database fails it after the pool's wait.
WARM_WAIT = 15.0


def warm_app(app: Flask, wait: float = WARM_WAIT) -> str | None:
    """Before a server listens: the page's templates compiled (~60 ms, else
    the first page's) and the engine's one-time costs (search.warm), for
    `wait` seconds at most. Returns the word the warm-up searched (None:
    none, or not done yet)."""
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    done: dict[str, str | None] = {}
    archive = app.extensions["archivio"]

    def run() -> None:
        try:
            done["word"] = warm(archive)
        except Exception as e:  # noqa: BLE001 - a failed warm-up must not stop the site
            app.logger.warning("Preparazione della ricerca non riuscita: %s", e)

    worker = threading.Thread(target=run, name="archivio-warm", daemon=True)
    worker.start()
    worker.join(wait)
    return done.get("word")


__all__ = ["create_app", "warm_app"]
