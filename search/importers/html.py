"""Article pages saved from news sites, and HTML fragments made plain text.

A page gives one article. The body comes from trafilatura, which keeps the
article text and drops menus, sidebars and comments; the metadata comes
first from what the CMS declares (`article:*` and `og:` meta tags, JSON-LD
`NewsArticle`, `<link rel="canonical">`), then from trafilatura's guesses.
What slips through (share buttons, "Leggi anche" boxes, cookie banners,
"Riproduzione riservata") is removed paragraph by paragraph.

`html_to_text` turns the HTML of a feed item or a WordPress post into plain
text paragraphs separated by a blank line; feed.py and wxr.py use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import lxml.html
from lxml import etree

from ..article import Article
from ..dates import DateError, parse_date
from ..textclean import strip_controls
from .base import RecordError, article_from_record, repair_mojibake, scoped_id, url_identity

# -- HTML fragments to paragraphs ---------------------------------------------------

# Elements that start and end a paragraph (HTML, and trafilatura's XML output).
_BLOCK = frozenset(
    ("p", "div", "section", "article", "header", "footer", "main", "aside", "h1", "h2", "h3", "h4", "h5")
    + ("h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "thead", "tbody")
    + ("tfoot", "caption", "figure", "hr", "address", "center", "details", "summary", "fieldset", "br")
    + ("head", "item", "list", "quote", "row", "lb", "code")  # trafilatura's own elements
)
# Elements whose content is never article text.
_DROP = frozenset(
    ("script", "style", "noscript", "iframe", "template", "svg", "img", "picture", "video", "audio")
    + ("object", "embed", "canvas", "button", "form", "input", "select", "textarea", "option", "nav")
    + ("figcaption", "graphic")
)
_INLINE_SPACE = frozenset({"td", "th", "cell"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not \s: a non-breaking space may be half of "Ã\xa0"
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)

# WordPress shortcodes: dropped with their content (captions, embeds) or unwrapped.
# Attributes stop at the next bracket ([^\[\]]): an unclosed "[caption" scans
# to the next "[", never to the end of the post, so each bracket is read a
# bounded number of times (a 400 KB post of unclosed captions took 58 s with
# ".*?" searching for each one's end).
_BLOCK_NAMES = "caption|wp_caption|embed|gallery|video|audio|playlist"
_SHORTCODE_BLOCK_TAG = re.compile(rf"\[(/?)({_BLOCK_NAMES})\b[^\[\]]*\]", re.I)
_SHORTCODE_TAG = re.compile(
    rf"\[/?(?:{_BLOCK_NAMES}|contact-form-7|[a-z]+_[\w-]*)(?:\s[^\[\]]*)?/?\]",
    re.I,
)


def strip_shortcodes(text: str) -> str:
    """Drops block shortcodes with what they wrap (up to the first closing tag
    of the same name, as WordPress pairs them), then unwraps the others; in
    one pass over the tags, linear in the text's length."""
    tags = list(_SHORTCODE_BLOCK_TAG.finditer(text))
    closers: dict[str, list[int]] = {}
    for i, m in enumerate(tags):
        if m.group(1):
            closers.setdefault(m.group(2).lower(), []).append(i)
    next_closer = dict.fromkeys(closers, 0)
    pieces = []
    kept_from = 0
    skip_to = -1  # index of the last tag inside a dropped block
    for i, m in enumerate(tags):
        if i <= skip_to or m.group(1):
            continue
        name = m.group(2).lower()
        found = closers.get(name, [])
        k = next_closer.get(name, 0)
        while k < len(found) and found[k] < i:
            k += 1
        next_closer[name] = k
        if k == len(found):
            continue  # never closed: left to _SHORTCODE_TAG, which drops the tag alone
        closer = tags[found[k]]
        pieces.append(text[kept_from : m.start()])
        kept_from = closer.end()
        skip_to = found[k]
    pieces.append(text[kept_from:])
    return _SHORTCODE_TAG.sub("", "".join(pieces))


