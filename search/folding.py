"""Stories, not copies, in a list of results: each story (search.stories)
listed once, at the place of its best-ranked article, for both backends.

A backend ranks articles; folding keeps the first article of each story
and drops the later ones (they stay reachable as the hit's other sources).
A page of stories may need more ranked articles than a page of articles:
`fold_ranking` asks the backend for a deeper ranking until the folded list
reaches the page's last story or the matches run out. Copies are ~6% of
the dev corpus (1,239 of 19,902 articles in 599 stories): a first ranking
10 deeper than the page is nearly always enough; each further one is
as deep as the stories found so far foretell, and at least twice as deep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def fold(ranked: Sequence[Item], story_of: Callable[[Item], Hashable]) -> list[Item]:
    """`ranked` with only the first item of each story, in order."""
    seen: set[Hashable] = set()
    folded: list[Item] = []
    for item in ranked:
        story = story_of(item)
        if story not in seen:
            seen.add(story)
            folded.append(item)
    return folded


def fold_ranking(
    rank: Callable[[int], Sequence[Item]],
    stories_of: Callable[[Sequence[Item]], Callable[[Item], Hashable]],
    wanted: int,
    matches: int,
) -> list[Item]:
    """The folded ranking of at least `wanted` stories (all of them when the
    matches hold fewer): `rank(depth)` is the backend's first `depth`
    articles in order, `stories_of(ranked)` says the story of each.
    Ranks deeper, doubling, while the folded list is short and `matches`
    (the articles that match) are not all ranked."""
    # A little deeper than the page at once: ranking again from the top
    # cost the dev queries ~40% more at p95, ranking 10 more ~nothing.
    depth = wanted + max(10, wanted // 2)
    while True:
        ranked = rank(depth)
        folded = fold(ranked, stories_of(ranked))
        if len(folded) >= wanted or depth >= matches or len(ranked) < min(depth, matches):
            return folded
        # The stories per ranked article so far foretell the depth the page
        # needs (with a quarter more); at least double. When most stories
        # have five copies, a page of 10 needs one more ranking (20, then
        # 63 deep) where doubling needed two (20, 40, 80).
        needed = math.ceil(depth * wanted / max(1, len(folded)) * 1.25)
        depth = min(matches, max(depth * 2, needed))
