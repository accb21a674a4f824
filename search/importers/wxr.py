"""WordPress eXtended RSS (WXR): the XML file of Strumenti → Esporta.

Only published posts become articles. Drafts, pages, attachments, menu
items and the like are skipped and counted. The XML is parsed with
defusedxml: a DTD declaring entities (an "XML bomb") or external
references is rejected, never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from .base import (
    MAX_SUBTITLE_CHARS,
    RecordError,
    Skip,
    article_from_record,
    feed_date,
    scoped_id,
    unexpected,
    url_identity,
)
from .htmltext import html_to_text, plain_line
from .streams import CHUNK, Prefixed, Stream, sniff_encoding

WP_NAMESPACE = "http://wordpress.org/export/"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
# WordPress's placeholder category means "none".
_NO_CATEGORY = {"uncategorized", "senza categoria", "non categorizzato"}
# Items read per export: ~28 µs each even when skipped, so 9.5 million
# drafts (500 MB) held the writer lock 266 s; a million take ~30 s.
MAX_WXR_ITEMS = 1_000_000
_SKIPPED_TYPES = {
    "page": "pagina",
    "attachment": "allegato",
    "nav_menu_item": "voce di menu",
    "revision": "revisione",
}
_SKIPPED_STATUSES = {
    "draft": "bozza",
    "auto-draft": "bozza",
    "pending": "bozza",
    "future": "programmato",
    "private": "privato",
    "trash": "nel cestino",
}


def looks_like_wxr(text_head: str) -> bool:
    return WP_NAMESPACE in text_head and "<rss" in text_head


def parse_wxr(open_stream: Callable[..., Stream]) -> Iterator[tuple[str, Any]]:
    """Yields (location, Article | RecordError | Skip) per item, ("", RecordError) for the file.

    Streamed: one pass picks the encoding (UTF-8, else Windows-1252), the
    next parses the export as UTF-8 with its XML declaration dropped, each
    item let go once read.
    """
    try:
        cp1252 = sniff_encoding(open_stream)
    except RecordError as e:
        yield "", e
        return
    stream = open_stream(cp1252=cp1252)
    try:
        head = stream.read(CHUNK)
        yield from _parse(Prefixed(_XML_DECLARATION.sub(b"", head, count=1), stream))
    finally:
        stream.close()


def _parse(payload: Prefixed) -> Iterator[tuple[str, Any]]:
    authors: dict[str, str] = {}
    site = None
    number = 0
    depth = 0
    channel = None
    try:
        for event, elem in iterparse(
            payload,
            events=("start", "end"),
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                depth += 1
                if depth == 2:
                    channel = elem
                continue
            depth -= 1
            tag = elem.tag
            if tag == "item":
                number += 1
                if number > MAX_WXR_ITEMS:
                    yield (
                        f"voce {number}",
                        RecordError(
                            "export troppo lungo: oltre 1.000.000 voci, le altre non sono state lette "
                            "(esporta da WordPress un periodo alla volta)"
                        ),
                    )
                    return
                post_id = _text(elem, "post_id")
                location = f"voce {number}" + (f" (post {post_id})" if post_id else "")
                try:
                    yield location, _item(elem, authors, site)
                except RecordError as e:
                    yield location, e
                except Exception as e:  # noqa: BLE001 - one item's trouble, never the import's
                    yield location, unexpected(e)
                elem.clear()
            elif tag == "title" and depth == 2:  # rss > channel > title
                site = plain_line(elem.text, "il nome del sito")
            elif _wp(tag) == "author" and depth == 2:
                login = _text(elem, "author_login")
                name = _text(elem, "author_display_name")
                if login:
                    authors[login] = name or login
                elem.clear()
            if depth == 2 and channel is not None:
                # Read: let it go (the channel would keep every item, cleared or not).
                channel.remove(elem)
    except EntitiesForbidden:
        yield (
            "",
            RecordError("XML rifiutato per sicurezza: dichiara entità (possibile «XML bomb»), mai espanse"),
        )
        return
    except ExternalReferenceForbidden:
        yield "", RecordError("XML rifiutato per sicurezza: rimanda a risorse esterne")
        return
    except (DTDForbidden, DefusedXmlException) as e:
        yield "", RecordError(f"XML rifiutato per sicurezza ({e.__class__.__name__})")
        return
    except ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        yield "", RecordError(f"XML non valido (riga {line}, colonna {column + 1})")
        return
    if number == 0 and site is None:
        yield "", RecordError("non è un export WordPress (WXR): nessun canale né voce")


def _wp(tag: Any) -> str | None:
    """The local name of a wp: element (any WXR version), else None."""
    if isinstance(tag, str) and tag.startswith("{" + WP_NAMESPACE):
        return tag.rsplit("}", 1)[1]
    return None


def _text(elem: Any, wp_name: str) -> str | None:
    for child in elem:
        if _wp(child.tag) == wp_name:
            value = (child.text or "").strip()
            return value or None
    return None


def _subtitle(excerpt: str | None) -> str | None:
    """The post's excerpt, when it is short enough to be one."""
    text = plain_line(excerpt, "il riassunto")
    return text if text and len(text) <= MAX_SUBTITLE_CHARS else None


def _pub_date(elem: Any) -> str | None:
    raw = (elem.findtext("pubDate") or "").strip()
    return feed_date(raw) if raw and "-0001" not in raw else None


def _item(elem: Any, authors: dict[str, str], site: str | None) -> Any:
    post_type = _text(elem, "post_type") or "post"
    status = _text(elem, "status") or "publish"
    if post_type != "post":
        return Skip(_SKIPPED_TYPES.get(post_type, f"contenuto di tipo {post_type!r}"))
    if status != "publish":
        return Skip(_SKIPPED_STATUSES.get(status, f"stato {status!r}"))
    login = (elem.findtext(_CREATOR) or "").strip()
    categories = [
        " ".join((c.text or "").split())
        for c in elem.findall("category")
        if c.get("domain") == "category" and (c.text or "").strip()
    ]
    categories = [c for c in categories if c.lower() not in _NO_CATEGORY]
    excerpt = next(
        (
            c.text
            for c in elem
            if isinstance(c.tag, str) and c.tag.endswith("}encoded") and "/excerpt/" in c.tag
        ),
        None,
    )
    post_date = _text(elem, "post_date")
    if post_date and post_date.startswith("0000"):
        post_date = None
    article = article_from_record(
        {
            "title": plain_line(elem.findtext("title"), "il titolo"),
            "subtitle": _subtitle(excerpt),
            "author": authors.get(login, login) or None,
            "date": post_date or _pub_date(elem),
            "category": categories[0] if categories else None,
            "body": html_to_text(elem.findtext(_CONTENT), wordpress=True),
            "url": (elem.findtext("link") or "").strip() or None,
            "source": site,
        }
    )
    key = (elem.findtext("guid") or "").strip() or (url_identity(article.url) if article.url else None)
    article.id = scoped_id("wxr", key or article.id)
    return article


__all__ = ["looks_like_wxr", "parse_wxr"]
