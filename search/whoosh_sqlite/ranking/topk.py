"""Top-k ranking on top of document bitmaps: score only what can reach the page.

The matching documents are known in advance as bitmaps (search.whoosh_sqlite.ranking.docsets), so
only chosen documents are scored, by search.whoosh_sqlite.ranking.scorer (whoosh's BM25F computed
from the posting arrays) or, for other query shapes, by whoosh's matchers
skipping to each one:

- all-terms matches: up to SCORE_EACH are all scored (the exact top k);
  past that, only those in the champion lists of the query's terms (the
  CHAMPIONS documents where each term weighs most), the classic bound on
  the work of a common-word query;
- partial matches (the graded fallback): documents are bucketed by which
  query words they hold; a bucket's best possible score is the sum of its
  words' maximum scores (whoosh's max_quality, an upper bound of BM25)
  times the coordination factor of its number of words (search.graded), so
  buckets are scored best bound first and the walk stops when no remaining
  bucket can beat the k-th score found. Past PARTIAL_BUDGET scored
  documents, big buckets offer only their champions.

The work of a query is thus bounded by constants, not by the archive's size.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np
from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import Searcher

from ...budget import TimeUp, clock
from ...graded import coord_factor, loose_groups
from ...recency import NO_DATE
from .docsets import DocSets, from_ids, member_array
from .scorer import QueryScorer, Unsupported, champions, query_terms

# Up to this many candidates are all scored; above it only the champions
# of the query's terms among them (see scorer.champions), so the work of a
# query stays bounded whatever the size of the archive.
SCORE_EACH = 3_000
CHAMPIONS = 400
# Partial matches scored in full per query; past it buckets offer their champions.
PARTIAL_BUDGET = 2_000
# Partial matches are bucketed by which words they hold: 2^words buckets.
MAX_BUCKET_WORDS = 10
# Buckets scored in full are scored together up to this many documents:
# a pass over the compiled query costs ~40 µs per term whatever the number
# of documents, and a 6-word query has ~57 buckets, most of a few documents.
BATCH_DOCS = 1024


Ranked = list[tuple[int, float]]  # (docnum, score), best first


def docsets_for(searcher: Searcher) -> DocSets:
    """The DocSets of a searcher, made once (searchers are reused across requests)."""
    found = getattr(searcher, "_archivio_docsets", None)
    if found is None:
        found = DocSets(searcher)
        searcher._archivio_docsets = found  # type: ignore[attr-defined]
    return found


def top_by_date(ds: DocSets, bits: int, newest: bool, k: int) -> list[tuple[int, None]]:
    """The first `k` documents of `bits` by date (newest or oldest first),
    undated ones last, ties by document number: numpy over the members,
    so the cost is one pass over them, with no deadline to run out."""
    if k <= 0 or not bits:
        return []
    docnums = member_array(bits)
    dates = ds.dates()[docnums]
    if newest:
        # Undated documents hold NO_DATE, the largest value: last when newest first too.
        key = np.where(dates == NO_DATE, np.uint64(0), np.uint64(NO_DATE) - dates)
        key = np.where(dates == NO_DATE, np.uint64(NO_DATE), key)
    else:
        key = dates
    if len(key) > k:
        # Everything up to the k-th key (ties included), then sorted exactly.
        keep = key <= np.partition(key, k - 1)[k - 1]
        docnums, key = docnums[keep], key[keep]
    order = np.lexsort((docnums, key))[:k]
    return [(d, None) for d in docnums[order].tolist()]


def score_docs(searcher: Searcher, q: wq.Query, docnums: Sequence[int], deadline: float | None) -> Ranked:
    """whoosh's score of `q` for each of `docnums` (ascending) that it matches."""
    context = searcher.context(needs_current=True)
    out: Ranked = []
    i = 0
    for sub, offset in searcher.leaf_searchers():
        end = offset + sub.doc_count_all()
        start = i
        while i < len(docnums) and docnums[i] < end:
            i += 1
        if start == i:
            continue
        m = q.matcher(sub, context)
        for k, docnum in enumerate(docnums[start:i]):
            if deadline is not None and not k & 63 and clock() > deadline:
                raise TimeUp
            if not m.is_active():
                break
            local = docnum - offset
            if m.id() < local:
                m.skip_to(local)
                if not m.is_active():
                    break
            if m.id() == local:
                out.append((docnum, m.score()))
    return out


