"""The JSON API described as OpenAPI 3.1, served at /api/openapi.json.

Built from the same tables the API reads (web.params: the parameters, the
sorts; search.results: the paging bounds), so the description cannot
drift from what the API accepts; tests/test_openapi.py runs schemathesis
against a real server from it.
"""

from __future__ import annotations

from typing import Any

from archivio.search import MAX_DEPTH, MAX_PER_PAGE

from .params import ALL_COPIES, API_SEARCH_PARAMETERS, MAX_CATEGORIES, MAX_PARAM_CHARS, SORTS

TEXT = {"type": "string", "maxLength": MAX_PARAM_CHARS}
DATE = {
    "type": "string",
    "maxLength": 40,
    "description": "Una data: AAAA-MM-GG oppure GG/MM/AAAA.",
    "examples": ["2025-11-19", "19/11/2025"],
}
# /api/search's parameters: API_SEARCH_PARAMETERS, each described.
SEARCH_PARAMETERS: dict[str, dict[str, Any]] = {
    "q": {
        "description": "Le parole cercate (vuoto: gli articoli dei filtri, dal più recente).",
        "schema": TEXT,
    },
    "autore": {"description": "Autore, anche solo una parte del nome.", "schema": TEXT},
    "categoria": {
        "description": f"Categoria; ripetuto, una qualsiasi delle categorie (al massimo {MAX_CATEGORIES}).",
        "schema": {"type": "array", "items": TEXT, "maxItems": MAX_CATEGORIES},
        "style": "form",
        "explode": True,
    },
    "da": {"description": "Articoli da questa data.", "schema": DATE},
    "a": {"description": "Articoli fino a questa data.", "schema": DATE},
    "ordina": {
        "description": "Ordinamento.",
        "schema": {
            "type": "string",
            "enum": [*SORTS, "relevance", "newest", "oldest"],
            "default": "rilevanza",
        },
    },
    "pagina": {
        "description": f"Pagina dei risultati, da 1 (si sfogliano i primi {MAX_DEPTH} risultati).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH, "default": 1},
    },
    "per_pagina": {
        "description": "Risultati per pagina.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10},
    },
    "copie": {
        "description": f"«{ALL_COPIES}»: ogni copia della stessa notizia (altre fonti, copie d'agenzia) "
        "al suo posto. Assente: ogni notizia una volta, al posto del suo articolo migliore, "
        "con le altre fonti "
        "in `other_sources`; le pagine contano le notizie (`stories`).",
        "schema": {"type": "string", "enum": ["", ALL_COPIES], "default": ""},
    },
}
assert tuple(SEARCH_PARAMETERS) == API_SEARCH_PARAMETERS

NULLABLE_TEXT = {"type": ["string", "null"]}
HIT = {
    "type": "object",
    "required": ["id", "title", "date", "snippet", "all_words", "title_html", "copies", "other_sources"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "subtitle": NULLABLE_TEXT,
        "author": NULLABLE_TEXT,
        "date": {"type": ["string", "null"], "format": "date"},
        "category": NULLABLE_TEXT,
        "source": NULLABLE_TEXT,
        "url": NULLABLE_TEXT,
        "score": {"type": ["number", "null"]},
        "snippet": {"type": "string", "description": "HTML: le parole trovate in <mark>."},
        "all_words": {"type": "boolean"},
        "title_html": {"type": "string"},
        "copies": {
            "type": "integer",
            "minimum": 0,
            "description": "Altri articoli con la stessa notizia (altre fonti, copie d'agenzia).",
        },
        "other_sources": {
            "type": "array",
            "description": "Quegli articoli, dal meno recente.",
            "items": {
                "type": "object",
                "required": ["id", "title", "source", "date", "url"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "source": NULLABLE_TEXT,
                    "date": {"type": ["string", "null"], "format": "date"},
                    "url": NULLABLE_TEXT,
                },
            },
        },
    },
}
FACET_VALUE = {
    "type": "object",
    "required": ["value", "count"],
    "properties": {
        "value": {"type": ["string", "integer"], "description": "anni e mesi sono numeri"},
        "count": {"type": "integer", "minimum": 0},
    },
}
SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "total", "page", "per_page", "fallback", "results", "facets", "exact_total"],
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "fallback": {"type": "boolean"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": {"type": "object", "additionalProperties": {"type": "array", "items": FACET_VALUE}},
        "suggestion": NULLABLE_TEXT,
        "exact_total": {"type": "integer", "minimum": 0},
        "partial_total": {"type": "integer", "minimum": 0},
        "sort": {"type": "string", "enum": ["relevance", "newest", "oldest"]},
        "cut": {"type": "boolean"},
        "facet_sizes": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "folded": {"type": "boolean", "description": "Le copie della stessa notizia sono raggruppate."},
        "stories": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "Le notizie diverse tra i `total` articoli (raggruppate: null se non lo sono).",
        },
    },
}
ARTICLE = {
    "type": "object",
    "required": ["id", "title", "body"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "subtitle": NULLABLE_TEXT,
        "author": NULLABLE_TEXT,
        "date": {"type": ["string", "null"], "format": "date"},
        "category": NULLABLE_TEXT,
        "body": {"type": "string"},
        "url": NULLABLE_TEXT,
        "source": NULLABLE_TEXT,
    },
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


BUSY = _error("Servizio occupato o in manutenzione (con Retry-After).")


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """The API's OpenAPI 3.1 description (`server_url`: where it is served)."""
    search_parameters = [{"name": name, "in": "query", **spec} for name, spec in SEARCH_PARAMETERS.items()]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Archivio",
            "version": "1",
            "description": "Ricerca nel testo completo di un archivio di notizie in italiano. "
            "I parametri sono quelli della pagina di ricerca; un parametro sconosciuto è un errore 400. "
            'Gli errori sono {"error": messaggio} in italiano.',
        },
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Cerca negli articoli (le stesse risposte di `archivio query --json`).",
                    "parameters": search_parameters,
                    "responses": {
                        "200": _json("I risultati.", {"$ref": "#/components/schemas/SearchResult"}),
                        "400": _error("Parametri non validi."),
                        "503": BUSY,
                    },
                }
            },
            "/api/article/{article_id}": {
                "get": {
                    "operationId": "article",
                    "summary": "Un articolo, intero.",
                    "parameters": [
                        {"name": "article_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json("L'articolo.", {"$ref": "#/components/schemas/Article"}),
                        "404": _error("Articolo non trovato."),
                        "503": BUSY,
                    },
                }
            },
            "/api/suggest": {
                "get": {
                    "operationId": "suggest",
                    "summary": "Completamenti, nel formato di OpenSearch.",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}}
                    ],
                    "responses": {
                        "200": _json(
                            "I completamenti.",
                            {
                                "type": "array",
                                # [text, [completions], [descriptions], [urls]]
                                "items": {
                                    "anyOf": [
                                        {"type": "string"},
                                        {"type": "array", "items": {"type": "string"}},
                                    ]
                                },
                                "minItems": 4,
                                "maxItems": 4,
                            },
                        ),
                        "400": _error("Parametri non validi."),
                        "503": BUSY,
                    },
                }
            },
        },
        "components": {
            "schemas": {"SearchResult": SEARCH_RESULT, "Hit": HIT, "Article": ARTICLE, "Error": ERROR},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
