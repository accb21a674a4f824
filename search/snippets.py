"""Snippets and highlights that show the reader's original words.

The text is tokenized with the same tokenizer and normalisation as the
index, keeping character offsets; a token matches when its stem (or its
folded word, or a prefix) is among the query's. The marked spans are cut
from the original text, so `dell’Europa` shows as `dell’<mark>Europa</mark>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from html import escape

from .analysis import TOKEN_PATTERN, exact_analyzer, stemming_analyzer
from .queryparse import Highlight

# Only the start of very long articles is scanned for a snippet.
SCAN_CHARS = 40_000

Segment = tuple[str, bool]  # (text, is_match)

_EXACT = exact_analyzer()
_STEM = stemming_analyzer()


def match_spans(text: str, hl: Highlight, limit: int | None = None) -> Iterator[tuple[int, int, str]]:
    """(start, end, key) of every matching token; key groups equal terms.

    The tokens are the exact analyzer's (same words, same offsets); what a
    token's text yields is remembered on the highlight, since the same words
    come back article after article (a dict lookup per token)."""
    scan = text if limit is None else text[:limit]
    memo: dict[str, tuple[tuple[int, int, str], ...]] = hl.__dict__.setdefault("_spans", {})
    for match in TOKEN_PATTERN.finditer(scan):
        raw = match.group()
        found = memo.get(raw)
        if found is None:
            found = memo[raw] = tuple(_token_spans(raw, hl))
        if found:
            base = match.start()
            for start, end, key in found:
                yield base + start, base + end, key


@lru_cache(maxsize=200_000)
def _parts(raw: str) -> tuple[tuple[int, int, str, str | None], ...]:
    """What a token is made of, whatever the query: (start, end, word, stem)
    per part (a compound's parts and joined runs, longest first where they
    start together), the stem None for a stop word. Shared by all queries: a
    query's own memo starts empty, and most words of an article are common."""
    stems = {(s, e, offset): None if stopped else t for t, s, e, stopped, offset in _STEM.word_parts(raw)}
    return tuple(
        (start, end, word, stems.get((start, end, offset)))
        for word, start, end, _, offset in _EXACT.word_parts(raw)
    )


def _token_spans(raw: str, hl: Highlight) -> Iterator[tuple[int, int, str]]:
    """The matching parts of one token, offsets relative to its start; of
    overlapping ones (a compound and its parts), the first and longest."""
    covered = 0
    for start, end, word, stemmed in _parts(raw):
        if start < covered:
            continue
        if word in hl.words:
            key = word
        elif stemmed is not None and stemmed in hl.stems:
            key = stemmed
        elif hl.prefixes and word.startswith(hl.prefixes):
            key = word
        else:
            continue
        covered = end
        yield start, end, key


def highlight_all(text: str, hl: Highlight) -> list[Segment]:
    """The whole text as segments, every match marked (for article pages)."""
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


def snippet(text: str, hl: Highlight, width: int = 240) -> list[Segment]:
    """The passage of about `width` characters with the most distinct matches."""
    spans = list(match_spans(text, hl, SCAN_CHARS))
    if not spans:
        return _cut(text, 0, width, [])
    best_start, best_score = 0, (-1, 0)
    right = 0
    # Two-pointer sweep: windows starting at each match, scored by how
    # many distinct terms they hold, then how many matches.
    for left in range(len(spans)):
        while right < len(spans) and spans[right][1] - spans[left][0] <= width:
            right += 1
        window = spans[left:right]
        score = (len({k for _, _, k in window}), len(window))
        if score > best_score:
            best_score, best_start = score, left
    anchor = spans[best_start][0]
    # Start a little before the first match, at a word boundary.
    start = max(0, anchor - width // 5)
    if start:
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 and anchor - space < width // 2 else start
    return _cut(text, start, width, [s for s in spans if s[0] >= start])


def _cut(text: str, start: int, width: int, spans: list[tuple[int, int, str]]) -> list[Segment]:
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    segments: list[Segment] = []
    if start > 0:
        segments.append(("… ", False))
    pos = start
    for s, e, _ in spans:
        if e > end:
            break
        if s > pos:
            segments.append((text[pos:s], False))
        segments.append((text[s:e], True))
        pos = e
    segments.append((text[pos:end], False))
    if end < len(text):
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