def best(ranked: Ranked, k: int) -> Ranked:
    """The k best, ties broken by document number as whoosh does."""
    return heapq.nsmallest(k, ranked, key=lambda p: (-p[1], p[0]))


def best_of(docnums: np.ndarray, scores: np.ndarray, k: int) -> Ranked:
    """best() for arrays of (ascending) document numbers and their scores."""
    if len(scores) > k:
        keep = scores >= np.partition(scores, len(scores) - k)[len(scores) - k]
        docnums, scores = docnums[keep], scores[keep]
    order = np.lexsort((docnums, -scores))[:k]
    return list(zip(docnums[order].tolist(), scores[order].tolist(), strict=True))


def top_scored(
    searcher: Searcher,
    ds: DocSets,
    q: wq.Query,
    bits: int,
    k: int,
    deadline: float | None,
    each: int = SCORE_EACH,
    must_fill: bool = True,
    scorer: QueryScorer | None = None,
) -> Ranked:
    """The k best documents of `bits` (all matching `q`) by the score of `q`:
    all of them scored when they are at most `each`, else the champions of
    the query's terms among them. When those are fewer than k and
    `must_fill`, whoosh's collector ranks the whole set instead. `scorer`:
    `q`'s QueryScorer, when the caller made it already."""
    if k <= 0 or not bits:
        return []
    if bits.bit_count() <= each:
        return ranked_best(searcher, q, bits, k, deadline, scorer)
    chosen = bits & champion_bits(searcher, ds, q, deadline)
    if chosen.bit_count() >= k or not must_fill:
        return ranked_best(searcher, q, chosen, k, deadline, scorer)
    return _collect(searcher, ds, q, bits, k, deadline)


def champion_bits(searcher: Searcher, ds: DocSets, q: wq.Query, deadline: float | None = None) -> int:
    """The documents in the champion list of any term of `q`. Under the
    search's deadline: a term's list is computed once (then cached) from its
    whole postings, and four prefixes expand to ~600 terms (0.3 s cold on the
    dev corpus)."""
    bits = 0
    for fieldname, text in set(query_terms(q)):
        if deadline is not None and clock() > deadline:
            raise TimeUp
        bits |= ds.shared(
            "champion-bits",
            (fieldname, text),
            lambda f=fieldname, t=text: from_ids(champions(searcher, f, t, CHAMPIONS), ds.nbits),
        )
    return bits


def ranked_best(
    searcher: Searcher,
    q: wq.Query,
    bits: int,
    k: int,
    deadline: float | None,
    scorer: QueryScorer | None = None,
) -> Ranked:
    """The k best of `bits` by the score of `q`: computed from the postings
    when the query's shape allows it (search.whoosh_sqlite.ranking.scorer,
    `scorer` when given), else by whoosh's matchers."""
    docnums = member_array(bits)
    if scorer is None:
        scorer = prepared_scorer(searcher, q)
    if scorer is None:
        return best(score_docs(searcher, q, docnums.tolist(), deadline), k)
    return best_of(*scorer.scores(docnums, deadline), k)


def prepared_scorer(searcher: Searcher, q: wq.Query) -> QueryScorer | None:
    """`q` compiled for scoring from the postings; None when its shape needs whoosh's matchers."""
    try:
        return QueryScorer(searcher, q)
    except Unsupported:
        return None


def _collect(
    searcher: Searcher, ds: DocSets, q: wq.Query, bits: int, k: int, deadline: float | None
) -> Ranked:
    """whoosh's top-k collector, restricted to `bits`."""
    collector: collectors.Collector = searcher.collector(limit=k, terms=False)
    if deadline is not None:
        collector = Deadline(collector, deadline)
    collector = collectors.FilterCollector(collector, ds.filter(bits))
    searcher.search_with_collector(q, collector)
    return [(hit.docnum, hit.score) for hit in collector.results()]


class Deadline(collectors.WrappingCollector):
    """Stops collecting once the clock passes `deadline` (see `clock`)."""

    def __init__(self, child: collectors.Collector, deadline: float) -> None:
        super().__init__(child)
        self.deadline = deadline

    def matches(self):
        deadline = self.deadline
        for n, docnum in enumerate(self.child.matches()):
            if not n & 63 and clock() > deadline:
                raise TimeUp
            yield docnum


