"""What the search page shows of one SearchResult: facet links and
histograms, the chips of the active filters, the page links.

Everything here is built from the parameters and the one result of the
page's search: the engine counts each facet with the other filters only
(disjunctive facets), so a chosen value still lists its alternatives
without another search."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from archivio.search import DateError, SearchResult, author_name, normalize_key, parse_query_date

from .params import Params
from .presentation import date_label, number_filter


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


def results_page(params: Params, result: SearchResult) -> SearchPage:
    """The search page of one result: chips, facets and page links (the
    hits are listed in the engine's order, each partial match marked)."""
    page = SearchPage(params, result)
    page.chips = filter_chips(params, result)
    fill_facets(page, result)
    fill_pagination(page, result)
    return page


def filter_chips(params: Params, result: SearchResult | None) -> list[Chip]:
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
            chips.append(Chip(f"{label} {date_label(value)}", params.url(**{name: ""})))
    return chips


def fill_facets(page: SearchPage, result: SearchResult) -> None:
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


def fill_pagination(page: SearchPage, result: SearchResult) -> None:
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