_BOILERPLATE = re.compile(
    r"""^(?:
        (?:leggi|guarda|vedi|ascolta)\s+anche\b
      | (?:ti\s+)?potrebbe(?:ro)?\s+(?:anche\s+)?interessarti\b
      | articoli\s+correlati\b | correlati\s*:?$ | approfondisci\s*:?$
      | (?:©|\(c\)|copyright)?\s*(?:\d{4}\s*)?riproduzione\s+riservata\b
      | (?:©|\(c\)|copyright)?\s*(?:\d{4}\s*)?tutti\s+i\s+diritti\s+riservati
      | condividi(?:\s+(?:su|via|questo|l'articolo)\b|\s*:?$)
      | segui(?:ci)?\s+(?:anche\s+)?su\s+
        (?:facebook|instagram|twitter|x|telegram|whatsapp|google\s+news|threads)
      | iscriviti\s+(?:alla\s+(?:nostra\s+)?newsletter|al\s+(?:nostro\s+)?canale)
      | (?:questo\s+sito|il\s+sito|noi\s+e\s+terze\s+parti|utilizziamo|usiamo)\b.{0,120}\bcookie
      | (?:l'articolo|l’articolo|the\s+post)\s.+\s(?:proviene\s+da|appeared\s+first\s+on)\s
      | clicca\s+qui\s+per\s+(?:leggere|iscriverti|ricevere|scaricare)
      | (?:accetta|rifiuta)\s+(?:tutti|i\s+cookie)\b
    )""",
    re.I | re.X,
)
# "Leggi anche" on its own: the next short line is the linked title.
_RELATED_HEADING = re.compile(
    r"^(?:leggi|guarda|vedi)\s+anche\s*[:.]?$|^(?:ti\s+)?potrebbe\s+interessarti\s*:?$", re.I
)
_BOILERPLATE_MAX = 400
# A summary longer than this is a copy of the text, not a subtitle: left out.
MAX_SUBTITLE_CHARS = 600


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


class _Paragraphs:
    def __init__(self, newline_breaks: bool) -> None:
        self.newline_breaks = newline_breaks
        self.done: list[str] = []
        self.pieces: list[str] = []

    def text(self, value: str | None) -> None:
        if not value:
            return
        if self.newline_breaks and "\n" in value:
            first, *rest = value.replace("\r\n", "\n").split("\n")
            self.pieces.append(first)
            for line in rest:
                self.br()
                self.pieces.append(line)
        else:
            self.pieces.append(value)

    def br(self) -> None:
        if self.pieces:
            paragraph = _SPACES.sub(" ", "".join(self.pieces)).strip(" ")
            if paragraph.strip():
                self.done.append(paragraph)
            self.pieces.clear()


def _visit(el: Any, out: _Paragraphs) -> None:
    if not isinstance(el.tag, str):  # a comment or a processing instruction
        out.text(el.tail)
        return
    tag = _local(el.tag)
    if tag in _DROP:
        out.text(el.tail)
        return
    block = tag in _BLOCK
    if block:
        out.br()
    elif tag in _INLINE_SPACE:
        out.text(" ")
    out.text(el.text)
    for child in el:
        _visit(child, out)
    if block:
        out.br()
    out.text(el.tail)


def element_paragraphs(root: Any, newline_breaks: bool = False) -> list[str]:
    """The text paragraphs of an element tree (HTML or trafilatura's XML)."""
    out = _Paragraphs(newline_breaks)
    try:
        out.text(root.text)
        for child in root:
            _visit(child, out)
    except RecursionError:
        raise RecordError("HTML annidato troppo in profondità") from None
    out.br()
    return out.done


def html_to_text(
    fragment: str | None, wordpress: bool = False, what: str = "il testo", clean: bool = True
) -> str:
    """HTML (a feed item, a post) as plain text paragraphs separated by a blank line.

    With `wordpress`, newlines in the text are paragraph breaks, as WordPress
    renders the post content it stores without <p> tags; its shortcodes go.
    Boilerplate paragraphs ("Leggi anche", share and cookie lines) are dropped
    unless `clean` is false.
    """
    if not fragment or not fragment.strip():
        return ""
    # XML character references can name half a UTF-16 pair (&#xD800;): no
    # text, and lxml refuses it; with the other controls, it goes.
    fragment = repair_mojibake(strip_controls(fragment), what)
    if wordpress:
        fragment = strip_shortcodes(fragment)
    if "<" not in fragment and "&" not in fragment:
        # Plain text: blank lines separate paragraphs (any newline, for WordPress).
        lines = re.split(r"\n" if wordpress else r"\n[ \t\r\f\v]*\n", fragment.replace("\r\n", "\n"))
        paragraphs = [p for p in (_SPACES.sub(" ", line).strip(" ") for line in lines) if p.strip()]
    else:
        try:
            root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        except (etree.ParserError, ValueError):
            return ""
        paragraphs = element_paragraphs(root, newline_breaks=wordpress)
    if not clean:
        return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return "\n\n".join(clean_paragraphs(paragraphs))


