"""Routes: the search page, article pages, the JSON API, OpenSearch, health.

Every parameter lives in the URL (q, autore, categoria, da, a, ordina,
pagina), so any page of results can be bookmarked and shared. Bad
parameters give an Italian message (status 400), a missing index a
maintenance page (503); nothing a reader types can produce a 500.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from search import Archive, Article, DateError, IndexMissing, QueryError, SearchResult
from search.analysis import normalize_key
from search.article import author_name
from search.dates import format_italian, parse_query_date
from search.results import FACET_SIZE, MAX_FACET_LIMIT
from search.snippets import highlight_all, to_html
from search.suggest import Suggestion

from .limits import MAX_VALUE_CHARS, RequestRefused

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)

# URL value -> engine sort and recency boost (search.recency), and the labels the page shows.
SORTS = {
    "rilevanza": ("relevance", False),
    "rilevanza-novita": ("relevance", True),
    "recenti": ("newest", False),
    "meno-recenti": ("oldest", False),
}
SORT_LABELS = {
    "rilevanza": "Rilevanza",
    "rilevanza-novita": "Rilevanza, prima i recenti",
    "recenti": "Più recenti",
    "meno-recenti": "Meno recenti",
}
DEFAULT_SORT = "rilevanza"
MAX_CATEGORIES = 20
MAX_PARAM_CHARS = MAX_VALUE_CHARS
MAX_ID_CHARS = 200
SUGGESTIONS = 8
RELATED = 5
STATS_TTL = 60.0


class BadParameter(ValueError):
    """A URL parameter the page cannot use; the message is for the reader."""


class PageBeyondEnd(BadParameter):
    """A page number past the last page of results."""

    def __init__(self, message: str, last_page: int) -> None:
        super().__init__(message)
        self.last_page = last_page


class Busy(RuntimeError):
    """No search slot freed up in time: the server is overloaded."""


def archive() -> Archive:
    return current_app.extensions["archivio"]


@contextmanager
def engine_slot() -> Iterator[None]:
    """Index work runs a few requests at a time (ARCHIVIO_SEARCH_CONCURRENCY).

    Searching is CPU-bound Python: threads only interleave under the GIL,
    so running them one by one costs no throughput, keeps each search's
    own time short (the engine's time budget measures wall-clock time) and
    turns overload into a quick 503 instead of ever longer waits.
    """
    slots = current_app.extensions["archivio_slots"]
    if not slots.acquire(timeout=float(current_app.config["ARCHIVIO_SEARCH_WAIT"])):
        raise Busy("Il servizio è molto occupato in questo momento: riprova tra qualche secondo.")
    try:
        yield
    finally:
        slots.release()


# -- parameters ------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """The search state, exactly as it appears in the URL."""

    q: str = ""
    autore: str = ""
    categorie: tuple[str, ...] = ()
    da: str = ""
    a: str = ""
    ordina: str = DEFAULT_SORT
    pagina: int = 1

    @property
    def has_filters(self) -> bool:
        return bool(self.autore or self.categorie or self.da or self.a)

    def query_pairs(self) -> list[tuple[str, str]]:
        """URL parameters, leaving out empty values and defaults."""
        pairs = [("q", self.q)] if self.q else []
        if self.autore:
            pairs.append(("autore", self.autore))
        pairs += [("categoria", c) for c in self.categorie]
        if self.da:
            pairs.append(("da", self.da))
        if self.a:
            pairs.append(("a", self.a))
        if self.ordina != DEFAULT_SORT:
            pairs.append(("ordina", self.ordina))
        if self.pagina != 1:
            pairs.append(("pagina", str(self.pagina)))
        return pairs

    def url(self, **changes: object) -> str:
        """This search with some parameters changed; any change but `pagina` resets to page 1."""
        if "pagina" not in changes:
            changes["pagina"] = 1
        target = replace(self, **changes)
        pairs = target.query_pairs()
        return "/" + ("?" + urlencode(pairs) if pairs else "")

    def without_filters(self) -> Params:
        return Params(q=self.q, ordina=self.ordina)


def _text(args: MultiDict, name: str) -> str:
    # The query keeps its inner spacing, so the JSON echoes it as the CLI does.
    raw = args.get(name, "")
    value = raw.strip() if name == "q" else " ".join(raw.split())
    if len(value) > MAX_PARAM_CHARS:
        raise BadParameter(f"Il parametro «{name}» è troppo lungo.")
    return value


def read_params(args: MultiDict) -> Params:
    """Reads the URL parameters; raises BadParameter with an Italian message."""
    # One set of keys: linear in the values (web.limits caps them at MAX_PARAMS).
    categories: list[str] = []
    seen: set[str] = set()
    for raw in args.getlist("categoria"):
        value = " ".join(raw.split())
        if len(value) > MAX_PARAM_CHARS:
            raise BadParameter("Il parametro «categoria» è troppo lungo.")
        key = normalize_key(value)
        if value and key not in seen:
            seen.add(key)
            categories.append(value)
    if len(categories) > MAX_CATEGORIES:
        raise BadParameter(f"Troppe categorie selezionate: al massimo {MAX_CATEGORIES}.")
    sort = args.get("ordina", "").strip() or DEFAULT_SORT
    if sort not in SORTS:
        # The engine's own names are accepted too (handy for API clients).
        italian = {engine: k for k, (engine, boost) in SORTS.items() if not boost}.get(sort)
        if italian is None:
            raise BadParameter(
                f"Ordinamento sconosciuto: «{sort[:40]}». "
                "Usa rilevanza, rilevanza-novita, recenti o meno-recenti."
            )
        sort = italian
    raw_page = args.get("pagina", "").strip() or "1"
    # isascii(): str.isdigit() also accepts digits int() refuses, such as "¹".
    if not (raw_page.isascii() and raw_page.isdigit()) or len(raw_page) > 6 or int(raw_page) < 1:
        raise BadParameter(f"Numero di pagina non valido: «{raw_page[:20]}». Le pagine partono da 1.")
    return Params(
        q=_text(args, "q"),
        autore=_text(args, "autore"),
        categorie=tuple(categories),
        da=_text(args, "da"),
        a=_text(args, "a"),
        ordina=sort,
        pagina=int(raw_page),
    )


def run_search(params: Params, per_page: int) -> SearchResult:
    """The engine's search for these parameters; a page past the end is an error."""
    with engine_slot():
        result = _engine_search(params, per_page)
    if params.pagina > result.pages:
        raise PageBeyondEnd(
            f"La pagina {params.pagina} non esiste: "
            + (
                "la ricerca non ha trovato articoli."
                if not result.total
                else f"i risultati occupano {_pages_text(result.pages)}."
            ),
            result.pages,
        )
    return result


def _engine_search(params: Params, per_page: int, facet_limit: int | None = FACET_SIZE) -> SearchResult:
    return archive().search(
        params.q,
        author=params.autore or None,
        category=list(params.categorie),
        since=params.da or None,
        until=params.a or None,
        sort=SORTS[params.ordina][0],
        page=params.pagina,
        per_page=per_page,
        recency=SORTS[params.ordina][1],
        facet_limit=facet_limit,
    )


def _pages_text(pages: int) -> str:
    return "una sola pagina" if pages == 1 else f"{pages} pagine"


# -- the search page -----------------------------------------------------------------------


@dataclass
class FacetItem:
    value: str
    count: int
    active: bool
    url: str
    bar: int = 0  # histogram bar width, in steps of 5%


@dataclass
class Chip:
    label: str
    url: str


@dataclass
class PageLink:
    number: int | None  # None: an ellipsis
    url: str = ""
    current: bool = False


@dataclass
class SearchPage:
    params: Params
    result: SearchResult | None = None
    error: str | None = None
    error_link: tuple[str, str] | None = None  # (url, label)
    categories: list[FacetItem] = field(default_factory=list)
    authors: list[FacetItem] = field(default_factory=list)
    years: list[FacetItem] = field(default_factory=list)
    months: list[FacetItem] = field(default_factory=list)
    # Facets with more values than listed: name -> how many in all ("mostra tutte").
    more: dict[str, int] = field(default_factory=dict)
    chips: list[Chip] = field(default_factory=list)
    pages: list[PageLink] = field(default_factory=list)
    prev_url: str | None = None
    next_url: str | None = None
    unfiltered_total: int | None = None
    # Hits of this page with every word, then those with only some.
    exact_hits: list = field(default_factory=list)
    partial_hits: list = field(default_factory=list)


@bp.get("/")
def search() -> ResponseReturnValue:
    per_page = int(current_app.config["ARCHIVIO_PER_PAGE"])
    try:
        params = read_params(request.args)
    except BadParameter as e:
        params = _lenient_params(request.args)
        return _render_search(SearchPage(params, error=str(e)), 400)
    page = SearchPage(params)
    try:
        result = run_search(params, per_page)
    except (QueryError, DateError, BadParameter) as e:
        page.chips = _chips(params, None)
        page.error = str(e)
        if isinstance(e, PageBeyondEnd) and e.last_page:
            page.error_link = (params.url(pagina=e.last_page), "Vai all'ultima pagina dei risultati")
        return _render_search(page, 400)
    page.result = result
    page.chips = _chips(params, result)
    # The engine lists articles with every word first; partial matches follow.
    page.exact_hits = [h for h in result.hits if h.all_words]
    page.partial_hits = [h for h in result.hits if not h.all_words]
    _fill_facets(page, result)
    _fill_pagination(page, result)
    if not result.total and params.has_filters:
        # The empty state says how many articles the query finds without filters.
        try:
            with engine_slot():
                page.unfiltered_total = archive().search(params.q, per_page=1, facets=False).total
        except (QueryError, DateError):
            page.unfiltered_total = None
    stats = _cached_stats() if not params.q and not params.has_filters else None
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


def _lenient_params(args: MultiDict) -> Params:
    """What can be kept of bad parameters, to refill the form next to the error."""
    return Params(
        q=" ".join(args.get("q", "").split())[:MAX_PARAM_CHARS],
        autore=" ".join(args.get("autore", "").split())[:MAX_PARAM_CHARS],
        categorie=tuple(c[:MAX_PARAM_CHARS] for c in args.getlist("categoria")[:MAX_CATEGORIES] if c.strip()),
        da=args.get("da", "")[:40],
        a=args.get("a", "")[:40],
    )


def _chips(params: Params, result: SearchResult | None) -> list[Chip]:
    """The active filters, each with the count it stands for when known
    (an author filter may be part of a name: "Ziniti")."""
    chips: list[Chip] = []
    if params.autore:
        count = f" ({number_filter(result.total)})" if result is not None else ""
        chips.append(Chip(f"Autore: {params.autore}{count}", params.url(autore="")))
    listed = result.facets.get("category", []) if result is not None else []
    categories = {normalize_key(f["value"]): f["count"] for f in listed}
    for c in params.categorie:
        rest = tuple(x for x in params.categorie if x != c)
        n = categories.get(normalize_key(c))
        count = f" ({number_filter(n)})" if n is not None else ""
        chips.append(Chip(f"Categoria: {c}{count}", params.url(categorie=rest)))
    for name, label in (("da", "Dal"), ("a", "Al")):
        value = getattr(params, name)
        if value:
            chips.append(Chip(f"{label} {_date_label(value)}", params.url(**{name: ""})))
    return chips


def _date_label(value: str) -> str:
    """A filter date as readers write it: gg/mm/aaaa."""
    try:
        parsed = parse_query_date(value, "")
    except DateError:
        return value
    return parsed.strftime("%d/%m/%Y") if parsed else value


def _fill_facets(page: SearchPage, result: SearchResult) -> None:
    """Facet links. The engine counts each facet with the other filters only
    (disjunctive), so a chosen category still lists the others to add."""
    params = page.params
    facets = result.facets
    chosen = {normalize_key(c) for c in params.categorie}
    for f in facets.get("category", []):
        key = normalize_key(f["value"])
        active = key in chosen
        rest = tuple(c for c in params.categorie if normalize_key(c) != key)
        target = rest if active else (*params.categorie, f["value"])
        page.categories.append(FacetItem(f["value"], f["count"], active, params.url(categorie=target)))

    author_key = normalize_key(author_name(params.autore))
    for f in facets.get("author", []):
        active = normalize_key(f["value"]) == author_key
        page.authors.append(
            FacetItem(f["value"], f["count"], active, params.url(autore="" if active else f["value"]))
        )
    if params.autore and not any(a.active for a in page.authors):
        # A part of a name ("Ziniti"): shown with the articles it finds.
        page.authors.insert(0, FacetItem(params.autore, result.total, True, params.url(autore="")))
    page.more = {
        name: result.facet_sizes.get(name, 0)
        for name in ("category", "author")
        if result.facet_sizes.get(name, 0) > len(facets.get(name, []))
    }

    page.years = _histogram(params, facets.get("year", []), _year_bounds, str)
    page.months = _histogram(params, facets.get("month", []), _month_bounds, _month_label)


def _histogram(params: Params, values: list[dict], bounds, label) -> list[FacetItem]:
    """Bars for years or months; a click chooses that period, a second click
    on the chosen one goes back up (a month to its year, a year to all)."""
    top = max((v["count"] for v in values), default=0)
    items = []
    for v in values:
        since, until = bounds(v["value"])
        active = _same_day(params.da, since) and _same_day(params.a, until)
        if active and bounds is _month_bounds:
            url = params.url(da=_year_bounds(since[:4])[0], a=_year_bounds(since[:4])[1])
        elif active:
            url = params.url(da="", a="")
        else:
            url = params.url(da=since, a=until)
        bar = max(1, math.ceil(20 * v["count"] / top)) * 5 if top else 0
        items.append(FacetItem(label(v["value"]), v["count"], active, url, bar))
    return items


def _year_bounds(year: int | str) -> tuple[str, str]:
    return f"{year}-01-01", f"{year}-12-31"


def _month_bounds(month: str) -> tuple[str, str]:
    year, m = int(month[:4]), int(month[5:7])
    last = (date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1)).day
    return f"{month}-01", f"{month}-{last:02d}"


