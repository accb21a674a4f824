"""RSS 2.0 and Atom feeds (feedparser): one article per item."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from .base import (
    MAX_SUBTITLE_CHARS,
    RecordError,
    article_from_record,
    feed_date,
    is_lead_of,
    scoped_id,
    unexpected,
    url_identity,
)
from .htmltext import html_to_text, plain_line
from .streams import CHUNK, Stream, sniff_encoding

_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_ROOT = re.compile(r"<(rss|feed|rdf:RDF)[\s>]", re.I)


def looks_like_feed(text_head: str) -> bool:
    """An RSS, RDF or Atom root element near the top."""
    head = re.sub(r"<\?xml.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text_head, flags=re.S).lstrip(
        "\ufeff \t\r\n"
    )
    return bool(_ROOT.match(head))


# Longest item (and longest feed header before the first item): an item's
# text is at most base.MAX_BODY_CHARS; feedparser takes ~15 times an item's
# size in memory, so the whole feed is never handed to it at once.
MAX_ITEM_BYTES = 8 * 1024 * 1024
# Items read per feed: feedparser takes ~0.9 ms an item, so 50,000 items
# hold the writer lock ~45 s; a real feed has tens or hundreds (archives
# come as JSON Lines, CSV or WordPress exports).
MAX_FEED_ITEMS = 50_000
_ITEM_START = re.compile(rb"<(item|entry)[\s>/]", re.I)
_ITEM_END = {b"item": re.compile(rb"</item\s*>", re.I), b"entry": re.compile(rb"</entry\s*>", re.I)}
_MARKUP = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>", re.S | re.I)
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w:.-]*)(?:\s[^>]*?)?(/?)>")


def parse_feed(open_stream: Callable[..., Stream]) -> Iterator[tuple[str, Any]]:
    """Yields (location, Article | RecordError) per item, ("", RecordError) for the whole file.

    Streamed: one pass picks the encoding (UTF-8, else Windows-1252); the
    next cuts the feed into items, each handed to feedparser inside the
    feed's open elements (namespaces, version), so memory follows the
    largest item, not the feed.
    """
    try:
        cp1252 = sniff_encoding(open_stream)
    except RecordError as e:
        yield "", e
        return
    stream = open_stream(cp1252=cp1252)
    try:
        yield from _items(stream)
    finally:
        stream.close()


def _items(stream: Stream) -> Iterator[tuple[str, Any]]:
    import feedparser  # imported on first use: it takes a while to load

    buf = b""
    while not (m := _ITEM_START.search(buf)):
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if len(buf) > MAX_ITEM_BYTES:
            yield "", RecordError(f"intestazione del feed troppo lunga (oltre {MAX_ITEM_BYTES // 2**20} MB)")
            return
        buf += chunk
    prolog = buf[: m.start()] if m else buf
    # The DTD comes before the root element: entity declarations can only be here.
    if _ENTITY_DECLARATION.search(prolog):
        raise RecordError("feed rifiutato per sicurezza: dichiara entità XML (possibile «XML bomb»)")
    opening, closing = _open_elements(prolog)
    header = feedparser.parse(
        io.BytesIO(_document(prolog, closing)), sanitize_html=True, resolve_relative_uris=False
    )
    source = plain_line(header.feed.get("title"), "il titolo del feed")
    number = 0
    pos = m.start() if m else len(buf)
    while m:
        end_re = _ITEM_END[m.group(1).lower()]
        found = end_re.search(buf, m.end())
        too_long = False
        while not found:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            if len(buf) - pos > MAX_ITEM_BYTES:
                too_long = True
                buf, pos = buf[-16:], 0  # only the closing tag is looked for now
            searched = max(len(buf) - 16, pos)
            buf += chunk
            found = end_re.search(buf, searched)
        number += 1
        location = f"voce {number}"
        if number > MAX_FEED_ITEMS:
            yield (
                location,
                RecordError(
                    f"feed troppo lungo: oltre {MAX_FEED_ITEMS // 1000}.000 voci, "
                    "le altre non sono state lette"
                ),
            )
            return
        if too_long:
            yield location, RecordError(f"voce troppo lunga (oltre {MAX_ITEM_BYTES // 2**20} MB)")
        elif not found:
            yield location, RecordError("voce non chiusa: il feed è troncato")
            return
        else:
            item = buf[pos : found.end()]
            try:
                parsed = feedparser.parse(
                    io.BytesIO(_document(opening + item, closing)),
                    sanitize_html=True,
                    resolve_relative_uris=False,
                )
                if not parsed.entries:
                    yield location, RecordError("voce non valida")
                else:
                    yield location, _article(parsed.entries[0], source)
            except RecordError as e:
                yield location, e
            except Exception as e:  # noqa: BLE001 - one item's trouble, never the import's
                yield location, unexpected(e)
        if not found:
            return
        buf, pos = buf[found.end() :], 0
        while not (m := _ITEM_START.search(buf)):
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            buf = buf[-16:] + chunk
    if number == 0:
        if header.bozo:
            reason = getattr(header.bozo_exception, "getMessage", lambda: str(header.bozo_exception))()
            yield "", RecordError(f"feed non valido ({reason})")
        elif not header.version:
            yield "", RecordError("non è un feed RSS o Atom")
        else:
            yield "", RecordError("il feed non contiene articoli")


def _open_elements(prolog: bytes) -> tuple[bytes, bytes]:
    """The start tags still open where the first item begins (the root, the
    RSS channel) and the end tags that close them."""
    stack: list[tuple[bytes, bytes]] = []
    for m in _TAG.finditer(_MARKUP.sub(b"", prolog)):
        if m.group(3):
            continue
        if m.group(1):
            name = m.group(2)
            while stack and stack.pop()[0] != name:
                pass
        else:
            stack.append((m.group(2), m.group(0)))
    opening = b"".join(tag for _, tag in stack)
    closing = b"".join(b"</" + name + b">" for name, _ in reversed(stack))
    return opening, closing


# A character reference to half a UTF-16 pair (&#xD800;, &#55296;, also
# escaped once inside HTML content): feedparser raises UnicodeEncodeError
# on it. No character: it goes, the rest of the item stays.
_SURROGATE_REF = re.compile(
    rb"&(?:amp;)?#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*(?:5529[6-9]|55[3-9]\d\d|56\d{3}|57[0-2]\d\d|573[0-3]\d|5734[0-3]));"
)


def _document(body: bytes, closing: bytes) -> bytes:
    """A feed (or a piece of one and its closing tags) for feedparser, as UTF-8."""
    body = _SURROGATE_REF.sub(b"", _XML_DECLARATION.sub(b"", body, count=1))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.lstrip() + closing


def _article(entry: Any, source: str | None) -> Any:
    title = plain_line(entry.get("title"), "il titolo")
    content = _content(entry)
    summary = entry.get("summary")
    body = html_to_text(content or summary)
    subtitle = None
    if content and summary:
        subtitle = plain_line(summary, "il sommario")
        if subtitle and (
            is_lead_of(subtitle, body)
            or is_lead_of(body, subtitle)
            or _excerpt_tail(subtitle)
            or len(subtitle) > MAX_SUBTITLE_CHARS
        ):
            subtitle = None
    tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    article = article_from_record(
        {
            "title": title,
            "subtitle": subtitle,
            "author": _author(entry),
            "date": _date(entry),
            "category": plain_line(tags[0]) if tags else None,
            "body": body,
            "url": entry.get("link"),
            "source": source,
        }
    )
    # The guid (Atom <id>) names the item; without one, its address does.
    key = entry.get("id") or (url_identity(article.url) if article.url else article.id)
    article.id = scoped_id("feed", key)
    return article


def _content(entry: Any) -> str | None:
    """content:encoded or Atom <content>: the longest, HTML preferred."""
    best = None
    for item in entry.get("content") or []:
        value = item.get("value") or ""
        if value.strip() and (best is None or len(value) > len(best)):
            best = value
    return best


def _excerpt_tail(text: str) -> bool:
    return bool(
        re.search(r"(?:\[…\]|\[\.\.\.\]|\[&hellip;\]|continua a leggere.*|leggi tutto.*)$", text, re.I)
    )


def _author(entry: Any) -> str | None:
    """dc:creator, Atom <author> names, or the name in RSS "email (Name)"."""
    people = entry.get("authors") or []
    # One author: feedparser's own split of "email (Name)" fails on long domains.
    names = [_person(p.get("name")) for p in people] if len(people) > 1 else [_person(entry.get("author"))]
    return ", ".join(dict.fromkeys(n for n in names if n)) or None


_EMAIL = re.compile(r"\S+@\S+")


def _person(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    value = " ".join(value.split())
    if "@" not in value:
        return value
    # "mario@example.org (Mario Rossi)" or "Mario Rossi <mario@example.org>"
    if m := re.search(r"\(([^()@]+)\)", value):
        return m.group(1).strip() or None
    name = _EMAIL.sub("", value).strip(" <>()\"'")
    return name or None


def _date(entry: Any) -> str | None:
    """The publication date as the feed writes it, in the feed's own time zone.

    feedparser's *_parsed values are in UTC: an article published at 00:30
    Italian time would move to the day before.
    """
    raw = entry.get("published") or entry.get("updated") or entry.get("created")
    if not raw:
        return None
    try:
        return feed_date(raw)
    except RecordError:
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        if parsed:
            return date(*parsed[:3]).isoformat()
        raise


__all__ = ["looks_like_feed", "parse_feed"]
