"""Autocomplete: completions of what the reader is typing, from the index.

Two kinds of suggestion, both read from the live index:

- word completions: the words of the `exact` vocabulary (folded, stop words
  kept) that start with the last word typed, most frequent first, appended to
  what was typed before it;
- titles that contain the earlier words and a word starting with the last
  one, best match first (titles come from the store).

Accents are folded in the vocabulary (città -> citta); when a matching title
shows the accented form of a completion, that form is used instead.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

from whoosh import query as wq
from whoosh.analysis import Analyzer
from whoosh.searching import Searcher

from .analysis import STOPWORDS, fold
from .store import Store

MAX_PREFIX_CHARS = 100
# Vocabulary terms looked at per request: bounds the work on short prefixes.
MAX_SCAN = 2_000
MIN_WORD_PREFIX = 2
# Completions checked against the earlier words, most frequent first.
MAX_CONTEXT_CHECKS = 60
# Shorter prefixes expand to too much of the vocabulary to search titles.
MIN_TITLE_PREFIX = 3


def _analyze(searcher: Searcher, fieldname: str, text: str) -> list[str]:
    """Words as the index's own analyzer for `fieldname` turns them into terms."""
    return [t.text for t in searcher.schema[fieldname].analyzer(text)]


def suggest(searcher: Searcher, store: Store, prefix: str, limit: int = 8) -> list[str]:
    """Up to `limit` suggestions for the text typed so far (words, then titles)."""
    return assemble(
        prefix,
        limit,
        searcher.schema["exact"].analyzer,
        lambda last, n, head_words: _completions(searcher, last, n, head_words),
        lambda head_words, last, n: _titles(searcher, store, head_words, last, n),
    )


# completions(last word, how many, earlier words) and titles(earlier words, last word, how many)
Completions = Callable[[str, int, list[str]], list[str]]
Titles = Callable[[list[str], str, int], list[str]]


def assemble(
    prefix: str, limit: int, exact: Analyzer, completions: Completions, titles_of: Titles
) -> list[str]:
    """The suggestions from a backend's word completions and matching titles
    (shared by every backend): words first, then titles, no repeats."""
    if limit < 1:
        return []
    typed = " ".join(prefix.split())[:MAX_PREFIX_CHARS]
    if not typed:
        return []
    words = [t.text for t in exact(typed)]
    if not words:
        return []
    # The last word is still being typed unless the text ends with a space.
    complete = prefix[-1:].isspace()
    head_words, last = (words, "") if complete else (words[:-1], words[-1])
    if not complete and len(last) < MIN_WORD_PREFIX:
        return []

    titles = titles_of(head_words, last, limit)
    accented = _accented_forms(exact, titles)
    out: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        key = fold(text.lower())
        if key not in seen and key != fold(typed.lower()):
            seen.add(key)
            out.append(text)

    if last:
        before = _typed_before_last_word(typed)
        word_quota = max(1, limit - min(len(titles), limit // 2))
        for term in completions(last, word_quota, head_words):
            add(f"{before}{accented.get(term, term)}")
    for title in titles:
        if len(out) >= limit:
            break
        add(title)
    return out[:limit]


def _typed_before_last_word(typed: str) -> str:
    """What the reader typed before the word being completed, kept as typed."""
    m = re.search(r"\w*$", typed)
    return typed[: m.start()] if m else typed


def _completions(searcher: Searcher, last: str, limit: int, head_words: list[str]) -> list[str]:
    """Vocabulary words starting with `last`, most documents first.

    After earlier words, only words found in an article together with them
    are offered, so "elezioni reg" completes to "regionali", not "regista".
    """
    reader = searcher.reader()
    found: list[tuple[int, str]] = []
    for n, term in enumerate(reader.expand_prefix("exact", last)):
        if n >= MAX_SCAN:
            break
        term = term.decode() if isinstance(term, bytes) else term
        if term == last or term in STOPWORDS or len(term) < MIN_WORD_PREFIX + 1:
            continue
        found.append((-reader.doc_frequency("exact", term), term))
    found.sort()
    context = [w for w in head_words if w not in STOPWORDS]
    if not context:
        return [term for _, term in found[:limit]]
    together = sorted(searcher.docs_for_query(wq.And([wq.Term("exact", w) for w in context])))
    out: list[str] = []
    for _, term in found[:MAX_CONTEXT_CHECKS]:
        if len(out) >= limit or not together:
            break
        if _occurs_in(searcher, term, together):
            out.append(term)
    return out


def _occurs_in(searcher: Searcher, term: str, docnums: list[int]) -> bool:
    """Whether `term` occurs in any of the sorted `docnums` (leapfrog intersection)."""
    matcher = searcher.reader().postings("exact", term)
    i = 0
    while matcher.is_active() and i < len(docnums):
        doc = matcher.id()
        if doc == docnums[i]:
            return True
        if doc < docnums[i]:
            matcher.skip_to(docnums[i])
        else:
            i = bisect_left(docnums, doc, i)
    return False


def _titles(searcher: Searcher, store: Store, head_words: list[str], last: str, limit: int) -> list[str]:
    """Titles holding every typed word (the last one as a prefix), best first."""
    clauses: list[wq.Query] = [wq.Term("title", t) for t in _analyze(searcher, "title", " ".join(head_words))]
    if len(last) >= MIN_TITLE_PREFIX:
        # A partial word is a prefix of its stem, or its stem is a prefix of it.
        prefixes = {last, *_analyze(searcher, "title", last)}
        clauses.append(wq.Or([wq.Prefix("title", p) for p in sorted(prefixes)]))
    if not clauses:
        return []
    q = clauses[0] if len(clauses) == 1 else wq.And(clauses)
    results = searcher.search(q, limit=limit * 2, terms=False)
    ids = [hit["id"] for hit in results]
    articles = store.get_many(ids)
    titles: list[str] = []
    for article_id in ids:
        article = articles.get(article_id)
        if article and article.title not in titles:
            titles.append(article.title)
    return titles[:limit]


def _accented_forms(analyzer: Analyzer, titles: list[str]) -> dict[str, str]:
    """Folded word -> its lower-case accented spelling, as the titles write it."""
    forms: dict[str, str] = {}
    for title in titles:
        for t in analyzer(title, chars=True):
            original = title[t.startchar : t.endchar].lower()
            if original != t.text and fold(original) == t.text:
                forms.setdefault(t.text, original)
    return forms