MONTHS = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")


def _month_label(month: str) -> str:
    return f"{MONTHS[int(month[5:7]) - 1]} {month[:4]}"


def _same_day(value: str, iso: str) -> bool:
    try:
        parsed = parse_query_date(value, "") if value else None
    except DateError:
        return False
    return parsed is not None and parsed.isoformat() == iso


def date_presets(params: Params, today: date | None = None) -> list[FacetItem]:
    """Ultima settimana, ultimo mese, ultimo anno: periods ending today."""
    today = today or date.today()
    items = []
    for label, days in (("Ultima settimana", 7), ("Ultimo mese", 30), ("Ultimo anno", 365)):
        since, until = (today - timedelta(days=days)).isoformat(), today.isoformat()
        active = _same_day(params.da, since) and _same_day(params.a, until)
        url = params.url(da="", a="") if active else params.url(da=since, a=until)
        items.append(FacetItem(label, 0, active, url))
    return items


FACET_PAGES = {"categoria": ("category", "Categorie"), "autore": ("author", "Autori")}


@bp.get("/faccetta/<nome>")
def facet_page(nome: str) -> ResponseReturnValue:
    """Every value of a facet for this search ("mostra tutte"), with a filter box."""
    if nome not in FACET_PAGES:
        return _not_found("Questa faccetta non esiste: usa categoria o autore.")
    name, label = FACET_PAGES[nome]
    try:
        params = read_params(request.args)
        filtro = _text(request.args, "filtro")
        with engine_slot():
            result = _engine_search(replace(params, pagina=1), 1, facet_limit=MAX_FACET_LIMIT)
    except (QueryError, DateError, BadParameter) as e:
        return render_template("error.html", code=400, title="Richiesta non valida", message=str(e)), 400
    page = SearchPage(params)
    _fill_facets(page, result)
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


