"""The whoosh index's schema and documents: the shared fields
(search.schema) with this engine's compact posting formats, and the
document each article becomes."""

from __future__ import annotations

from datetime import datetime, time

from whoosh.fields import Schema
from whoosh.formats import Format

from ..analysis import DEFAULT_ANALYSIS, AnalysisConfig
from ..article import Article
from ..schema import build_schema
from .formats import CompactPositions, FastFrequency


def compact_format(positions: bool) -> Format:
    """Same reading API as whoosh's formats; smaller on disk, faster to write."""
    return CompactPositions() if positions else FastFrequency()


def index_schema(config: AnalysisConfig = DEFAULT_ANALYSIS) -> Schema:
    return build_schema(config, compact_format)


def document(article: Article) -> dict:
    """The whoosh document of an article."""
    full_text = "\n".join(p for p in (article.title, article.subtitle, article.body) if p)
    doc = {
        "id": article.id,
        "text": full_text,
        "title": article.title,
        "exact": full_text,
        "author": article.author or "",
        "category": article.category or "",
    }
    # Empty keys are left out so they never show up as a facet value.
    if article.author_key:
        doc["author_key"] = article.author_key
    if article.category_key:
        doc["category_key"] = article.category_key
    if article.date:
        doc["date"] = datetime.combine(article.date, time())
        doc["year"] = article.date.year
    return doc