def clean_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Drops boilerplate paragraphs and bare links; non-breaking spaces become spaces."""
    kept: list[str] = []
    skip_next = False
    for raw in paragraphs:
        p = " ".join(raw.split())  # \xa0 included, once mojibake is ruled out
        if not p:
            continue
        if skip_next:
            skip_next = False
            if len(p) < 200 and not p.endswith((".", "!", "?", "»", '"', "”")):
                continue
        if _RELATED_HEADING.match(p):
            skip_next = True
            continue
        if len(p) <= _BOILERPLATE_MAX and _BOILERPLATE.match(p):
            continue
        if _BARE_URL.match(p):
            continue
        kept.append(p)
    return kept


def plain_line(fragment: str | None, what: str = "il testo") -> str | None:
    """A short HTML string (a title, an excerpt) as one line of text."""
    if not fragment:
        return None
    text = " ".join(html_to_text(fragment, what=what, clean=False).split())
    return text or None


# -- article pages -----------------------------------------------------------------

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# Tags in a page handed to trafilatura: a real news page has a few thousand.
MAX_PAGE_TAGS = 20_000
# Tags in a page at all: ten times the largest real page.
MAX_PAGE_ELEMENTS = 200_000
_NEWS_TYPES = (
    "NewsArticle",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "ReviewNewsArticle",
    "LiveBlogPosting",
)
_ARTICLE_TYPES = ("Article", "BlogPosting", "Report", "TechArticle")
_DATE = r"\d{1,2}°?\s+[a-zà]+\.?\s+\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{2}-\d{2}"
_TIME = r"(?:\s*(?:,|-|alle|ore|alle\s+ore)?\s*\d{1,2}[:.]\d{2})?"
# "Pubblicato il 14/11/2016 da Giovanni Sala", "Aggiornato il 3 marzo 2024, 10:15"
_DATELINE = re.compile(
    rf"^(?:(pubblicat[oa]|aggiornat[oa])\s*(?:il|in\s+data|:)?\s*)?({_DATE}){_TIME}"
    r"(?:\s*(?:da|di|by|-|·)\s+(.{3,60}?))?\s*$",
    re.I,
)
# "di Mario Rossi", "a cura di ANNA VERDI": two to four capitalised words.
_BYLINE = re.compile(r"^(?:[Dd]i|DI|[Aa]\s+cura\s+di|[Bb]y)\s+((?:[A-ZÀ-Ý][\w'’.-]*\s*){2,4})$")
_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " · ")
# Elements pruned before extraction: consent banners, share bars, related boxes.
_PRUNE_WORDS = (
    "cookie",
    "consent",
    "onetrust",
    "iubenda",
    "cmplz",
    "gdpr",
    "share",
    "sharing",
    "social",
    "newsletter",
    "leggi-anche",
    "leggianche",
    "correlat",
    "related",
    "banner",
)
_PRUNE_XPATH = (
    "//*[not(self::html or self::body or self::article or self::main)]["
    + " or ".join(f"contains(@class,'{w}') or contains(@id,'{w}')" for w in _PRUNE_WORDS)
    + "]"
)


def looks_like_html(text_head: str) -> bool:
    head = text_head.lstrip("\ufeff \t\r\n")
    head = re.sub(r"^(?:<!--.*?-->\s*|<\?xml.*?\?>\s*)+", "", head, flags=re.S)
    return bool(re.match(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|meta\s|title[\s>])", head, re.I))


def parse_html_page(text: str) -> Article:
    """One article from a saved news page; raises RecordError saying why not."""
    text = repair_mojibake(_XML_DECLARATION.sub("", text, count=1), "la pagina")
    if not text.strip():
        raise RecordError("pagina vuota")
    tags = text.count("<")
    if tags > MAX_PAGE_ELEMENTS:
        # lxml holds ~300 bytes an element: 1.1 million tiny paragraphs (15 MB) took 460 MB and 28 s.
        raise RecordError(
            f"pagina con troppi elementi HTML ({tags:_} tag, al massimo {MAX_PAGE_ELEMENTS:_})"
            .replace("_", ".")
        )
    try:
        tree = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise RecordError(f"HTML non leggibile ({e})") from None
    meta = _page_metadata(tree)
    # trafilatura is superlinear in the elements (40,000 tiny paragraphs: 20 s):
    # past MAX_PAGE_TAGS the page's <article> (or <body>) is read as it is.
    extracted = _extract(text) if tags <= MAX_PAGE_TAGS else None
    title = meta.title or (extracted.title if extracted else _clean(tree.findtext(".//title")))
    site = meta.site or (extracted.sitename if extracted else None) or _site_from_title(tree, title)
    title = _strip_site(title, site)
    if not title:
        raise RecordError("manca il titolo (nessun <h1>, <title> o og:title)")
    paragraphs = (
        element_paragraphs(extracted.body) if extracted is not None and extracted.body is not None else []
    )
    if not paragraphs and meta.body:
        paragraphs = meta.body.split("\n")
    if not paragraphs and extracted is None:
        main = tree.find(".//article")
        main = main if main is not None else tree.find(".//body")
        paragraphs = element_paragraphs(main) if main is not None else []
    author = meta.author or (extracted.author if extracted else None)
    when = meta.date
    subtitle = meta.subtitle
    paragraphs, found = _strip_head_lines(paragraphs, title, subtitle, meta.category)
    author = author or found.get("author")
    when = _first_date(when, found.get("date"), extracted.date if extracted else None)
    category = meta.category or _first(extracted.categories if extracted else None)
    paragraphs = clean_paragraphs(paragraphs)
    body = "\n\n".join(paragraphs)
    if subtitle and (is_lead_of(subtitle, body) or len(subtitle) > MAX_SUBTITLE_CHARS):
        subtitle = None
    url = meta.url or (extracted.url if extracted else None)
    article = article_from_record(
        {
            "title": title,
            "subtitle": subtitle,
            "author": author,
            "date": when,
            "category": category,
            "body": body,
            "url": url,
            "source": site,
        }
    )
    article.id = scoped_id("html", url_identity(article.url) if article.url else article.id)
    return article


def _first_date(*candidates: str | None) -> str | None:
    """The first candidate that reads as a date: page metadata is often sloppy."""
    for value in candidates:
        if value:
            try:
                return parse_date(value).isoformat()
            except DateError:
                continue
    return None


def _extract(text: str) -> Any:
    import trafilatura  # imported on first use: it takes a while to load

    try:
        return trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            favor_precision=True,
            deduplicate=False,
            prune_xpath=_PRUNE_XPATH,
        )
    except Exception:  # trafilatura raises assorted errors on pathological pages
        return None


class _Meta:
    def __init__(self) -> None:
        self.title: str | None = None
        self.subtitle: str | None = None
        self.author: str | None = None
        self.date: str | None = None
        self.category: str | None = None
        self.url: str | None = None
        self.site: str | None = None
        self.body: str | None = None


def _page_metadata(tree: Any) -> _Meta:
    """What the page declares about itself: meta tags, JSON-LD, canonical link."""
    props: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = " ".join((el.get("content") or "").split())
        if key and value and key not in props:
            props[key] = value
    ld = _json_ld(tree)
    article = ld.get("article") or {}
    m = _Meta()
    h1 = tree.find(".//h1")
    titles = [
        _clean(_ld_text(article.get("headline"))),
        props.get("og:title"),
        props.get("twitter:title"),
        _clean(h1.text_content()) if h1 is not None else None,
    ]
    m.title = _best_title([t for t in titles if t])
    m.subtitle = (
        _clean(_ld_text(article.get("alternativeHeadline")))
        or _subtitle_element(tree)
        or _clean(_ld_text(article.get("description")))
        or props.get("og:description")
        or props.get("description")
    )
    m.author = (
        _ld_people(article.get("author"))
        or _not_url(props.get("author"))
        or _not_url(props.get("article:author"))
        or _not_url(props.get("dc.creator"))
    )
    m.date = (
        props.get("article:published_time")
        or _ld_text(article.get("datePublished"))
        or props.get("datepublished")
        or props.get("date")
        or props.get("dc.date")
        or props.get("pubdate")
        or _time_element(tree)
    )
    m.category = (
        props.get("article:section")
        or _first(_ld_list(article.get("articleSection")))
        or ld.get("breadcrumb")
        or _breadcrumb(tree)
        or _section_element(tree)
    )
    canonical = tree.find(".//link[@rel='canonical']")
    m.url = (
        (canonical.get("href").strip() if canonical is not None and canonical.get("href") else None)
        or props.get("og:url")
        or _ld_url(article)
    )
    if m.url and not m.url.lower().startswith(("http://", "https://")):
        m.url = None  # a relative canonical says nothing without the page's address
    publisher = article.get("publisher")
    m.site = props.get("og:site_name") or (
        _clean(_ld_text(publisher.get("name"))) if isinstance(publisher, dict) else None
    )
    body = _ld_text(article.get("articleBody"))
    m.body = "\n".join(p.strip() for p in body.splitlines() if p.strip()) if body else None
    return m


def _best_title(candidates: list[str]) -> str | None:
    """The first candidate, unless it is cut short ("...") and another one completes it."""
    if not candidates:
        return None
    first = candidates[0]
    stem = re.sub(r"\s*(?:…|\.\.\.)$", "", first)
    if stem != first:
        for other in candidates[1:]:
            if len(other) > len(stem) and other.startswith(stem):
                return other
    return first


def _json_ld(tree: Any) -> dict[str, Any]:
    """The page's news article object and its breadcrumb section, from JSON-LD."""
    found: dict[str, Any] = {}
    candidates: list[tuple[int, dict]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the other sources remain
        for obj in _ld_objects(data):
            types = obj.get("@type")
            types = types if isinstance(types, list) else [types]
            if any(t in _NEWS_TYPES for t in types):
                candidates.append((0, obj))
            elif any(t in _ARTICLE_TYPES for t in types):
                candidates.append((1, obj))
            elif "BreadcrumbList" in types and "breadcrumb" not in found:
                found["breadcrumb"] = _ld_breadcrumb(obj)
    if candidates:
        found["article"] = min(candidates, key=lambda c: c[0])[1]
    return found


def _ld_objects(data: Any, depth: int = 0) -> Iterator[dict]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _ld_objects(data["@graph"], depth + 1)


def _ld_breadcrumb(obj: dict) -> str | None:
    items = obj.get("itemListElement")
    if not isinstance(items, list):
        return None
    names = []
    for item in sorted((i for i in items if isinstance(i, dict)), key=lambda i: _int(i.get("position"))):
        name = item.get("name")
        if not name and isinstance(item.get("item"), dict):
            name = item["item"].get("name")
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    # Home > Section > Article title: the section is the one before the last.
    names = [n for n in names if n.lower() not in ("home", "homepage", "home page")]
    if len(names) >= 2:
        return names[-2]
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ld_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0].strip() or None
    return None


