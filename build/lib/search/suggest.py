"""Autocomplete: completions of what the reader is typing, from the archive.

Two kinds of suggestion:

- words: the archive's words (the `exact` vocabulary: folded, stop words
  kept) that start with the last word typed, most frequent first, appended
  to what was typed before it. After earlier words, the words that follow
  the one before in the archive ("De Lu" -> "De Luca"), else those found in
  an article with all of them ("elezioni ven" -> "elezioni veneto"). Each
  is shown as the archive writes it (accents, capitals: "anziché", "Zaia",
  "De Luca"), read from a few articles holding it; rare misspellings of a
  far commoner completion are left out, and so are glued words
  ("LombardiaIl", "perchéIn": scraped text whose paragraph break was lost),
  whose pieces are each far commoner words than the whole;
- titles of articles holding the earlier words and the last one (or its
  commonest completions), newest first: choosing one opens its article.

`assemble` holds all of it; a backend supplies a `Source` (the vocabulary,
sample texts and titles): whoosh here, PostgreSQL in search.pg.suggest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

from whoosh.analysis import Analyzer

from .analysis import STOPWORDS, TOKEN_PATTERN, fold, stem
from .spelling import edit_distance, max_typos

MAX_PREFIX_CHARS = 100
# Vocabulary terms looked at per request: bounds the work on short prefixes.
MAX_SCAN = 2_000
MIN_WORD_PREFIX = 2
# Completions checked against the earlier words, most frequent first.
MAX_CONTEXT_CHECKS = 60
# Articles whose word positions are read to find whether a completion
# follows the word before it: per completion, and over all of one request
# (about 15 ms at most on the dev corpus).
MAX_ADJACENCY_CHECKS = 40
MAX_ADJACENCY_DOCS = 400
# Shorter prefixes expand to too much of the vocabulary to search titles.
MIN_TITLE_PREFIX = 3
# Completions whose titles are looked for, in order (after the word typed).
TITLE_TERMS = 3
# Articles read per completion to see how the archive writes it.
SAMPLES = 4
# A completion is a misspelling of another one this many times commoner
# within its typo distance (with another stem): "coronaviurs" (2 articles)
# beside "coronavirus" (8,000).
MISSPELLING_RATIO = 20
# Names that go on the words typed: articles read, how often the next word
# must follow, and how many such names are offered.
NAME_SAMPLES = 12
NAME_MIN_COUNT = 2
NAME_SUGGESTIONS = 2
# A completion in fewer articles than the commonest one over this is left out.
RARE_RATIO = 1_000
# A word glued from pieces each at least this many times commoner than it.
GLUE_RATIO = 2
# Title matches up to this many have their dates read one by one; more, by
# walking the documents sorted by date.
SPARSE_DATES = 500
# Separators allowed between two words shown together ("De Luca", "Covid-19").
_BETWEEN = r"[\s\u00a0'’`\-–]{1,3}"


@dataclass(frozen=True)
class Suggestion:
    """One suggestion: a word completion ("word") or an article ("title")."""

    text: str
    kind: str = "word"
    article_id: str | None = None
    date: date | None = None


@dataclass(frozen=True)
class Completion:
    """A vocabulary word completing the last typed word."""

    term: str
    docs: int
    # It follows the word typed before it somewhere in the archive.
    adjacent: bool = False


@dataclass(frozen=True)
class TitleHit:
    article_id: str
    title: str
    date: date | None


class Source(Protocol):
    """What a backend supplies to `assemble`."""

    def completions(self, last: str, head: list[str], limit: int) -> list[Completion]:
        """Up to `limit` vocabulary words starting with `last` (not `last`
        itself, no stop words, at least MIN_WORD_PREFIX + 1 letters), most
        documents first. With earlier words `head`: only words found in an
        article holding every non-stop word of `head`; those that follow
        head[-1] somewhere are `adjacent`, and when any is, only they."""
        ...

    def doc_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """Articles holding each folded word (0 for an unknown one)."""
        ...

    def samples(self, phrases: list[tuple[str, ...]], per_phrase: int) -> dict[tuple[str, ...], list[str]]:
        """The text (title, subtitle, body) of up to `per_phrase` articles
        holding each phrase of folded words."""
        ...

    def titles(self, head: list[str], terms: list[str], prefix: str, limit: int) -> list[TitleHit]:
        """Up to `limit` articles whose title holds every word of `head`
        (stemmed) and, in turn, each of `terms` (stemmed; all of one term's
        before the next); with no terms, a word starting with `prefix` (if
        any). Newest first, then by id, within each term."""
        ...


def assemble(prefix: str, limit: int, exact: Analyzer, source: Source) -> list[Suggestion]:
    """The suggestions of any backend: words first, then titles, no repeats."""
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
    head, last = (words, "") if complete else (words[:-1], words[-1])
    if not complete and len(last) < MIN_WORD_PREFIX:
        return []

    completions = _words(typed, head, last, limit, source) if last else []
    names = _name_continuations(typed, words, source) if complete or len(words) > 1 else []
    title_terms: list[str] = []
    if last and last not in STOPWORDS and source.doc_frequencies([last]).get(last):
        title_terms.append(last)
    title_terms += [c.term for c, _ in completions[:TITLE_TERMS]]
    titles: list[TitleHit] = []
    if complete or len(last) >= MIN_TITLE_PREFIX:
        titles = source.titles(head, title_terms, last, limit)
    elif any(w not in STOPWORDS and len(w) >= MIN_TITLE_PREFIX for w in head):
        # A title typed up to a short last word ("Bologna, via libera alla nuova li"):
        # the titles with the earlier words and a word starting with the last one.
        titles = [
            hit
            for hit in source.titles(head, [], "", 4 * limit)
            if any(t.text.startswith(last) for t in exact(hit.title))
        ][:limit]

    out: list[Suggestion] = []
    # A word completion that is a whole title shows as the title (it opens the article).
    seen = {fold(typed.lower())}
    title_keys = {fold(hit.title.lower()) for hit in titles}

    def add(suggestion: Suggestion) -> None:
        key = fold(suggestion.text.lower())
        if key not in seen:
            seen.add(key)
            out.append(suggestion)

    word_quota = max(1, limit - min(len(titles), limit // 2))
    for text in names:
        add(Suggestion(text))
    for _, text in completions[: max(0, word_quota - len(names))]:
        if fold(text.lower()) not in title_keys:
            add(Suggestion(text))
    for hit in titles:
        if len(out) >= limit:
            break
        add(Suggestion(hit.title, "title", hit.article_id, hit.date))
    return out[:limit]


Shown = list[tuple[Completion, str]]


def _words(typed: str, head: list[str], last: str, limit: int, source: Source) -> Shown:
    """The word completions and their text as suggested, best first."""
    candidates = _drop_misspellings(source.completions(last, head, 2 * limit))
    if candidates:
        # Words of an article or two beside a word in thousands: noise ("coronav":
        # no "CoronaVirusSafetyMeasures" beside "coronavirus").
        top = max(c.docs for c in candidates)
        candidates = [c for c in candidates if c.docs * RARE_RATIO >= top][: limit + 4]
    if not candidates:
        return []
    before = _typed_before_last_word(typed)
    # After a word that the completion follows, both are shown as the archive
    # writes them together ("de lu" -> "De Luca").
    prev = head[-1] if head else None
    lead = _typed_before_last_token(before) if prev is not None else None
    pairs = lead is not None and prev is not None and fold(before[len(lead) :].strip().lower()) == prev
    phrases: list[tuple[str, ...]] = []
    for c in candidates:
        phrases.append((c.term,))
        if pairs and c.adjacent:
            phrases.append((prev, c.term))
    texts = source.samples(phrases, SAMPLES)
    forms: dict[str, str] = {}
    shown: dict[str, str] = {}
    for c in candidates:
        form = written_form(texts.get((c.term,), []), (c.term,))
        forms[c.term] = form or c.term
        pair = written_form(texts.get((prev, c.term), []), (prev, c.term)) if pairs and c.adjacent else None
        shown[c.term] = f"{lead}{pair}" if pair else f"{before}{forms[c.term]}"
    glued = _glued(candidates, forms, source)
    return [(c, shown[c.term]) for c in candidates if c.term not in glued][:limit]


def _name_continuations(typed: str, words: list[str], source: Source) -> list[str]:
    """A name the typed words begin, as the archive writes it: "Vincenzo De"
    -> "Vincenzo De Luca", "Luca " -> "Luca Zaia". In a few articles holding
    the last one or two words typed, capitalised there, the capitalised word
    that follows them at least NAME_MIN_COUNT times; at most NAME_SUGGESTIONS."""
    seq = tuple(words[-2:])
    tokens = list(TOKEN_PATTERN.finditer(typed))
    if len(tokens) < len(seq) or any(t in STOPWORDS for t in seq[-1:]):
        return []
    start = tokens[-len(seq)].start()
    if tuple(fold(t.group().lower()) for t in tokens[-len(seq) :]) != seq:
        return []  # elisions, acronyms: the typed words are not these tokens
    texts = source.samples([seq], NAME_SAMPLES).get(seq, [])
    regex = _name_regex(seq)
    found: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        for m in regex.finditer(text):
            name = " ".join(m.group().split())
            parts = name.split()
            following = fold(m.group("next").lower())
            if following in STOPWORDS or not all(p[:1].isupper() for p in parts):
                continue
            if all(p.isupper() for p in parts):  # a title in capitals says nothing of case
                continue
            found[following] += 1
            forms.setdefault(following, Counter())[name] += 1
    return [
        typed[:start] + _commonest(forms[following])
        for following, n in found.most_common(NAME_SUGGESTIONS)
        if n >= NAME_MIN_COUNT
    ]


@lru_cache(maxsize=1_024)
def _name_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """The words (a phrase, as _phrase_regex) and the word after them."""
    body = _BETWEEN.join(_word_pattern(w) for w in words)
    return re.compile(rf"(?<!\w){body}[ \u00a0](?P<next>[^\W\d_]{{2,}})(?!\w)", re.IGNORECASE)


def _drop_misspellings(completions: list[Completion]) -> list[Completion]:
    """Leaves out a completion within typo distance of one far commoner
    (another stem: "regionali" beside "regione" is an inflection, kept)."""
    kept: list[Completion] = []
    for c in completions:
        typos = max_typos(c.term)
        if typos and any(
            k.docs >= MISSPELLING_RATIO * c.docs
            and stem(k.term) != stem(c.term)
            and edit_distance(c.term, k.term, typos) <= typos
            for k in kept
        ):
            continue
        kept.append(c)
    return kept


def _camel_pieces(form: str) -> list[str]:
    """A written word cut where a lower-case letter meets a capital:
    "LombardiaIl" -> ["Lombardia", "Il"]."""
    pieces: list[str] = []
    start = 0
    for i in range(1, len(form)):
        if form[i].isupper() and form[i - 1].islower():
            pieces.append(form[start:i])
            start = i
    pieces.append(form[start:])
    return pieces


def _glued(candidates: list[Completion], forms: dict[str, str], source: Source) -> set[str]:
    """The completions written as pieces glued without a space, a capital
    starting each ("LombardiaIl"), when every piece is a word far commoner
    than the whole; brand names ("WhatsApp": "whats" is rare) stay."""
    pieces = {c.term: [fold(p.lower()) for p in _camel_pieces(forms[c.term])] for c in candidates}
    split = {term: parts for term, parts in pieces.items() if len(parts) > 1}
    if not split:
        return set()
    docs = source.doc_frequencies({p for parts in split.values() for p in parts})
    counts = {c.term: c.docs for c in candidates}
    return {
        term
        for term, parts in split.items()
        if all(docs.get(p, 0) >= GLUE_RATIO * max(counts[term], 1) for p in parts)
    }


def _typed_before_last_word(typed: str) -> str:
    """What the reader typed before the word being completed, kept as typed."""
    m = re.search(r"\w*$", typed)
    return typed[: m.start()] if m else typed


def _typed_before_last_token(before: str) -> str | None:
    """`before` without its last token (None when it has none)."""
    starts = [m.start() for m in TOKEN_PATTERN.finditer(before)]
    return before[: starts[-1]] if starts else None


# -- how the archive writes a word ---------------------------------------------------


@lru_cache(maxsize=1)
def _letter_variants() -> dict[str, str]:
    """Folded letter -> a regex class of the lower-case letters folding to it."""
    variants: dict[str, set[str]] = {}
    for code in range(0x00C0, 0x0250):
        ch = chr(code).lower()
        folded = fold(ch)
        if len(folded) == 1 and folded.isalpha():
            variants.setdefault(folded, set()).add(ch)
    return {k: "[" + k + "".join(sorted(v)) + "]" for k, v in variants.items()}


def _word_pattern(word: str) -> str:
    classes = _letter_variants()
    return "".join(classes.get(c, re.escape(c)) for c in word)


@lru_cache(maxsize=4_096)
def _phrase_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    body = _BETWEEN.join(_word_pattern(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


_OPENING = re.compile(r"[\s\"“”«»'‘’(\[\-–—]*$")


def _context(text: str, start: int, form: str) -> str:
    """How an occurrence is written: "caps" (all capitals, as titles in
    capitals are), "initial" (capitalised where a sentence starts) or
    "plain" (as the word is written mid-sentence: the form to show)."""
    letters = [c for c in form if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return "caps"
    if form[:1].isupper():
        opening = _OPENING.search(text, max(0, start - 8), start)
        at = opening.start() if opening else start
        if at == 0 or text[at - 1] in ".!?:;…\n" or (opening and "\n" in opening.group()):
            return "initial"
    return "plain"


def written_form(texts: list[str], words: tuple[str, ...]) -> str | None:
    """The commonest way `texts` write the folded `words` (one word or a few
    in a row): as written mid-sentence if ever, else capitalised at a
    sentence start, else in capitals (kept for short acronyms: "ONU",
    lower case otherwise). None when no text holds them."""
    regex = _phrase_regex(words)
    by_context: dict[str, Counter[str]] = {"plain": Counter(), "initial": Counter(), "caps": Counter()}
    for text in texts:
        for m in regex.finditer(text):
            form = " ".join(m.group().split()) if " " in m.group() or "\n" in m.group() else m.group()
            by_context[_context(text, m.start(), form)][form] += 1
    for kind in ("plain", "initial"):
        if by_context[kind]:
            return _commonest(by_context[kind])
    if by_context["caps"]:
        form = _commonest(by_context["caps"])
        return form if sum(c.isalpha() for c in form) <= 4 else form.lower()
    return None


def _commonest(forms: Counter[str]) -> str:
    """The commonest form; among equals, the one with fewest capitals, then
    the first seen ("elezioni regionale" over "elezioni Regionale")."""
    return max(forms, key=lambda f: (forms[f], -sum(c.isupper() for c in f)))
