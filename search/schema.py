"""The whoosh schema: which article parts are indexed, and how."""

from __future__ import annotations

from datetime import datetime, time

from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

from .analysis import DEFAULT_ANALYSIS, AnalysisConfig, exact_analyzer, stemming_analyzer
from .article import Article
from .formats import CompactPositions, FastFrequency


def _text(analyzer, positions: bool, **kwargs) -> TEXT:
    field = TEXT(analyzer=analyzer, phrase=positions, **kwargs)
    # Same reading API as whoosh's formats; smaller on disk, faster to write.
    field.format = CompactPositions() if positions else FastFrequency()
    return field


def build_schema(config: AnalysisConfig = DEFAULT_ANALYSIS) -> Schema:
    stem = stemming_analyzer(config)
    return Schema(
        id=ID(stored=True, unique=True),
        # Stemmed full text: title + subtitle + body scored as one field,
        # plus the title alone so a title match can outrank a body match.
        # No positions in `text`: word distances and phrases are read from
        # `exact` (positions were a third of the index).
        text=_text(stem, positions=False),
        title=_text(stem, positions=True),
        # Unstemmed, accent-folded twin with stop words kept: exact phrases,
        # proximity, prefixes, and the vocabulary for typo correction.
        exact=_text(exact_analyzer(config), positions=True, multitoken_query="phrase"),
        # Filters and facets read columns, not stored fields.
        author_key=ID(sortable=True),
        category_key=ID(sortable=True),
        date=DATETIME(sortable=True),
        year=NUMERIC(sortable=True, bits=16, signed=False),
        author=STORED,
        category=STORED,
    )


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
