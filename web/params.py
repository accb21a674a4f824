"""The URL parameters of the page and the API, read and checked.

Every parameter lives in the URL (q, autore, categoria, da, a, ordina,
pagina, copie), so any page of results can be bookmarked and shared. Bad values
raise BadParameter with an Italian message for the reader (status 400).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from difflib import get_close_matches
from functools import lru_cache
from urllib.parse import quote_plus

from werkzeug.datastructures import MultiDict

from archivio.search import normalize_key

from .limits import MAX_VALUE_CHARS

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
# `copie=tutte`: every copy of a story in its own place (search.folding);
# absent: each story once, its other sources with it.
ALL_COPIES = "tutte"
MAX_CATEGORIES = 20
MAX_PARAM_CHARS = MAX_VALUE_CHARS


class BadParameter(ValueError):
    """A URL parameter the page cannot use; the message is for the reader."""


class PageBeyondEnd(BadParameter):
    """A page number past the last page of results."""

    def __init__(self, message: str, last_page: int) -> None:
        super().__init__(message)
        self.last_page = last_page


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
    copie: str = ""

    @property
    def folded(self) -> bool:
        """Each story listed once (the default), not every copy."""
        return self.copie != ALL_COPIES

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
        if self.copie:
            pairs.append(("copie", self.copie))
        return pairs

    def url(self, **changes: object) -> str:
        """This search with some parameters changed; any change but `pagina` resets to page 1."""
        if "pagina" not in changes:
            changes["pagina"] = 1
        return replace(self, **changes).link("/")

    def link(self, path: str, leave_out: tuple[str, ...] = ()) -> str:
        """`path` with this search's URL parameters, but those in `leave_out`
        (the feed and the exports have their own order or no pages)."""
        pairs = [(k, v) for k, v in self.query_pairs() if k not in leave_out]
        return path + ("?" + "&".join(f"{k}={_quoted(v)}" for k, v in pairs) if pairs else "")

    def without_filters(self) -> Params:
        return Params(q=self.q, ordina=self.ordina, copie=self.copie)


# urlencode's quoting of a value, remembered: a results page links ~50 times
# to its own search with one parameter changed (a quarter of its rendering).
# The keys are ASCII names that quote to themselves.
_quoted = lru_cache(maxsize=4096)(quote_plus)


def text_param(args: MultiDict, name: str) -> str:
    """A text parameter, its spaces collapsed; too long is a BadParameter."""
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
    copies = args.get("copie", "").strip()
    if copies not in ("", ALL_COPIES):
        raise BadParameter(
            f"Valore non valido per «copie»: «{copies[:20]}». Usa copie={ALL_COPIES} per vedere ogni copia "
            "della stessa notizia, oppure togli il parametro."
        )
    return Params(
        q=text_param(args, "q"),
        autore=text_param(args, "autore"),
        categorie=tuple(categories),
        da=text_param(args, "da"),
        a=text_param(args, "a"),
        ordina=sort,
        pagina=int(raw_page),
        copie=copies,
    )


def lenient_params(args: MultiDict) -> Params:
    """What can be kept of bad parameters, to refill the form next to the error."""
    return Params(
        q=" ".join(args.get("q", "").split())[:MAX_PARAM_CHARS],
        autore=" ".join(args.get("autore", "").split())[:MAX_PARAM_CHARS],
        categorie=tuple(c[:MAX_PARAM_CHARS] for c in args.getlist("categoria")[:MAX_CATEGORIES] if c.strip()),
        da=args.get("da", "")[:40],
        a=args.get("a", "")[:40],
        copie=ALL_COPIES if args.get("copie", "").strip() == ALL_COPIES else "",
    )


# The parameters of /api/search: the page's own (a page's query string works
# in the API), plus per_pagina. README, "JSON API".
API_SEARCH_PARAMETERS = ("q", "autore", "categoria", "da", "a", "ordina", "pagina", "per_pagina", "copie")
# The names API clients try first (the JSON's own keys, English): which one they mean.
MEANT = {
    "page": "pagina",
    "per_page": "per_pagina",
    "author": "autore",
    "category": "categoria",
    "since": "da",
    "from": "da",
    "until": "a",
    "to": "a",
    "sort": "ordina",
    "query": "q",
    "copies": "copie",
    "fold": "copie",
}


def check_known(args: MultiDict, known: tuple[str, ...]) -> None:
    """An unknown parameter is a BadParameter naming it, the one probably
    meant, and the known ones: never silently ignored."""
    for name in args:
        if name in known:
            continue
        shown = name[:40]
        meant = MEANT.get(name.lower()) or next(iter(get_close_matches(name.lower(), known, n=1)), None)
        hint = f" (forse «{meant}»?)" if meant in known else ""
        raise BadParameter(f"Parametro sconosciuto: «{shown}»{hint}. Parametri validi: {', '.join(known)}.")


def read_per_page(args: MultiDict) -> int:
    """The API's `per_pagina` (default 10; the engine checks its range)."""
    raw = args.get("per_pagina", "").strip() or "10"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
        raise BadParameter(f"Risultati per pagina non validi: «{raw[:20]}».")
    return int(raw)


def highlight_query(args: MultiDict) -> str:
    """An article page's `q` (the words to mark): spaces collapsed, cut to length, never refused."""
    return " ".join(args.get("q", "").split())[:MAX_PARAM_CHARS]
