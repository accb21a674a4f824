"""The optional recency boost: at equal relevance, newer articles first.

Off by default (an archive search looks for an article of any age); asked
for per search (`Archive.search(recency=True)`, `query --recenti`, the
page's "recenti" box). An article's score is multiplied by

    1 + weight * 0.5 ** (age / half_life)

where the age is counted from the newest article being reordered, not
from today: among results from 2020 the articles of December 2020 are the
recent ones, and a stray article dated years later elsewhere in the
archive does not flatten everyone else's boost. An undated article gets
no boost.

The boost reorders the relevance ranking within fixed windows of WINDOW
places (a rescoring window, as Elasticsearch's rescore does): the work
stays bounded, an article never jumps over a whole window of better ones,
and pages cut from the same window always agree with each other.
"""

from __future__ import annotations

from whoosh.searching import Searcher

WINDOW = 100
# whoosh's DATETIME column holds microseconds since datetime.min; an
# article without a date holds the column's default, the largest value.
DAY = 86_400 * 1_000_000
NO_DATE = 2**64 - 1

Ranked = list[tuple[int, float | None]]


def window_limit(wanted: int) -> int:
    """How many ranked documents to fetch so that the windows holding the
    first `wanted` places are complete."""
    return -(-wanted // WINDOW) * WINDOW


def rerank(searcher: Searcher, ranked: Ranked, weight: float, half_life_days: float) -> Ranked:
    """`ranked` (best first) rescored with the boost and reordered window by window."""
    if weight <= 0 or not ranked:
        return ranked
    dates = _dates(searcher, [d for d, _ in ranked])
    half_life = half_life_days * DAY
    out: Ranked = []
    for start in range(0, len(ranked), WINDOW):
        window = ranked[start : start + WINDOW]
        newest = max((v for d, _ in window if (v := dates[d]) != NO_DATE), default=None)
        if newest is None:
            out += window
            continue

        def boosted(docnum: int, score: float | None, newest: int = newest) -> float | None:
            value = dates[docnum]
            if value == NO_DATE or score is None:
                return score
            return score * (1.0 + weight * 0.5 ** ((newest - value) / half_life))

        rescored = [(d, boosted(d, score)) for d, score in window]
        # sorted() is stable: equal boosted scores keep the relevance order.
        out += sorted(rescored, key=lambda item: -(item[1] or 0.0))
    return out


def _dates(searcher: Searcher, docnums: list[int]) -> dict[int, int]:
    """The date column's value of each document (NO_DATE: none)."""
    wanted = sorted(docnums)
    out: dict[int, int] = {}
    i = 0
    for sub, offset in searcher.leaf_searchers():
        end = offset + sub.doc_count_all()
        if i < len(wanted) and wanted[i] < end and sub.reader().has_column("date"):
            column = sub.reader().column_reader("date", translate=False)
            while i < len(wanted) and wanted[i] < end:
                out[wanted[i]] = column[wanted[i] - offset]
                i += 1
        while i < len(wanted) and wanted[i] < end:  # a segment without dates
            out[wanted[i]] = NO_DATE
            i += 1
    return out
