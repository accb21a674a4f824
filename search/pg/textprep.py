"""Article text as PostgreSQL receives it, and the terms the vocabulary counts.

The engine's own tokenizer splits the text (elisions, both apostrophes,
acronyms, numbers, accent folding: search.analysis); PostgreSQL's
`archivio_it` configuration then stems the words and drops its stop words.
Each word is reduced to letters and digits first, so PostgreSQL's parser
sees exactly one token per word and positions (phrases) line up with the
query side.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..analysis import exact_analyzer, stem, stems_and_words
from ..article import Article

_EXACT = exact_analyzer()
_NOT_TOKEN = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=200_000)
def pg_token(word: str) -> str:
    """A folded word as one PostgreSQL token: letters and digits only (2,5 -> 25)."""
    return word if word.isalnum() and word.isascii() else _NOT_TOKEN.sub("", word)


def normalized(text: str | None) -> str:
    """The words of `text`, analysed by the engine, joined by spaces."""
    if not text:
        return ""
    tokens = (pg_token(t.text) for t in _EXACT(text))
    return " ".join(t for t in tokens if t)


def field_texts(article: Article) -> tuple[str, str, str]:
    """Title, subtitle and body as `archivio_it` receives them (weights A, B, D)."""
    return normalized(article.title), normalized(article.subtitle), normalized(article.body)


def full_text(article: Article) -> str:
    return "\n".join(p for p in (article.title, article.subtitle, article.body) if p)


# The vocabulary row counting the indexed articles themselves.
ARTICLES = ("n", "")


def terms(article: Article) -> set[tuple[str, str]]:
    """The vocabulary entries of one article: ('w', word), ('s', stem) and ARTICLES."""
    stems, words = stems_and_words(full_text(article))
    return {("w", w.decode()) for w in words} | {("s", s.decode()) for s in stems} | {ARTICLES}


def lexeme(term: str) -> str | None:
    """A stem (or word) as a quoted tsquery lexeme; None when nothing is left."""
    token = pg_token(term)
    if not token:
        return None
    return "'" + token + "'"


def word_lexeme(word: str) -> str | None:
    """The tsquery lexeme of an unstemmed folded word."""
    return lexeme(stem(word))


TSV_SQL = (
    "setweight(to_tsvector('archivio_it', %s), 'A') || "
    "setweight(to_tsvector('archivio_it', %s), 'B') || "
    "setweight(to_tsvector('archivio_it', %s), 'D')"
)
# The unstemmed twin (every word as written, folded; stop words kept) for exact
# phrases; its parameters are the same three texts again (see vector_params).
EXACT_TSV_SQL = (
    "to_tsvector('archivio_exact', %s) || to_tsvector('archivio_exact', %s) || "
    "to_tsvector('archivio_exact', %s)"
)
VECTORS_SQL = f"tsv = {TSV_SQL}, tsv_exact = {EXACT_TSV_SQL}"


def vector_params(article: Article) -> tuple[str, ...]:
    """The parameters of TSV_SQL followed by those of EXACT_TSV_SQL."""
    texts = field_texts(article)
    return texts + texts