def _ld_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _ld_people(value: Any) -> str | None:
    people = value if isinstance(value, list) else [value]
    names = []
    for person in people:
        name = person.get("name") if isinstance(person, dict) else person
        if isinstance(name, str) and name.strip() and not _is_url(name):
            names.append(" ".join(name.split()))
    return ", ".join(dict.fromkeys(names)) or None


def _ld_url(article: dict) -> str | None:
    page = article.get("mainEntityOfPage")
    if isinstance(page, dict):
        page = page.get("@id") or page.get("url")
    for value in (article.get("url"), page):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value.strip()
    return None


def _is_url(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://", "www."))


def _not_url(value: str | None) -> str | None:
    return value if value and not _is_url(value) else None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split()) or None


def _first(values: Any) -> str | None:
    if not values:
        return None
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _class_xpath(words: Iterable[str]) -> str:
    return " or ".join(f"contains(concat(' ', normalize-space(@class), ' '), ' {w} ')" for w in words)


_SUBTITLE_CLASSES = (
    "sommario",
    "catenaccio",
    "subtitle",
    "sottotitolo",
    "article-subtitle",
    "entry-subtitle",
)
_SUBTITLE_CLASSES += ("summary", "standfirst")


def _subtitle_element(tree: Any) -> str | None:
    for el in tree.xpath(f".//*[{_class_xpath(_SUBTITLE_CLASSES)}]"):
        text = _clean(el.text_content())
        if text and len(text) <= 400:
            return text
    return None


