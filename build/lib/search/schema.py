"""Which article parts are indexed, and how: the fields, their analyzers,
and the query language's field names (whoosh's Schema, for every backend;
the whoosh engine gives its text fields its own posting formats)."""

from __future__ import annotations

from collections.abc import Callable

from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Format

from .analysis import DEFAULT_ANALYSIS, AnalysisConfig, exact_analyzer, stemming_analyzer

# A text field's posting format, given whether it keeps positions.
TextFormat = Callable[[bool], Format]


def build_schema(config: AnalysisConfig = DEFAULT_ANALYSIS, text_format: TextFormat | None = None) -> Schema:
    """The fields; `text_format` chooses the text fields' posting formats
    (whoosh's own by default: what query parsing needs)."""

    def _text(analyzer, positions: bool, **kwargs) -> TEXT:  # noqa: ANN001 - a whoosh Analyzer
        field = TEXT(analyzer=analyzer, phrase=positions, **kwargs)
        if text_format is not None:
            field.format = text_format(positions)
        return field

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
