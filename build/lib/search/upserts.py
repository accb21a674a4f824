"""What storing an article did (added, updated, unchanged, a duplicate), and
what makes two records the same article: for every backend's store.
"""

from __future__ import annotations

import hashlib

from .analysis import normalize_key
from .article import Article

ADDED, UPDATED, UNCHANGED, DUPLICATE = "added", "updated", "unchanged", "duplicate"


def fingerprint(article: Article) -> str:
    """Same title, date and body text: the same article, whatever its id."""
    key = "\x00".join(
        [
            normalize_key(article.title),
            article.date.isoformat() if article.date else "",
            hashlib.sha1(" ".join(article.body.split()).encode()).hexdigest(),
        ]
    )
    return hashlib.sha1(key.encode()).hexdigest()


def url_key(url: str | None) -> str | None:
    """A page url identifies an article; a bare site address does not."""
    if not url:
        return None
    u = url.strip().lower().split("#")[0]
    for prefix in ("https://", "http://"):
        u = u.removeprefix(prefix)
    u = u.removeprefix("www.").rstrip("/")
    return u if "/" in u else None
