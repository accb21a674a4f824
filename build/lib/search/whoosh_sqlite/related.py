"""Related articles: more-like-this over the stemmed full text.

The index stores no text and no term vectors, so the article's text comes
from the store and whoosh extracts its key terms (Bo1 model) from it; the
article itself is masked out of the results.
"""

from __future__ import annotations

from whoosh.searching import Searcher

from ..article import Article
from ..ranking import KEY_TERMS, MAX_RELATED
from .store import Store


def related(searcher: Searcher, store: Store, article_id: str, limit: int = 5) -> list[Article]:
    """Up to `limit` articles most like `article_id`, best first ([] if unknown)."""
    limit = max(0, min(limit, MAX_RELATED))
    if not limit:
        return []
    docnum = searcher.document_number(id=article_id)
    article = store.get(article_id)
    if docnum is None or article is None:
        return []
    text = "\n".join(p for p in (article.title, article.subtitle, article.body) if p)
    results = searcher.more_like(docnum, "text", text=text, top=limit, numterms=KEY_TERMS)
    ids = [hit["id"] for hit in results]
    found = store.get_many(ids)
    return [found[i] for i in ids if i in found]
