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
        return author_key(self.author)

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


# What a byline says besides the name: "dal nostro inviato", "di", "a cura
# di", "by", … The article keeps its byline as written; the author facet and
# filter use the name alone (author_name), so "dal nostro inviato FEDERICO
# RAMPINI" and "Federico Rampini" are one author.
_ROLE = re.compile(
    r"^(?:(?:dal|dalla|dai|dalle)\s+(?:nostr[oaie]|vostr[oaie])\s+)?"
    r"(?:inviat[oaie]|corrispondent[ei]|collaborat(?:ore|rice|ori))"
    r"(?:\s+(?:speciale|special[ie]))?(?:\s+(?:a|ad|in|da)\s+[A-ZÀ-Ý][\w'’-]*)?\s*[:,-]?\s+",
    re.I,
)
_BYLINE_PREFIX = re.compile(
    r"^(?:a\s+cura\s+di|testo\s+di|testi\s+di|servizio\s+di|intervista\s+di|articolo\s+di|di|by|da)\s+",
    re.I,
)


def clean_author(value: str | None) -> str | None:
    """A byline as written, spaces collapsed (None: no byline)."""
    if not value:
        return None
    return " ".join(value.split()) or None


def author_name(byline: str | None) -> str:
    """The name in a byline: "dal nostro inviato FEDERICO RAMPINI" -> "Federico
    Rampini", "di JACOPO RICCA" -> "Jacopo Ricca"; "Di Maio" stays a surname."""
    name = " ".join((byline or "").split())
    while True:
        stripped = _ROLE.sub("", name, count=1)
        if stripped == name or not stripped:
            stripped = _BYLINE_PREFIX.sub("", name, count=1)
            # "Di Maio" is a surname; "di Luigi Di Maio" is a byline.
            if len(stripped.split()) < 2:
                break
        if stripped == name:
            break
        name = stripped
    if name.isupper() or name.islower():
        name = name.title()
    return name


def author_key(byline: str | None) -> str:
    """The author facet's and filter's key: the name, case- and accent-folded."""
    return normalize_key(author_name(byline))


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