def _section_element(tree: Any) -> str | None:
    xpath = (
        f".//*[{_class_xpath(('sezione', 'categoria', 'category', 'cat-links', 'section-name', 'rubrica'))}]"
    )
    for el in tree.xpath(xpath):
        text = _clean(el.text_content())
        if text and len(text) <= 40:
            return text
    return None


def _breadcrumb(tree: Any) -> str | None:
    for container in tree.xpath(".//*[contains(@class, 'breadcrumb') or @aria-label='breadcrumb']"):
        names = [_clean(a.text_content()) for a in container.iter("a")]
        names = [n for n in names if n and n.lower() not in ("home", "homepage", "home page")]
        if names:
            return names[-1]
    return None


def _time_element(tree: Any) -> str | None:
    for el in tree.iter("time"):
        value = el.get("datetime")
        if value:
            return value
    return None


def _site_from_title(tree: Any, title: str | None) -> str | None:
    """ "Il Notiziario - Titolo" or "Titolo | Il Notiziario": the site's name."""
    el = tree.find(".//title")
    page_title = _clean(el.text_content()) if el is not None else None
    if not page_title or not title or page_title == title:
        return None
    for sep in _TITLE_SEPARATORS:
        if page_title.startswith(title + sep):
            return page_title[len(title + sep) :].strip() or None
        if page_title.endswith(sep + title):
            return page_title[: -len(sep + title)].strip() or None
    return None