def _fill_pagination(page: SearchPage, result: SearchResult) -> None:
    params, pages, current = page.params, result.pages, result.page
    if pages <= 1:
        return
    if current > 1:
        page.prev_url = params.url(pagina=current - 1)
    if current < pages:
        page.next_url = params.url(pagina=current + 1)
    shown = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    previous = 0
    for n in shown:
        if n - previous > 1:
            page.pages.append(PageLink(None))
        page.pages.append(PageLink(n, params.url(pagina=n), n == current))
        previous = n


def _cached_stats() -> dict | None:
    """Archive statistics for the home page, refreshed every minute."""
    now = time.monotonic()
    cached = current_app.extensions.get("archivio_stats")
    if cached and now - cached[0] < STATS_TTL:
        return cached[1]
    try:
        stats = archive().stats()
    except Exception:  # the home page must render even with a broken store
        log.exception("stats unavailable")
        return None
    if stats.get("indexed") is None:
        raise IndexMissing("Indice non disponibile.")
    current_app.extensions["archivio_stats"] = (now, stats)
    return stats


# -- template filters ---------------------------------------------------------------------


@bp.app_template_filter("numero")
def number_filter(n: int) -> str:
    """Thousands with a dot, as Italian writes them: 19.902."""
    return f"{n:,}".replace(",", ".")


