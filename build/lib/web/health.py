"""/healthz, for monitors and `archivio serve`'s start-up wait."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .engine import archive

log = logging.getLogger(__name__)

health = Blueprint("health", __name__)


@health.get("/healthz")
def health_status() -> ResponseReturnValue:
    """200 when the store and the index can be read, 503 otherwise. The
    reason goes to the log only: paths and exception names are not for
    whoever asks."""
    try:
        indexed = archive().indexed_count()
        articles = archive().article_count()
    except Exception:  # any failure to read means "not healthy"
        log.exception("health check failed")
        response = jsonify({"status": "error", "error": "Archivio non disponibile."})
        response.status_code = 503
    else:
        response = jsonify({"status": "ok", "articles": articles, "indexed": indexed})
    # Monitors must see the state now, never a stored answer.
    response.headers["Cache-Control"] = "no-store"
    return response
