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

`boost_windows` is the arithmetic, a pure function over (key, score, day)
triples shared by both backends; `rerank` feeds it the whoosh index's date
column, search.pg.searching the `date` column of the fetched rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date
from typing import TypeVar

from whoosh.searching import Searcher

WINDOW = 100
# whoosh's DATETIME column holds microseconds since datetime.min; an
# article without a date holds the column's default, the largest value.
DAY = 86_400 * 1_000_000
NO_DATE = 2**64 - 1

Key = TypeVar("Key", bound=Hashable)
Ranked = list[tuple[int, float | None]]


def window_limit(wanted: int) -> int:
    """How many ranked documents to fetch so that the windows holding the
    first `wanted` places are complete."""
    return -(-wanted // WINDOW) * WINDOW


def day_number(day: date | None) -> float | None:
    """An article date as the day number `boost_windows` reads (None: undated)."""
    return float(day.toordinal()) if day is not None else None


def boost_windows(
    ranked: Sequence[tuple[Key, float | None, float | None]], weight: float, half_life_days: float
) -> list[tuple[Key, float | None]]:
    """`ranked` (best first), as (key, score, day) triples, rescored with the
    boost and reordered window by window; returns (key, score) pairs.

    `day` is the article's date as a number of days from any fixed origin
    (only differences count), None for an undated article; a None score
    (a date sort) is left as it is.
    """
    if weight <= 0 or not ranked:
        return [(key, score) for key, score, _ in ranked]
    out: list[tuple[Key, float | None]] = []
    for start in range(0, len(ranked), WINDOW):
        window = ranked[start : start + WINDOW]
        newest = max((day for _, _, day in window if day is not None), default=None)
        if newest is None:
            out += [(key, score) for key, score, _ in window]
            continue
        rescored = [(key, _boosted(score, day, newest, weight, half_life_days)) for key, score, day in window]
        # sorted() is stable: equal boosted scores keep the relevance order.
        out += sorted(rescored, key=lambda item: -(item[1] or 0.0))
    return out


def _boosted(
    score: float | None, day: float | None, newest: float, weight: float, half_life_days: float
) -> float | None:
    if day is None or score is None:
        return score
    return score * (1.0 + weight * 0.5 ** ((newest - day) / half_life_days))


def rerank(searcher: Searcher, ranked: Ranked, weight: float, half_life_days: float) -> Ranked:
    """`ranked` (whoosh document numbers, best first) rescored with the boost
    and reordered window by window."""
    if weight <= 0 or not ranked:
        return ranked
    dates = _dates(searcher, [d for d, _ in ranked])
    days = {d: None if v == NO_DATE else v / DAY for d, v in dates.items()}
    return boost_windows([(d, score, days[d]) for d, score in ranked], weight, half_life_days)


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