@bp.app_template_filter("durata")
def duration_filter(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 1:
        return "meno di 1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.2f} s".replace(".", ",")


@bp.app_template_filter("data_it")
def date_filter(value: date | str | None) -> str:
    """19 novembre 2025 (from a date or an ISO string)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_italian(value)


@bp.app_template_filter("data_gg_mm_aaaa")
def typed_date_filter(value: str) -> str:
    """A filter date as readers type it (gg/mm/aaaa); what cannot be read stays as typed."""
    return _date_label(value) if value else ""


@bp.app_template_filter("snippet")
def snippet_filter(segments: list[tuple[str, bool]]) -> Markup:
    """Escaped text with <mark> around the matches."""
    return Markup(to_html(segments))


# -- article pages -----------------------------------------------------------------------------


def find_article(article_id: str) -> Article | None:
    """Looks the id up in the store only (it is never used as a path)."""
    if not article_id or len(article_id) > MAX_ID_CHARS:
        return None
    return archive().get(article_id)


def safe_link(url: str | None) -> str | None:
    """Only absolute http(s) URLs become links: never javascript: or data:."""
    if not url or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def shown_url(url: str | None) -> str | None:
    """A source address to print as text: a bare one (www.dire.it), never another scheme."""
    if not url or safe_link(url):
        return None
    url = url.strip()
    return url if not urlsplit(url).scheme and not url.startswith(("/", "\\")) else None


def paragraphs(text: str) -> list[str]:
    """Body paragraphs: separated by blank lines; single line breaks are spaces."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


@bp.get("/articolo/<article_id>")
def article(article_id: str) -> ResponseReturnValue:
    found = find_article(article_id)
    if found is None:
        return _not_found(f"Nessun articolo con identificativo «{article_id[:80]}».")
    q = " ".join(request.args.get("q", "").split())[:MAX_PARAM_CHARS]
    highlight = None
    related: list[Article] = []
    try:
        with engine_slot():
            if q:
                highlight = archive().highlight_terms(q)
            related = archive().related(found.id, RELATED)
    except (IndexMissing, Busy):
        pass  # the article comes from the store; only extras need the index

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
        search_q=q,
        back_url=Params(q=q).url() if q else None,
    )


