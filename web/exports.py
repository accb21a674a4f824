"""A search's results, all of them, as a file (/export.csv, /export.jsonl):
the page's parameters, the engine's order (search.exporting: CSV for
spreadsheets, JSON Lines for programs), streamed a page of the engine at a
time, each taking a search slot as a page does. Bad parameters answer 400
with the Italian message as text."""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from archivio.search import DateError, QueryError, SearchRequest, SearchResult, export_lines, export_search

from .accesslog import count_results
from .engine import archive, engine_slot, search_request
from .params import BadParameter, Params, read_params

exports = Blueprint("exports", __name__)

MIMETYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def export_url(params: Params, fmt: str) -> str:
    """The file of every result of the search `params` describes."""
    return params.link(url_for("exports.export_results", fmt=fmt), leave_out=("pagina",))


class _Slotted:
    """The archive's search, each call in a search slot (web.engine)."""

    def search(self, request: SearchRequest) -> SearchResult:
        with engine_slot():
            return archive().search(request)


@exports.get("/export.<fmt>")
def export_results(fmt: str) -> ResponseReturnValue:
    if fmt not in MIMETYPES:
        return Response(
            "Formato sconosciuto: usa export.csv o export.jsonl.\n", status=404, mimetype="text/plain"
        )
    try:
        params = read_params(request.args)
        export = export_search(_Slotted(), search_request(params, facets=False))  # type: ignore[arg-type]
        count_results(export.total)
    except (QueryError, DateError, BadParameter) as e:
        return Response(str(e) + "\n", status=400, mimetype="text/plain")
    body = stream_with_context(line.encode() for line in export_lines(fmt, export.hits))
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="archivio-ricerca.{fmt}"'
    response.headers["X-Archivio-Total"] = str(export.total)
    response.headers["X-Archivio-Exported"] = str(export.listed)
    return response