def _strip_site(title: str | None, site: str | None) -> str | None:
    title = _clean(title)
    if title and site:
        for sep in _TITLE_SEPARATORS:
            title = title.removesuffix(sep + site).removeprefix(site + sep)
    return title


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def is_lead_of(summary: str, body: str) -> bool:
    """A summary that is just the start of the body (an automatic excerpt)."""
    s = _norm(re.sub(r"(?:\[?(?:…|\.\.\.)\]?|\[&hellip;\])\s*$", "", summary))
    return bool(s) and _norm(body).startswith(s)


def _strip_head_lines(
    paragraphs: list[str], title: str, subtitle: str | None, category: str | None
) -> tuple[list[str], dict[str, Any]]:
    """Drops the title, subtitle, section label and dateline/byline lines that
    extraction may leave at the top of the body; returns what they told."""
    found: dict[str, Any] = {}
    head, rest = paragraphs[:5], paragraphs[5:]
    norm_title = _norm(title)
    if norm_title in (_norm(p) for p in head):
        # Short lines before the title are its kicker or section label.
        at = [_norm(p) for p in head].index(norm_title)
        if all(len(p) <= 80 for p in head[:at]):
            head = head[at + 1 :]
    kept = []
    for p in head:
        n = _norm(p)
        if n == norm_title or (subtitle and n == _norm(subtitle)) or (category and n == _norm(category)):
            continue
        if len(p) <= 120 and (m := _DATELINE.match(p)):
            if not (m.group(1) or "").lower().startswith("aggiornat"):
                found.setdefault("date", m.group(2))
            if m.group(3):
                found.setdefault("author", m.group(3))
            continue
        if len(p) <= 60 and (m := _BYLINE.match(p)) and not p.endswith("."):
            found.setdefault("author", m.group(1))
            continue
        kept.append(p)
    return kept + rest, found


__all__ = [
    "MAX_SUBTITLE_CHARS",
    "clean_paragraphs",
    "html_to_text",
    "is_lead_of",
    "looks_like_html",
    "parse_html_page",
    "plain_line",
]
