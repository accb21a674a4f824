"""The HTML pages: search, article, every value of a facet, OpenSearch.

Bad parameters give an Italian message (status 400), a missing index a
maintenance page (503, web.errors); nothing a reader types can produce a
500. Each page makes one engine search (web.engine), and a second only
for the empty state's count without filters (engine.unfiltered_total).
"""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from archivio.search import (
    MAX_FACET_LIMIT,
    Article,
    DateError,
    IndexMissing,
    QueryError,
    highlight_all,
    normalize_key,
    to_html,
)

from .engine import (
    Busy,
    archive,
    engine_search,
    engine_slot,
    find_article,
    home_stats,
    run_search,
    unfiltered_total,
)
from .errors import bad_request_page, not_found_page
from .params import (
    SORT_LABELS,
    BadParameter,
    PageBeyondEnd,
    Params,
    highlight_query,
    lenient_params,
    read_params,
    text_param,
)
from .presentation import paragraphs, safe_link, shown_url
from .searchpage import SearchPage, date_presets, fill_facets, filter_chips, results_page

pages = Blueprint("pages", __name__)

RELATED = 5
FACET_PAGES = {"categoria": ("category", "Categorie"), "autore": ("author", "Autori")}


@pages.get("/")
def search_page() -> ResponseReturnValue:
    per_page = int(current_app.config["ARCHIVIO_PER_PAGE"])
    try:
        params = read_params(request.args)
    except BadParameter as e:
        return _render_search(SearchPage(lenient_params(request.args), error=str(e)), 400)
    try:
        result = run_search(params, per_page)
    except (QueryError, DateError, BadParameter) as e:
        page = SearchPage(params, chips=filter_chips(params, None), error=str(e))
        if isinstance(e, PageBeyondEnd) and e.last_page:
            page.error_link = (params.url(pagina=e.last_page), "Vai all'ultima pagina dei risultati")
        return _render_search(page, 400)
    page = results_page(params, result)
    if not result.total and params.has_filters:
        # The empty state says how many articles the query finds without filters.
        page.unfiltered_total = unfiltered_total(params.q)
    stats = home_stats() if not params.q and not params.has_filters else None
    return _render_search(page, 200, stats=stats)


def _render_search(page: SearchPage, status: int, stats: dict | None = None) -> ResponseReturnValue:
    html = render_template(
        "search.html",
        page=page,
        p=page.params,
        stats=stats,
        sort_labels=SORT_LABELS,
        search_q=page.params.q,
        show_aside=page.result is not None or bool(page.params.q or page.error),
        presets=date_presets(page.params),
    )
    return html, status


@pages.get("/faccetta/<nome>")
def facet_page(nome: str) -> ResponseReturnValue:
    """Every value of a facet for this search ("mostra tutte"), with a filter box."""
    if nome not in FACET_PAGES:
        return not_found_page("Questa faccetta non esiste: usa categoria o autore.")
    name, label = FACET_PAGES[nome]
    try:
        params = read_params(request.args)
        filtro = text_param(request.args, "filtro")
        with engine_slot():
            result = engine_search(replace(params, pagina=1), 1, facet_limit=MAX_FACET_LIMIT)
    except (QueryError, DateError, BadParameter) as e:
        return bad_request_page(str(e))
    page = SearchPage(params)
    fill_facets(page, result)
    items = page.categories if name == "category" else page.authors
    total = len(items)
    wanted = normalize_key(filtro)
    if wanted:
        items = [f for f in items if wanted in normalize_key(f.value)]
    return render_template(
        "facet.html",
        p=params,
        label=label,
        items=items,
        total=total,
        filtro=filtro,
        hidden=replace(params, pagina=1).query_pairs(),
        back_url=params.url(pagina=params.pagina),
        search_q=params.q,
    )


@pages.get("/articolo/<article_id>")
def article_page(article_id: str) -> ResponseReturnValue:
    found = find_article(article_id)
    if found is None:
        return not_found_page(f"Nessun articolo con identificativo «{article_id[:80]}».")
    q = highlight_query(request.args)
    highlight = None
    related: list[Article] = []
    copies: list[Article] = []
    try:
        with engine_slot():
            copies = archive().copies(found.id)
            if q:
                highlight = archive().highlight_terms(q)
            related = archive().related(found.id, RELATED)
    except (IndexMissing, Busy):
        pass  # the article comes from the store; only extras need the index
    # A copy is listed once, as the same story, not again as a related article.
    shown = {a.id for a in copies}
    related = [a for a in related if a.id not in shown]

    def marked(text: str | None) -> Markup | None:
        if text is None:
            return None
        if highlight is None:
            return Markup.escape(text)
        return Markup(to_html(highlight_all(text, highlight)))

    return render_template(
        "article.html",
        article=found,
        q=q,
        title=marked(found.title),
        subtitle=marked(found.subtitle),
        body=[marked(p) for p in paragraphs(found.body)],
        source_url=safe_link(found.url),
        plain_url=shown_url(found.url),
        related=related,
        copies=copies,
        search_q=q,
        back_url=Params(q=q).url() if q else None,
    )


# A Host header as browsers send it: a name or an IPv4/[IPv6] address, and a port.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def site_url() -> str | None:
    """The site's address for absolute links (OpenSearch needs them): the
    configured ARCHIVIO_PUBLIC_URL, else the request's Host header when it
    is a plain host[:port] (never markup nor a path); None otherwise."""
    configured = current_app.config.get("ARCHIVIO_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    # The header as sent: werkzeug's request.host rewrites odd ones ("a:80:80" -> "a:80").
    host = request.environ.get("HTTP_HOST") or request.host
    if not _HOST.fullmatch(host):
        return None
    return f"{request.scheme}://{host}"


@pages.get("/opensearch.xml")
def opensearch_description() -> ResponseReturnValue:
    base = site_url()
    if base is None:
        return bad_request_page("Nome del sito non valido nella richiesta.")
    body = render_template("opensearch.xml", base=base)
    response = Response(body, mimetype="application/opensearchdescription+xml")
    if current_app.config.get("ARCHIVIO_PUBLIC_URL"):
        response.headers["Cache-Control"] = "public, max-age=86400"
    else:
        # Made from the request's Host: a shared cache must not hand it to other hosts.
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["Vary"] = "Host"
    return response
