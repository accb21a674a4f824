"""The graded fallback's query: any of the word groups, more of them first.

When no article holds every word of a query, the articles holding some
of them are ranked by `GradedOr`: the sum of the scores of the word groups
a document holds (a group: one typed word with its stem, synonym and typo
alternatives), times the coordination factor (m / n) ** exponent for a
document holding m of the n groups (Lucene's classic "coord" with exponent
1). whoosh's own coordination (Or(scale=...), CoordMatcher) adds about
1/termcount² per extra matching *term*: some 0.02 against BM25 term scores
of 5-15, so an article with three of four words ranked below one with the
two rarer ones.

The factor depends on the number of groups held only, so the best score of
the documents holding a given set of groups is that set's bound times its
factor (search.whoosh_sqlite.ranking.topk prunes the partial matches with
it). search.whoosh_sqlite.ranking.scorer computes the same numbers with
numpy (`_Graded`); tests/test_fast_paths.py checks them against
`GradedMatcher`.
"""

from __future__ import annotations

from whoosh import query as wq
from whoosh.matching import Matcher, NullMatcher


def coord_factor(matched: int, total: int, exponent: float) -> float:
    """The weight of a document holding `matched` of `total` word groups."""
    if not exponent or total <= 0:
        return 1.0
    return (matched / total) ** exponent


class GradedOr(wq.Or):
    """Documents matching any of the subqueries (word groups), scored as
    the sum of the matching ones' scores times coord_factor."""

    def __init__(self, subqueries: list[wq.Query], boost: float = 1.0, exponent: float = 1.0) -> None:
        super().__init__(subqueries, boost=boost)
        self.exponent = exponent

    def __repr__(self) -> str:
        return f"GradedOr({self.subqueries!r}, boost={self.boost}, exponent={self.exponent})"

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.exponent == other.exponent  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.exponent)

    def apply(self, fn):  # noqa: ANN001, ANN201 (whoosh's signature)
        return GradedOr([fn(q) for q in self.subqueries], boost=self.boost, exponent=self.exponent)

    def normalize(self) -> wq.Query:
        # The groups stay as they are (not merged, nor deduplicated): their
        # number is the factor's denominator.
        subqueries = [q.normalize() for q in self.subqueries]
        if all(q is wq.NullQuery for q in subqueries):
            return wq.NullQuery
        return GradedOr(subqueries, boost=self.boost, exponent=self.exponent)

    def simplify(self, ixreader):  # noqa: ANN001, ANN201
        return GradedOr([q.simplify(ixreader) for q in self.subqueries], self.boost, self.exponent)

    def matcher(self, searcher, context=None) -> Matcher:  # noqa: ANN001
        if not self.subqueries:
            return NullMatcher()
        children = [q.matcher(searcher, context) for q in self.subqueries]
        return GradedMatcher(children, len(self.subqueries), self.exponent, self.boost)


class BestOf(wq.Or):
    """One word and its alternatives (synonyms, close spellings): documents
    matching any, scored as the best matching one (one word, one weight).
    whoosh's DisjunctionMax means the same but its binary matchers read a
    child positioned on another document; this scores only the current ones."""

    def __repr__(self) -> str:
        return f"BestOf({self.subqueries!r}, boost={self.boost})"

    def apply(self, fn):  # noqa: ANN001, ANN201 (whoosh's signature)
        return BestOf([fn(q) for q in self.subqueries], boost=self.boost)

    def normalize(self) -> wq.Query:
        subqueries = [q for q in (q.normalize() for q in self.subqueries) if q is not wq.NullQuery]
        if not subqueries:
            return wq.NullQuery
        if len(subqueries) == 1 and self.boost == 1.0:
            return subqueries[0]
        return BestOf(subqueries, boost=self.boost)

    def simplify(self, ixreader):  # noqa: ANN001, ANN201
        return BestOf([q.simplify(ixreader) for q in self.subqueries], boost=self.boost)

    def matcher(self, searcher, context=None) -> Matcher:  # noqa: ANN001
        children = [q.matcher(searcher, context) for q in self.subqueries]
        children = [c for c in children if c.is_active()]
        if not children:
            return NullMatcher()
        return GradedMatcher(children, len(children), 0.0, self.boost, best=True)


class GradedMatcher(Matcher):
    """A union of the groups' matchers that knows which of them match the
    current document (whoosh's binary tree of unions does not)."""

    def __init__(
        self, children: list[Matcher], total: int, exponent: float, boost: float = 1.0, best: bool = False
    ) -> None:
        self._children = children
        self._total = total
        self._exponent = exponent
        self._boost = boost
        # BestOf: the best matching child's score instead of the sum.
        self._best = best

    def _active(self) -> list[Matcher]:
        return [c for c in self._children if c.is_active()]

    def is_active(self) -> bool:
        return any(c.is_active() for c in self._children)

    def id(self) -> int:
        return min(c.id() for c in self._active())

    def _current(self) -> list[Matcher]:
        """The children positioned on the current document, in query order."""
        active = self._active()
        if not active:
            return []
        current = min(c.id() for c in active)
        return [c for c in active if c.id() == current]

    def next(self) -> None:
        for c in self._current():
            c.next()

    def skip_to(self, id: int) -> None:  # noqa: A002 (whoosh's name)
        for c in self._active():
            if c.id() < id:
                c.skip_to(id)

    def score(self) -> float:
        current = self._current()
        scores = [c.score() for c in current]
        total = max(scores, default=0.0) if self._best else sum(scores)
        return total * self._boost * coord_factor(len(current), self._total, self._exponent)

    def children(self) -> list[Matcher]:
        return list(self._children)

    def copy(self) -> GradedMatcher:
        children = [c.copy() for c in self._children]
        return GradedMatcher(children, self._total, self._exponent, self._boost, self._best)

    def reset(self) -> None:
        for c in self._children:
            c.reset()

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self._children), default=0)

    def supports(self, astype: str) -> bool:
        return all(c.supports(astype) for c in self._children)

    def value(self):  # noqa: ANN201
        raise NotImplementedError("GradedMatcher has no single posting value")

    def value_as(self, astype: str):  # noqa: ANN201
        raise NotImplementedError("GradedMatcher has no single posting value")

    def spans(self) -> list:
        return sorted({s for c in self._current() for s in c.spans()})


def loose_groups(loose: wq.Query) -> list[wq.Query]:
    """The word groups of the graded fallback query (see QueryBuilder.loosen);
    none for another shape."""
    if isinstance(loose, wq.AndNot):
        loose = loose.a
    return list(loose.subqueries) if isinstance(loose, GradedOr) else []
