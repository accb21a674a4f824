"""The JSON API under /api/: search results (exactly `cli.py query --json`),
an article, autocomplete suggestions (OpenSearch's format). Its errors
answer `{"error": message}` (web.errors)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from archivio.search import DateError, QueryError, format_italian

from .engine import archive, engine_slot, find_article, run_search
from .errors import json_error
from .openapi import openapi_document
from .pages import site_url
from .params import API_SEARCH_PARAMETERS, BadParameter, check_known, read_params, read_per_page

api = Blueprint("api", __name__, url_prefix="/api")

SUGGESTIONS = 8


@api.get("/search")
def search_results() -> ResponseReturnValue:
    """Exactly `cli.py query --json` for the same parameters."""
    try:
        check_known(request.args, API_SEARCH_PARAMETERS)
        params = read_params(request.args)
        result = run_search(params, read_per_page(request.args))
    except (QueryError, DateError, BadParameter) as e:
        return json_error(str(e), 400)
    return jsonify(result.to_dict())


@api.get("/article/<article_id>")
def article(article_id: str) -> ResponseReturnValue:
    found = find_article(article_id)
    if found is None:
        return json_error("Articolo non trovato.", 404)
    return jsonify(found.to_dict())


@api.get("/suggest")
def suggestions() -> ResponseReturnValue:
    """OpenSearch suggestions: [query, [completions], [descriptions], [urls]].

    A word or name completes the query (its description and url are empty:
    it is searched); an article's title has its date as description and
    its page as url, which the page's script opens when it is chosen."""
    try:
        check_known(request.args, ("q",))
    except BadParameter as e:
        return json_error(str(e), 400)
    q = request.args.get("q", "")[:200]
    found = []
    if q.strip():
        with engine_slot():
            found = archive().suggestions(q, SUGGESTIONS)
    texts, descriptions, urls = [], [], []
    for s in found:
        texts.append(s.text)
        is_title = s.kind == "title" and s.article_id is not None
        descriptions.append((format_italian(s.date) or "Articolo") if is_title else "")
        urls.append(url_for("pages.article_page", article_id=s.article_id) if is_title else "")
    response = jsonify([q, texts, descriptions, urls])
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@api.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The API's OpenAPI 3.1 description (README, "JSON API")."""
    response = jsonify(openapi_document(site_url()))
    response.headers["Cache-Control"] = "no-cache"
    return response
