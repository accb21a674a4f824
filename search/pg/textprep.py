"""Article text as PostgreSQL stores it, and the terms the vocabulary counts.

The engine's own analyzers (search.analysis) make the search vectors: the
stems of title, subtitle and body with their positions (stop words are
gaps, a compound's parts and joined forms where whoosh puts them) for
`tsv`, and the unstemmed words for `tsv_exact`, written as tsvector
literals. PostgreSQL stores them as given, so its lexemes are exactly the
terms of the whoosh index and of the query side: no second tokenizer or
stemmer whose output could differ. Each row records the analysis version
that derived its vectors (`analysis`; NULL: before versions were kept).
"""

from __future__ import annotations

from ..analysis import ANALYSIS_VERSION, exact_analyzer, stemming_analyzer, stems_and_words
from ..article import Article

_EXACT = exact_analyzer()
_STEM = stemming_analyzer()
# PostgreSQL's limits: positions 1..16383 (larger ones are clamped), 256
# positions per lexeme, lexemes shorter than 2 KiB.
MAX_POSITION = 16383
MAX_POSITIONS = 256
MAX_LEXEME_BYTES = 2047


def quoted(term: str) -> str:
    """A term as a quoted tsvector/tsquery lexeme."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def vector(positions: dict[str, list[int]]) -> str:
    """A tsvector literal of terms and their (0-based) positions."""
    items = []
    for term, found in positions.items():
        if len(term.encode("utf-8")) > MAX_LEXEME_BYTES:
            continue
        kept = sorted({min(p + 1, MAX_POSITION) for p in found})[:MAX_POSITIONS]
        items.append(quoted(term) + ":" + ",".join(map(str, kept)))
    return " ".join(items)


def field_vectors(text: str | None) -> tuple[str, str]:
    """One field's stems vector and words vector."""
    if not text:
        return "", ""
    return vector(_STEM.term_positions(text)), vector(_EXACT.term_positions(text))


def full_text(article: Article) -> str:
    return "\n".join(p for p in (article.title, article.subtitle, article.body) if p)


# The vocabulary row counting the indexed articles themselves.
ARTICLES = ("n", "")
# The vocabulary rows of the indexed articles' mean vector lengths in
# positions, by vector (BM25's avgdl; store.refresh_average_lengths).
AVERAGE_LENGTHS = {"tsv": ("n", "tsv"), "tsv_exact": ("n", "tsv_exact")}


def terms(article: Article) -> set[tuple[str, str]]:
    """The vocabulary entries of one article: ('w', word), ('s', stem) and ARTICLES."""
    stems, words = stems_and_words(full_text(article))
    return {("w", w.decode()) for w in words} | {("s", s.decode()) for s in stems} | {ARTICLES}


def lexeme(term: str) -> str | None:
    """A stem or word as a quoted tsquery lexeme; None when there is none."""
    return quoted(term) if term else None


def word_lexeme(word: str) -> str | None:
    """The tsquery lexeme of the stem of a word (None for a stop word)."""
    tokens = [t.text for t in _STEM(word)]
    return lexeme(tokens[0]) if len(tokens) == 1 else None


# Title A, subtitle B, body D, in both vectors: the `||` of tsvectors moves
# each next field's positions past the previous one's.
TSV_SQL = "setweight(%s::tsvector, 'A') || setweight(%s::tsvector, 'B') || setweight(%s::tsvector, 'D')"
EXACT_TSV_SQL = TSV_SQL
VECTORS_SQL = f"tsv = {TSV_SQL}, tsv_exact = {EXACT_TSV_SQL}, analysis = {ANALYSIS_VERSION}"


def vector_params(article: Article) -> tuple[str, ...]:
    """The parameters of TSV_SQL followed by those of EXACT_TSV_SQL."""
    fields = [field_vectors(t) for t in (article.title, article.subtitle, article.body)]
    return tuple(s for s, _ in fields) + tuple(w for _, w in fields)
