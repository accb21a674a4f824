"""Article pages saved from news sites.

A page gives one article. The body comes from trafilatura, which keeps the
article text and drops menus, sidebars and comments; the metadata comes
first from what the CMS declares (`article:*` and `og:` meta tags, JSON-LD
`NewsArticle`, `<link rel="canonical">`), then from trafilatura's guesses.
What slips through (share buttons, "Leggi anche" boxes, cookie banners,
"Riproduzione riservata") is removed paragraph by paragraph
(`htmltext.clean_paragraphs`).
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
from .base import (
    MAX_SUBTITLE_CHARS,
    RecordError,
    article_from_record,
    comparable,
    is_lead_of,
    repair_mojibake,
    scoped_id,
    url_identity,
)
from .htmltext import clean_paragraphs, element_paragraphs, html_to_text

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
            f"pagina con troppi elementi HTML ({tags:_} tag, al massimo {MAX_PAGE_ELEMENTS:_})".replace(
                "_", "."
            )
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


def _strip_head_lines(
    paragraphs: list[str], title: str, subtitle: str | None, category: str | None
) -> tuple[list[str], dict[str, Any]]:
    """Drops the title, subtitle, section label and dateline/byline lines that
    extraction may leave at the top of the body; returns what they told."""
    found: dict[str, Any] = {}
    head, rest = paragraphs[:5], paragraphs[5:]
    norm_title = comparable(title)
    if norm_title in (comparable(p) for p in head):
        # Short lines before the title are its kicker or section label.
        at = [comparable(p) for p in head].index(norm_title)
        if all(len(p) <= 80 for p in head[:at]):
            head = head[at + 1 :]
    kept = []
    for p in head:
        n = comparable(p)
        if (
            n == norm_title
            or (subtitle and n == comparable(subtitle))
            or (category and n == comparable(category))
        ):
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


# html_to_text and clean_paragraphs live in htmltext; named here as before.
__all__ = [
    "MAX_PAGE_ELEMENTS",
    "MAX_PAGE_TAGS",
    "clean_paragraphs",
    "html_to_text",
    "looks_like_html",
    "parse_html_page",
]
