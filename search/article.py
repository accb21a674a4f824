"""The article model shared by importers, the store, the index and results."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date

from .analysis import nfc, normalize_key

FIELDS = ("id", "title", "subtitle", "author", "date", "category", "body", "url", "source")


@dataclass
class Article:
    title: str
    body: str
    id: str = ""
    subtitle: str | None = None
    author: str | None = None
    date: date | None = None
    category: str | None = None
    url: str | None = None
    source: str | None = None
    # Where the article came from (file and line/record), for reports only.
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        # Composed (NFC) text: a decomposed "e" + U+0301 reads, indexes and
        # highlights as the "é" typed in a query.
        for name in ("title", "body", "subtitle", "author", "category"):
            value = getattr(self, name)
            if value:
                setattr(self, name, nfc(value))
        self.author = clean_author(self.author)
        if not self.id:
            self.id = derive_id(self)

    @property
    def author_key(self) -> str:
        return normalize_key(self.author)

    @property
    def category_key(self) -> str:
        return normalize_key(self.category)

    def content_hash(self) -> str:
        """Hash of everything a reader sees: decides updated vs unchanged."""
        h = hashlib.sha1()
        for name in FIELDS[1:]:
            value = getattr(self, name)
            h.update((value.isoformat() if isinstance(value, date) else str(value or "")).encode())
            h.update(b"\x00")
        return h.hexdigest()

    def to_dict(self) -> dict:
        """The corpus schema: id, title, subtitle, author, date, category, body, url, source."""
        d = asdict(self)
        d.pop("origin")
        d["date"] = self.date.isoformat() if self.date else None
        return {k: d[k] for k in FIELDS}


_BYLINE_PREFIX = re.compile(r"^(?:a\s+cura\s+di|di|by|da)\s+", re.I)


def clean_author(value: str | None) -> str | None:
    """A byline as a name: "di JACOPO RICCA" -> "Jacopo Ricca"."""
    if not value:
        return None
    name = " ".join(value.split())
    stripped = _BYLINE_PREFIX.sub("", name)
    # "Di Maio" is a surname; "di Luigi Di Maio" is a byline.
    if stripped != name and len(stripped.split()) >= 2:
        name = stripped
    if name.isupper():
        name = name.title()
    return name or None


def _normalize_url(url: str) -> str:
    url = re.sub(r"^https?://", "", url.strip().lower())
    return url.removeprefix("www.").rstrip("/")


def derive_id(article: Article) -> str:
    """A stable id when none is given: from the url, else from the content.

    Content-derived ids use title, date and body, so re-importing the same
    text maps to the same id and never duplicates the article.
    """
    if article.url and "/" in article.url.strip("/"):
        key = "url:" + _normalize_url(article.url)
    else:
        key = "text:" + "\x00".join(
            [
                normalize_key(article.title),
                article.date.isoformat() if article.date else "",
                " ".join(article.body.split())[:2000],
            ]
        )
    return "a-" + hashlib.sha1(key.encode()).hexdigest()[:16]