# -- JSON API -------------------------------------------------------------------------------


def _json_error(message: str, status: int) -> ResponseReturnValue:
    return jsonify({"error": message}), status


@bp.get("/api/search")
def api_search() -> ResponseReturnValue:
    """Exactly `cli.py query --json` for the same parameters."""
    try:
        params = read_params(request.args)
        raw = request.args.get("per_pagina", "").strip() or "10"
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
            raise BadParameter(f"Risultati per pagina non validi: «{raw[:20]}».")
        result = run_search(params, int(raw))
    except (QueryError, DateError, BadParameter) as e:
        return _json_error(str(e), 400)
    return jsonify(result.to_dict())


@bp.get("/api/article/<article_id>")
def api_article(article_id: str) -> ResponseReturnValue:
    found = find_article(article_id)
    if found is None:
        return _json_error("Articolo non trovato.", 404)
    return jsonify(found.to_dict())


@bp.get("/api/suggest")
def api_suggest() -> ResponseReturnValue:
    """OpenSearch suggestions: [query, [completions], [descriptions], [urls]].

    A word or name completes the query (its description and url are empty:
    it is searched); an article's title has its date as description and
    its page as url, which the page's script opens when it is chosen."""
    q = request.args.get("q", "")[:200]
    found: list[Suggestion] = []
    if q.strip():
        with engine_slot():
            found = archive().suggestions(q, SUGGESTIONS)
    texts, descriptions, urls = [], [], []
    for s in found:
        texts.append(s.text)
        is_title = s.kind == "title" and s.article_id is not None
        descriptions.append((format_italian(s.date) or "Articolo") if is_title else "")
        urls.append(url_for("web.article", article_id=s.article_id) if is_title else "")
    response = jsonify([q, texts, descriptions, urls])
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


