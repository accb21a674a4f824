"""How values look on the page: the Jinja filters, static file URLs and the
small text helpers of the templates (Italian numbers, dates, durations,
marked snippets, safe links, paragraphs)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, url_for
from markupsafe import Markup

from archivio.search import DateError, format_italian, parse_query_date, to_html

STATIC_DIR = Path(__file__).parent / "static"


def number_filter(n: int) -> str:
    """Thousands with a dot, as Italian writes them: 19.902."""
    return f"{n:,}".replace(",", ".")


def duration_filter(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 1:
        return "meno di 1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.2f} s".replace(".", ",")


def date_filter(value: date | str | None) -> str:
    """19 novembre 2025 (from a date or an ISO string)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_italian(value)


def typed_date_filter(value: str) -> str:
    """A filter date as readers type it (gg/mm/aaaa); what cannot be read stays as typed."""
    return date_label(value) if value else ""


def snippet_filter(segments: list[tuple[str, bool]]) -> Markup:
    """Escaped text with <mark> around the matches."""
    return Markup(to_html(segments))


TEMPLATE_FILTERS = {
    "numero": number_filter,
    "durata": duration_filter,
    "data_it": date_filter,
    "data_gg_mm_aaaa": typed_date_filter,
    "snippet": snippet_filter,
}


def install(app: Flask) -> None:
    """The template filters, and `static_url` (a static file's URL carrying its content hash)."""
    app.jinja_env.filters.update(TEMPLATE_FILTERS)
    versions = _static_versions()

    def static_url(filename: str) -> str:
        return url_for("static", filename=filename, v=versions.get(filename))

    app.jinja_env.globals["static_url"] = static_url


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, for cache-busting URLs."""
    return {
        p.name: hashlib.sha1(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()
    }


def date_label(value: str) -> str:
    """A filter date as readers write it: gg/mm/aaaa."""
    try:
        parsed = parse_query_date(value, "")
    except DateError:
        return value
    return parsed.strftime("%d/%m/%Y") if parsed else value


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
