"""An Atom feed of any search (/feed.atom?q=...&autore=...): the articles
holding every word, with the page's filters, newest first, so that a
journalist's feed reader shows each new article on their story.

The parameters are the page's (web.params); the sort and the page are the
feed's own. Bad parameters answer 400 with the Italian message as text.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, request, url_for
from flask.typing import ResponseReturnValue

from archivio.search import DateError, QueryError, SearchResult, author_name

from .accesslog import count_results
from .engine import engine_search, engine_slot
from .errors import bad_request_page
from .pages import site_url
from .params import BadParameter, Params, read_params

feeds = Blueprint("feeds", __name__)

ATOM = "http://www.w3.org/2005/Atom"
# Entries in a feed: a reader polls it; more than a day's news on a story is rare.
FEED_SIZE = 50


def feed_url(params: Params) -> str:
    """The feed of the search `params` describes (its words and filters)."""
    return params.link(url_for("feeds.search_feed"), leave_out=("ordina", "pagina"))


@feeds.get("/feed.atom")
def search_feed() -> ResponseReturnValue:
    base = site_url()
    if base is None:
        return bad_request_page("Nome del sito non valido nella richiesta.")
    try:
        params = read_params(request.args)
        params = replace(params, ordina="recenti", pagina=1)
        # A feed reader polling is not a reader searching: not logged nor counted
        # as a search (web.engine.run_search would), only timed and answered.
        with engine_slot():
            result = engine_search(params, FEED_SIZE)
        count_results(result.total)
    except (QueryError, DateError, BadParameter) as e:
        return Response(str(e) + "\n", status=400, mimetype="text/plain")
    body = ET.tostring(_feed(base, params, result), encoding="unicode", xml_declaration=True)
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _feed(base: str, params: Params, result: SearchResult) -> ET.Element:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "it"})
    hits = [h for h in result.hits if h.all_words]
    _text(feed, "title", _title(params))
    _text(feed, "subtitle", "Gli articoli più recenti con tutte le parole cercate, con i filtri scelti.")
    _text(feed, "id", base + feed_url(params))  # the search is the feed's identity
    newest = max((h.article.date for h in hits if h.article.date), default=None)
    _text(feed, "updated", _stamp(newest))
    own = base + feed_url(params)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=own)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=base + params.url())
    _text(feed, "generator", "Archivio")
    for hit in hits:
        a = hit.article
        page = base + url_for("pages.article_page", article_id=a.id)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", a.title)
        _text(entry, "id", page)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=page)
        _text(entry, "updated", _stamp(a.date or newest))
        if a.date:
            _text(entry, "published", _stamp(a.date))
        if a.author:
            _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", author_name(a.author))
        if a.category:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=a.category)
        # Plain text: feed readers strip the page's <mark> (feedparser does).
        _text(entry, "summary", hit.snippet_text)
    return feed


def _title(params: Params) -> str:
    words = f"«{params.q}»" if params.q else "ultimi articoli"
    filters = [f"autore {params.autore}"] if params.autore else []
    filters += [f"categoria {c}" for c in params.categorie]
    filters += [f"dal {params.da}"] if params.da else []
    filters += [f"al {params.a}"] if params.a else []
    return f"Archivio: {words}" + (f" ({', '.join(filters)})" if filters else "")


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = text
    return element


def _stamp(day: date | None) -> str:
    """An RFC 3339 time: articles have a day, not a time (midnight UTC)."""
    if day is None:  # an empty feed, or an article without a date: now
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{day.isoformat()}T00:00:00Z"