def top_partial(
    searcher: Searcher,
    ds: DocSets,
    q: wq.Query,
    bits: int,
    k: int,
    deadline: float | None,
) -> Ranked:
    """The k best of `bits` (documents holding some, not all, of the words)
    by the score of the fallback query `q` (a GradedOr, possibly without
    some words, possibly with an optional proximity bonus), best-bound
    buckets first."""
    if k <= 0 or not bits:
        return []
    optional = q.b if isinstance(q, wq.AndMaybe) else None
    graded = q.a if optional is not None else q
    groups = loose_groups(graded)
    if bits.bit_count() <= SCORE_EACH or not groups or len(groups) > MAX_BUCKET_WORDS:
        return top_scored(searcher, ds, q, bits, k, deadline)
    loose = graded.a if isinstance(graded, wq.AndNot) else graded
    group_bits = [ds.query(g) & bits for g in groups]
    bounds = [_max_score(searcher, g) for g in groups]
    # The proximity bonus, when there is one, adds at most its own bound.
    extra = _max_score(searcher, optional) if optional is not None else 0.0
    buckets: list[tuple[float, int]] = []

    def split(i: int, inside: int, bound: float, words: int) -> None:
        if not inside:
            return
        if i == len(groups):
            if words:
                # Every document of the bucket holds `words` groups: the
                # factor is the same for all of them, so this bound is exact.
                factor = coord_factor(words, len(groups), loose.exponent)
                buckets.append((bound * loose.boost * factor + extra, inside))
            return
        split(i + 1, inside & group_bits[i], bound + bounds[i], words + 1)
        split(i + 1, inside & ~group_bits[i], bound, words)

    split(0, bits, 0.0, 0)
    buckets.sort(key=lambda b: -b[0])
    # One compiled query for every bucket (a 6-word query has ~57 buckets;
    # compiling it per bucket was 16% of such a search's profile).
    scorer = prepared_scorer(searcher, q)
    found: Ranked = []
    threshold = float("-inf")
    spent = 0
    i = 0
    while i < len(buckets):
        bound, inside = buckets[i]
        if len(found) >= k and bound < threshold:
            break  # nothing left can beat the k-th score
        size = inside.bit_count()
        if len(found) < k and spent + size > PARTIAL_BUDGET:
            # Past the budget a bucket offers only its champions, or all of
            # it when they can't fill the page (top_scored decides).
            spent += size
            i += 1
            ranked = top_scored(searcher, ds, q, inside, k, deadline, each=0, scorer=scorer)
        else:
            # Consecutive buckets are scored together, up to BATCH_DOCS
            # documents a pass (a pass costs ~40 µs per term, whatever its
            # size): all of a bucket within the budget, its champions past
            # it. Scoring buckets the walk would have stopped before changes
            # nothing: their scores are at most their bounds, below the k-th.
            batch, batched = 0, 0
            while i < len(buckets) and (not batched or batched < BATCH_DOCS):
                inside = buckets[i][1]
                size = inside.bit_count()
                if spent + size > PARTIAL_BUDGET:
                    if len(found) < k:
                        break  # this one may have to fill the page: on its own
                    inside &= champion_bits(searcher, ds, q, deadline)
                spent += size
                batch |= inside
                batched += inside.bit_count() or 1
                i += 1
            ranked = ranked_best(searcher, q, batch, k, deadline, scorer) if batch else []
        found = best(found + ranked, k)
        if len(found) >= k:
            threshold = found[-1][1]
    return found


def _max_score(searcher: Searcher, q: wq.Query) -> float:
    """An upper bound of the score `q` can give a document: from its terms'
    statistics (search.whoosh_sqlite.ranking.scorer), else whoosh's max_quality."""
    try:
        return QueryScorer(searcher, q).bound()
    except Unsupported:
        pass
    context = searcher.context(needs_current=True)
    bound = 0.0
    for sub, _ in searcher.leaf_searchers():
        m = q.matcher(sub, context)
        if m.is_active():
            bound = max(bound, m.max_quality())
    return bound
