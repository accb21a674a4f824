"""Snippets and highlights that show the reader's original words.

The text is tokenized with the same tokenizer and normalisation as the
index, keeping character offsets. What is marked is what the search
matched (see queryparse.Highlight): a word whose stem is one of the
query's stems (so "elezione" marks "elezioni", as the stemmed search
finds it), an exact word of a wildcard's expansion, and a phrase (quoted,
or a multi-word synonym such as "covid 19") only where its words stand
together, as one mark: never its words alone. The marked spans are cut
from the original text, so `dell’Europa` shows as `dell’<mark>Europa</mark>`.

A snippet is up to three fragments around different matched words,
joined with " … ", in the order of the text.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterator
from functools import lru_cache
from html import escape

from .analysis import TOKEN_PATTERN, exact_analyzer, stemming_analyzer
from .queryparse import Highlight

# Only the start of very long articles is scanned for a snippet.
SCAN_CHARS = 40_000
# A snippet shows at most this many fragments, each around words the
# others lack; one fragment when one passage holds every matched word.
FRAGMENTS = 3
SEPARATOR = " … "

Segment = tuple[str, bool]  # (text, is_match)
Span = tuple[int, int, str]  # (start, end, key): key groups equal terms

_EXACT = exact_analyzer()
_STEM = stemming_analyzer()


@lru_cache(maxsize=200_000)
def _parts(raw: str) -> tuple[tuple[int, int, str, str | None, int], ...]:
    """What a token is made of, whatever the query: (start, end, word, stem,
    position) per part (a compound's parts and joined runs, longest first
    where they start together; position counts from the token's first), the
    stem None for a stop word. Shared by all queries: a query's own memo
    starts empty, and most words of an article are common."""
    stems = {(s, e, offset): None if stopped else t for t, s, e, stopped, offset in _STEM.word_parts(raw)}
    return tuple(
        (start, end, word, stems.get((start, end, offset)), offset)
        for word, start, end, _, offset in _EXACT.word_parts(raw)
    )


@lru_cache(maxsize=200_000)
def _keys(raw: str) -> frozenset[str]:
    """Every word and stem of a token's parts: what a highlight may mark in it."""
    parts = _parts(raw)
    return frozenset(word for _, _, word, _, _ in parts) | {stem for _, _, _, stem, _ in parts if stem}


Phrase = tuple[tuple[str, ...], int]  # (folded words, slop)
# A token's own marks, and the phrases that may start at it: (part start, part position, words, slop).
_Start = tuple[int, int, tuple[str, ...], int]
_TokenMarks = tuple[tuple[Span, ...], tuple[_Start, ...]]
_NO_MARKS: _TokenMarks = ((), ())


def _token_marks(raw: str, hl: Highlight, firsts: dict[str, list[Phrase]]) -> _TokenMarks:
    """The marks one token makes by itself (offsets relative to its start),
    and the phrases whose first word it holds."""
    singles: list[Span] = []
    starts: list[_Start] = []
    covered = 0  # of overlapping parts (a compound and its parts), the first and longest
    for start, end, word, stemmed, position in _parts(raw):
        for words, slop in firsts.get(word, ()):
            starts.append((start, position, words, slop))
        if start < covered:
            continue
        if word in hl.words:
            key = word
        elif stemmed is not None and stemmed in hl.stems:
            key = stemmed
        else:
            continue
        singles.append((start, end, key))
        covered = end
    return tuple(singles), tuple(starts)


def _phrase_end(scan: str, start: int, raw: str, first: int, rest: tuple[str, ...], slop: int) -> int | None:
    """Where the phrase ends when its remaining words `rest` follow its first
    word (at position `first` of the token `raw`, at `start` in `scan`) in
    order, each at most `slop` positions after the one before, by the
    index's positions (one per token, a compound's parts one each:
    "Covid-19" holds covid, 19 and covid19); None when they don't."""
    before = first  # the position of the word matched last, from the token's first
    base = 0
    i = 0
    following = ((m.start(), m.group()) for m in TOKEN_PATTERN.finditer(scan, start + len(raw)))
    for at, token in itertools.chain(((start, raw),), following):
        parts = _parts(token)
        for _, end, word, _, offset in parts:
            if 0 < base + offset - before <= slop and word == rest[i]:
                before = base + offset
                i += 1
                if i == len(rest):
                    return at + end
        base += max((p[4] for p in parts), default=0) + 1
        if base - before > slop:
            return None
    return None


# TOKEN_PATTERN as one group: its split gives every token and, by the
# lengths of the pieces, where each starts, without a Python step per token.
_SPLIT = re.compile(f"({TOKEN_PATTERN.pattern})", TOKEN_PATTERN.flags)


def match_spans(text: str, hl: Highlight, limit: int | None = None) -> Iterator[Span]:
    """(start, end, key) of every mark, in order and never overlapping.

    The tokens are the exact analyzer's (same words, same offsets). What a
    token's text yields is remembered on the highlight, since the same words
    come back article after article; only the tokens that mark something or
    start a phrase are visited one by one (snippets were ~30% of a dev
    query's time, most of it a Python step per token; ~10% less this way).
    A phrase is one mark from its first word to its last; the words inside
    it make no marks of their own."""
    scan = text if limit is None else text[:limit]
    memo: dict[str, _TokenMarks] = hl.__dict__.setdefault("_marks", {})
    marking: set[str] = hl.__dict__.setdefault("_marking", set())
    firsts = hl.__dict__.get("_firsts")
    if firsts is None:
        firsts = {}
        for words, slop in sorted(hl.phrases):
            firsts.setdefault(words[0], []).append((words, slop))
        hl.__dict__["_firsts"] = firsts
    pieces = _SPLIT.split(scan)  # separator, token, separator, token, ..., separator
    tokens = pieces[1::2]
    new = list(set(tokens).difference(memo))
    if new:
        # Most tokens hold none of the highlight's words or stems: ruled out
        # by a set test each (the steps run in C), the rest checked exactly.
        memo.update(dict.fromkeys(new, _NO_MARKS))
        sought = hl.__dict__.get("_sought")
        if sought is None:
            sought = hl.__dict__["_sought"] = frozenset(hl.words) | frozenset(hl.stems) | frozenset(firsts)
        for raw in itertools.compress(new, map(operator.not_, map(sought.isdisjoint, map(_keys, new)))):
            found = memo[raw] = _token_marks(raw, hl, firsts)
            if found != _NO_MARKS:
                marking.add(raw)
    chosen = list(itertools.compress(range(len(tokens)), map(marking.__contains__, tokens)))
    if not chosen:
        return
    ends = list(itertools.accumulate(map(len, pieces)))  # token i starts at ends[2 * i]
    covered = 0
    for i in chosen:
        raw = tokens[i]
        base = ends[2 * i]
        singles, starts = memo[raw]
        spans = [(base + s, base + e, k) for s, e, k in singles]
        for start, position, words, slop in starts:
            end = _phrase_end(scan, base, raw, position, words[1:], slop)
            if end is not None:
                spans.append((base + start, end, " ".join(words)))
        if len(spans) > 1:
            spans.sort(key=lambda s: (s[0], -s[1]))
        for span in spans:
            if span[0] >= covered:
                covered = span[1]
                yield span


def highlight_all(text: str, hl: Highlight) -> list[Segment]:
    """The whole text as segments, every match marked (titles, article pages)."""
    segments: list[Segment] = []
    pos = 0
    for start, end, _ in match_spans(text, hl):
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def snippet(text: str, hl: Highlight, width: int = 240, fragments: int = FRAGMENTS) -> list[Segment]:
    """The passage of about `width` characters with the most distinct
    matches; when some matched words are only found elsewhere, up to
    `fragments` shorter passages (width / 2 each), every one bringing words
    the ones before it lack, in the order of the text."""
    spans = list(match_spans(text, hl, SCAN_CHARS))
    if not spans:
        return _assemble(text, [(0, _end(text, 0, width))], [])
    windows = _windows(spans, width)
    best = max(windows, key=lambda w: (len(w[2]), w[3], -w[0]))
    every = {k for _, _, k in spans}
    if fragments <= 1 or best[2] == every:
        start = _start(text, spans[best[0]][0], width)
        return _assemble(text, [(start, _end(text, start, width))], spans)
    return _assemble(text, _fragments(text, spans, every, width // 2, fragments), spans)


# A window of marks: (index of its first span, index past its last, its keys, its span count).
_Window = tuple[int, int, frozenset[str], int]


def _windows(spans: list[Span], width: int) -> list[_Window]:
    """For each span, the marks within `width` characters from its start
    (a two-pointer sweep)."""
    out: list[_Window] = []
    right = 0
    for left in range(len(spans)):
        right = max(right, left + 1)
        while right < len(spans) and spans[right][1] - spans[left][0] <= width:
            right += 1
        out.append((left, right, frozenset(k for _, _, k in spans[left:right]), right - left))
    return out


def _fragments(text: str, spans: list[Span], every: set[str], width: int, most: int) -> list[tuple[int, int]]:
    """Character ranges of up to `most` fragments: greedily, the window
    with the most words not shown yet (then the most distinct words, then
    the most marks, then the earliest), never overlapping the ones taken."""
    windows = _windows(spans, width)
    taken: list[tuple[int, int]] = []
    missing = set(every)
    while missing and len(taken) < most:
        best: tuple[tuple[int, int, int, int], tuple[int, int], frozenset[str]] | None = None
        for left, _, keys, count in windows:
            new = len(keys & missing)
            if not new:
                continue
            score = (new, len(keys), count, -left)
            if best is not None and score <= best[0]:
                continue
            start = _start(text, spans[left][0], width)
            end = _end(text, start, width)
            if any(start < e and s < end for s, e in taken):
                continue
            best = (score, (start, end), keys)
        if best is None:
            break
        taken.append(best[1])
        missing -= best[2]
    return sorted(taken)


def _start(text: str, anchor: int, width: int) -> int:
    """A little before the first match, at a word boundary."""
    start = max(0, anchor - width // 5)
    if start:
        space = text.rfind(" ", 0, start + 1)
        if space < 0:
            start = 0  # within the text's first word
        elif anchor - space < width // 2:
            start = space + 1
    return start


def _end(text: str, start: int, width: int) -> int:
    """About `width` characters on, at a word boundary."""
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return end


def _assemble(text: str, ranges: list[tuple[int, int]], spans: list[Span]) -> list[Segment]:
    """The fragments' text with their marks, joined by SEPARATOR, with an
    ellipsis where the text goes on before the first or after the last."""
    segments: list[Segment] = []
    if ranges[0][0] > 0:
        segments.append(("… ", False))
    i = 0
    for n, (start, end) in enumerate(ranges):
        if n:
            segments.append((SEPARATOR, False))
        pos = start
        while i < len(spans) and spans[i][0] < start:
            i += 1
        while i < len(spans) and spans[i][1] <= end:
            s, e, _ = spans[i]
            if s > pos:
                segments.append((text[pos:s], False))
            segments.append((text[s:e], True))
            pos = e
            i += 1
        segments.append((text[pos:end], False))
    if ranges[-1][1] < len(text):
        segments.append((" …", False))
    return [(_squash(t), m) for t, m in segments if t]


def _squash(text: str) -> str:
    """Paragraph breaks and runs of spaces become one space in a snippet."""
    squashed = " ".join(text.split())
    if text[:1].isspace():
        squashed = " " + squashed
    if text[-1:].isspace() and squashed != " ":
        squashed += " "
    return squashed


def to_html(segments: list[Segment]) -> str:
    """Escaped HTML with <mark> around matches: article text can't inject markup."""
    return "".join(f"<mark>{escape(t)}</mark>" if m else escape(t) for t, m in segments)


def to_plain(segments: list[Segment]) -> str:
    return "".join(t for t, _ in segments)
