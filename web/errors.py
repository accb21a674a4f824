"""Error answers, for every blueprint: the error page, or JSON for the API.

Which one is decided by the blueprint that handles the request: the API's
answer `{"error": message}`, every other (pages, health, static files) the
Italian error page. A URL no route takes (404, or 405 when its route takes
other methods) reaches no blueprint (Flask routes before it knows one): it
belongs to the blueprint whose URL prefix holds it ("/api/nulla" to the
API). Nothing a reader sends can produce a traceback: an unexpected
exception is logged and answered with a plain 500.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from archivio.search import DatabaseUnavailable, IndexMissing

from .engine import Busy
from .limits import RequestRefused

log = logging.getLogger(__name__)

errors = Blueprint("errors", __name__)

# The blueprints whose errors answer in JSON.
JSON_BLUEPRINTS = frozenset({"api"})

HTTP_ERRORS = {
    400: ("Richiesta non valida", "La richiesta non è valida."),
    405: ("Metodo non consentito", "Questa pagina si può solo leggere (GET)."),
    413: ("Richiesta troppo grande", "La richiesta è troppo grande."),
    414: ("Indirizzo troppo lungo", "L'indirizzo della pagina è troppo lungo."),
}


def handling_blueprint() -> str | None:
    """The blueprint of this request: the one of its route, else (no route
    took the URL) the one whose URL prefix holds the path."""
    if request.blueprint is not None:
        return request.blueprint
    for name, blueprint in current_app.blueprints.items():
        prefix = (blueprint.url_prefix or "").rstrip("/")
        if prefix and request.path.startswith(prefix + "/"):
            return name
    return None


def answers_json() -> bool:
    return handling_blueprint() in JSON_BLUEPRINTS


def json_error(message: str, status: int) -> ResponseReturnValue:
    return jsonify({"error": message}), status


def error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("error.html", code=status, title=title, message=message), status


def bad_request_page(message: str) -> ResponseReturnValue:
    return error_page(400, "Richiesta non valida", message)


def not_found_page(message: str) -> ResponseReturnValue:
    return error_page(404, "Pagina non trovata", message)


def error_answer(status: int, title: str, message: str) -> ResponseReturnValue:
    """JSON or the error page, as the handling blueprint speaks."""
    if answers_json():
        return json_error(message, status)
    return error_page(status, title, message)


def retry_later(title: str, message: str, seconds: int) -> ResponseReturnValue:
    """A 503 saying when to ask again (Retry-After)."""
    response = make_response(error_answer(503, title, message))
    response.headers["Retry-After"] = str(seconds)
    return response


@errors.app_errorhandler(IndexMissing)
def index_missing(e: IndexMissing) -> ResponseReturnValue:
    log.error("index missing: %s", e)
    message = "L'archivio è in manutenzione: l'indice di ricerca non è disponibile. Riprova tra poco."
    return retry_later("Archivio in manutenzione", message, 60)


@errors.app_errorhandler(DatabaseUnavailable)
def database_unavailable(e: DatabaseUnavailable) -> ResponseReturnValue:
    # PostgreSQL restarting or failing over: seconds, not the index's minutes.
    log.error("database unavailable: %s", e)
    message = "Il database dell'archivio non risponde in questo momento. Riprova tra pochi secondi."
    return retry_later("Archivio non raggiungibile", message, 5)


@errors.app_errorhandler(Busy)
def busy(e: Busy) -> ResponseReturnValue:
    log.warning("overloaded: %s", request.path)
    return retry_later("Servizio occupato", str(e), 5)


@errors.app_errorhandler(RequestRefused)
def refused(e: RequestRefused) -> ResponseReturnValue:
    return error_answer(e.status, HTTP_ERRORS.get(e.status, HTTP_ERRORS[400])[0], str(e))


@errors.app_errorhandler(404)
def not_found(e: HTTPException) -> ResponseReturnValue:
    return error_answer(404, "Pagina non trovata", "La pagina richiesta non esiste.")


@errors.app_errorhandler(HTTPException)
def http_error(e: HTTPException) -> ResponseReturnValue:
    code = e.code or 500
    title, message = HTTP_ERRORS.get(code, (e.name, e.description or ""))
    response = make_response(error_answer(code, title, message))
    if isinstance(e, MethodNotAllowed) and e.valid_methods:
        # RFC 9110 15.5.6: a 405 lists the methods the resource takes.
        response.headers["Allow"] = ", ".join(sorted(e.valid_methods))
    return response


@errors.app_errorhandler(Exception)
def internal_error(e: Exception) -> ResponseReturnValue:
    if isinstance(e, HTTPException):  # pragma: no cover - handled above
        return http_error(e)
    log.exception("unexpected error on %s", request.path)
    return error_answer(500, "Errore interno", "Si è verificato un errore imprevisto. Riprova più tardi.")