# -- OpenSearch, health -----------------------------------------------------------------------


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


@bp.get("/opensearch.xml")
def opensearch() -> ResponseReturnValue:
    base = site_url()
    if base is None:
        return render_template(
            "error.html",
            code=400,
            title="Richiesta non valida",
            message="Nome del sito non valido nella richiesta.",
        ), 400
    body = render_template("opensearch.xml", base=base)
    response = Response(body, mimetype="application/opensearchdescription+xml")
    if current_app.config.get("ARCHIVIO_PUBLIC_URL"):
        response.headers["Cache-Control"] = "public, max-age=86400"
    else:
        # Made from the request's Host: a shared cache must not hand it to other hosts.
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["Vary"] = "Host"
    return response


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
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


# -- errors ---------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _not_found(message: str) -> ResponseReturnValue:
    if _wants_json():
        return _json_error(message, 404)
    return render_template("error.html", code=404, title="Pagina non trovata", message=message), 404


HTTP_ERRORS = {
    400: ("Richiesta non valida", "La richiesta non è valida."),
    405: ("Metodo non consentito", "Questa pagina si può solo leggere (GET)."),
    413: ("Richiesta troppo grande", "La richiesta è troppo grande."),
    414: ("Indirizzo troppo lungo", "L'indirizzo della pagina è troppo lungo."),
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(IndexMissing)
    def index_missing(e: IndexMissing) -> ResponseReturnValue:
        log.error("index missing: %s", e)
        message = "L'archivio è in manutenzione: l'indice di ricerca non è disponibile. Riprova tra poco."
        if _wants_json():
            response = jsonify({"error": message})
        else:
            response = make_response(
                render_template("error.html", code=503, title="Archivio in manutenzione", message=message)
            )
        response.status_code = 503
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(Busy)
    def busy(e: Busy) -> ResponseReturnValue:
        log.warning("overloaded: %s", request.path)
        if _wants_json():
            response = jsonify({"error": str(e)})
        else:
            response = make_response(
                render_template("error.html", code=503, title="Servizio occupato", message=str(e))
            )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(RequestRefused)
    def refused(e: RequestRefused) -> ResponseReturnValue:
        if _wants_json():
            return _json_error(str(e), e.status)
        title = HTTP_ERRORS.get(e.status, HTTP_ERRORS[400])[0]
        return render_template("error.html", code=e.status, title=title, message=str(e)), e.status

    @app.errorhandler(404)
    def not_found(e: HTTPException) -> ResponseReturnValue:
        return _not_found("La pagina richiesta non esiste.")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        code = e.code or 500
        title, message = HTTP_ERRORS.get(code, (e.name, e.description or ""))
        if _wants_json():
            response = make_response(_json_error(message, code))
        else:
            response = make_response(
                render_template("error.html", code=code, title=title, message=message), code
            )
        if isinstance(e, MethodNotAllowed) and e.valid_methods:
            # RFC 9110 15.5.6: a 405 lists the methods the resource takes.
            response.headers["Allow"] = ", ".join(sorted(e.valid_methods))
        return response

    @app.errorhandler(Exception)
    def internal_error(e: Exception) -> ResponseReturnValue:
        if isinstance(e, HTTPException):  # pragma: no cover - handled above
            return http_error(e)
        log.exception("unexpected error on %s", request.path)
        message = "Si è verificato un errore imprevisto. Riprova più tardi."
        if _wants_json():
            return _json_error(message, 500)
        return render_template("error.html", code=500, title="Errore interno", message=message), 500
