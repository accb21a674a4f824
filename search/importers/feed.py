"""RSS 2.0 and Atom feeds (feedparser): one article per item."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

from ..dates import DateError, parse_date
from .base import RecordError, article_from_record, decode_bytes, scoped_id, url_identity
from .html import MAX_SUBTITLE_CHARS, html_to_text, is_lead_of, plain_line

_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_ROOT = re.compile(r"<(rss|feed|rdf:RDF)[\s>]", re.I)


def looks_like_feed(text_head: str) -> bool:
    """An RSS, RDF or Atom root element near the top."""
    head = re.sub(r"<\?xml.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text_head, flags=re.S).lstrip(
        "\ufeff \t\r\n"
    )
    return bool(_ROOT.match(head))


def parse_feed(data: bytes) -> Iterator[tuple[str, Any]]:
    """Yields (location, Article | RecordError) per item, ("", RecordError) for the whole file."""
    try:
        payload = _utf8_payload(data)
    except RecordError as e:
        yield "", e
        return
    import feedparser  # imported on first use: it takes a while to load

    parsed = feedparser.parse(io.BytesIO(payload), sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.bozo:
            reason = getattr(parsed.bozo_exception, "getMessage", lambda: str(parsed.bozo_exception))()
            yield "", RecordError(f"feed non valido ({reason})")
        elif not parsed.version:
            yield "", RecordError("non è un feed RSS o Atom")
        else:
            yield "", RecordError("il feed non contiene articoli")
        return
    source = plain_line(parsed.feed.get("title"), "il titolo del feed")
    for number, entry in enumerate(parsed.entries, start=1):
        try:
            yield f"voce {number}", _article(entry, source)
        except RecordError as e:
            yield f"voce {number}", e


def _utf8_payload(data: bytes) -> bytes:
    """The feed decoded our way (UTF-8, else Windows-1252; mixed or binary
    input rejected) and handed to feedparser as UTF-8."""
    if _ENTITY_DECLARATION.search(data):
        raise RecordError("feed rifiutato per sicurezza: dichiara entità XML (possibile «XML bomb»)")
    text = decode_bytes(data)
    body = _XML_DECLARATION.sub(b"", text.encode("utf-8"), count=1)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.lstrip()


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


def feed_date(raw: str) -> str:
    """An RFC 822 date (RSS pubDate) or any date `parse_date` reads, as ISO,
    on the calendar of the time zone it was written in."""
    try:
        return parsedate_to_datetime(raw).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return parse_date(raw).isoformat()
    except DateError:
        raise RecordError(f"data non riconosciuta: {raw!r}") from None


__all__ = ["feed_date", "looks_like_feed", "parse_feed"]
