"""whoosh's scores for chosen documents, without walking matcher trees.

To score one document whoosh skips every matcher of the query tree to it,
stepping through posting blocks in Python: about 100-200 µs per document for
a query with synonyms. When the candidates are known (ranking.docsets), the
same numbers can be computed from the posting data directly: each term's
BM25F score (whoosh's own formula) for a whole array of candidates at once
(numpy), from its posting arrays and the field lengths (both cached per
segment, in segcache), then combined as whoosh's
matchers combine them (sum for AND/OR, search.graded's coordination for
the graded fallback, constant 1 for a NOT). Each term's statistics give the upper
bound of its score that ranking.topk prunes with.

`QueryScorer` compiles the query shapes the engine builds (terms, phrases,
And, Or, the graded fallback's GradedOr, AndNot, AndMaybe, Not); any other
shape raises Unsupported and the caller uses whoosh's matchers instead.
tests/test_fast_paths.py checks the scores against whoosh's.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq
from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from ...budget import TimeUp, clock
from ...graded import BestOf, GradedOr, coord_factor
from ..postingblocks import postings
from ..segcache import cache
from .phrases import term_positions

# whoosh's field length for each one-byte code.
_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
# Documents scored per step: the deadline is checked between steps.
CHUNK = 8_192
# A term with at most this many postings per document scored finds them
# through the batch's map of places rather than by binary search.
GATHER_BELOW = 4


class Unsupported(Exception):
    """A query shape the fast scorer does not reproduce."""


# -- per-segment data, cached (in segcache, shared with ranking.docsets) -------------------


def field_lengths(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """The one-byte length code of `fieldname` in every document of a segment
    (whoosh's scorer sees the length _LENGTH[code])."""
    key = ("lengths", reader.segment().segment_id(), fieldname)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    n = reader.doc_count_all()
    try:
        # whoosh keeps one byte per document in a column; read it in one go.
        col = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        data = b"" if col is None else col._dbfile.get(col._basepos, col._count)
        data = bytes(data) + bytes(n - len(data))
    except AttributeError:  # another codec: one document at a time
        from whoosh.util.numeric import length_to_byte

        data = bytes(length_to_byte(reader.doc_field_length(d, fieldname, 0) or 0) for d in range(n))
    codes = np.frombuffer(data, dtype=np.uint8)
    cache.put(key, codes, n + 64, pinned=True)
    return codes


def bm25(idf: float, tf: np.ndarray, fl: np.ndarray, avgfl: float, B: float, K1: float) -> np.ndarray:
    """whoosh.scoring.bm25 over arrays, operation for operation (the same floats)."""
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))


# -- the compiled query ----------------------------------------------------------------------
#
# Each node scores a whole array of a segment's (local, ascending) document
# numbers at once: `score` gives (scores, matching term counts, hit mask),
# zeros where the node does not match, so that parents can simply add.
# Scores are computed for the documents asked about only: kept for every
# posting, they outgrew the segment cache at a million articles.

Scored = tuple[np.ndarray, np.ndarray, np.ndarray]  # float64 scores, int64 counts, bool hits


def _miss(docs: np.ndarray) -> Scored:
    n = len(docs)
    return np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)


class _Node:
    def score(self, seg: int, docs: np.ndarray) -> Scored:
        """(scores, matching term matchers, hits) for documents of segment `seg`."""
        raise NotImplementedError

    def terms(self, seg: int) -> int:
        """How many term matchers whoosh builds for this node in segment `seg`."""
        raise NotImplementedError

    def bound(self, seg: int) -> float:
        """An upper bound of the score this node gives a document of segment `seg`."""
        raise NotImplementedError


class _Term(_Node):
    def __init__(self, scorer: QueryScorer, fieldname: str, text: str, boost: float) -> None:
        searcher = scorer.searcher
        field = searcher.schema[fieldname]
        self.fieldname = fieldname
        self.btext = text if isinstance(text, bytes) else field.to_bytes(text)
        self.boost = boost
        self.leaves = scorer.leaves
        self.scorer = scorer
        # Per searcher: looking a term up in whoosh's dictionary reads its file.
        memo = searcher.__dict__.setdefault("_archivio_terms", {})
        found = memo.get((fieldname, self.btext))
        if found is None:
            if len(memo) > 5_000:
                memo.clear()
            present = [(fieldname, self.btext) in reader for reader, _ in self.leaves]
            stats = None
            if field.scorable:
                model = searcher.weighting
                stats = (
                    searcher.idf(fieldname, self.btext),
                    searcher.avg_field_length(fieldname) or 1,
                    model._field_B.get(fieldname, model.B),
                    model.K1,
                )
            found = memo[fieldname, self.btext] = (present, stats)
        self.present, self.stats = found
        if self.stats is not None:
            _, avgfl, B, K1 = self.stats
            norms = memo.get(("norms", fieldname))
            if norms is None:
                norms = memo["norms", fieldname] = K1 * ((1 - B) + B * _LENGTH / avgfl)
            self.norms = norms
        self._data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None] | None] = {}

    def data(self, seg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """(ids, weights, the field's length codes) of the term in a segment, or None.
        Kept on the node for its search: a batched ranking scores the same
        terms several times, and each cache lookup costs ~3 µs."""
        try:
            return self._data[seg]
        except KeyError:
            pass
        found = None
        if self.present[seg]:
            reader = self.leaves[seg][0]
            ids, weights = postings(reader, self.fieldname, self.btext)
            if len(ids):
                lengths = field_lengths(reader, self.fieldname) if self.stats is not None else None
                found = ids, weights, lengths
        self._data[seg] = found
        return found

    def _scores(self, weights: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
        """Unboosted scores for these weights and length codes (the same
        floats as whoosh's, computed only for the documents asked about)."""
        weights = weights.astype(np.float64)  # whoosh computes in double precision
        if self.stats is None:
            return weights
        idf, _, _, K1 = self.stats
        # bm25's length part for each of the 256 length codes, computed once:
        # element for element the same floats as bm25(), in one gather.
        return idf * ((weights * (K1 + 1)) / (weights + self.norms[codes]))

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        data = self.data(seg)
        if data is None:
            return _miss(docs)
        ids, weights, lengths = data
        # Which of `docs` the term holds (their places in `docs`, and in its
        # postings), by the cheaper lookup: a term with few postings looks
        # each one up in the batch's map of places (3-11 µs for 50-2,500
        # postings against 1,000 documents), a common one binary-searches
        # each document in its postings (12-34 µs for 50-30,000); the map
        # loses past ~5 postings a document (numpy 2.4, the 2-core machine).
        if len(ids) <= GATHER_BELOW * len(docs):
            places = self.scorer.places(seg, docs)[ids]
            post = np.flatnonzero(places >= 0)
            found = places[post]
        else:
            at = ids.searchsorted(docs)
            np.minimum(at, len(ids) - 1, out=at)
            found = np.flatnonzero(ids[at] == docs)
            post = at[found]
        if not len(found):  # most terms miss most of a partial-match bucket
            return _miss(docs)
        # Scores only where the term is found: the same floats, element for element.
        scores = np.zeros(len(docs))
        codes = None if lengths is None else lengths[docs[found]]
        scores[found] = self._scores(weights[post], codes) * self.boost
        hits = np.zeros(len(docs), dtype=bool)
        hits[found] = True
        return scores, hits.astype(np.int64), hits

    def terms(self, seg: int) -> int:
        return 1 if self.present[seg] else 0

    def bound(self, seg: int) -> float:
        if not self.present[seg]:
            return 0.0
        reader = self.leaves[seg][0]
        # From the term's statistics (its highest weight, its shortest field), as
        # whoosh's max_quality, without reading the postings: for a common word
        # at a million articles they would push the rest out of the cache.
        key = ("bound", reader.segment().segment_id(), self.fieldname, self.btext, self.stats)
        best = cache.get(key)
        if best is None:
            info = reader.term_info(self.fieldname, self.btext)
            best = info.max_weight()
            if self.stats is not None:
                idf, avgfl, B, K1 = self.stats
                best = scoring.bm25(idf, best, info.min_length(), avgfl, B, K1)
            cache.put(key, best, 128)
        return best * self.boost  # type: ignore[operator]


class _Phrase(_Node):
    """whoosh scores a phrase as the sum of its words' scores where it matches."""

    def __init__(self, scorer: QueryScorer, q: wq.Phrase) -> None:
        self.q = q
        self.scorer = scorer
        self.words = [_Term(scorer, q.fieldname, w, 1.0) for w in q.words]
        self.matchers: dict[int, object] = {}
        # The last document each segment's matcher was asked about: it only
        # moves forward, and a scorer reused for another set of documents
        # (top_partial's buckets) starts again from an earlier one.
        self.asked: dict[int, int] = {}

    def _matches(self, seg: int, doc: int) -> bool:
        if self.q.slop == 1:
            return self._adjacent(seg, doc)
        m = self.matchers.get(seg)
        if m is None or self.asked.get(seg, -1) > doc:
            sub = self.scorer.subsearchers[seg]
            m = self.matchers[seg] = self.q.matcher(sub, sub.boolean_context())
        self.asked[seg] = doc
        if not m.is_active():
            return False
        if m.id() < doc:
            m.skip_to(doc)
            if not m.is_active():
                return False
        return m.id() == doc

    def _adjacent(self, seg: int, doc: int) -> bool:
        """An exact phrase: the words at consecutive positions, read from the
        postings' position lists (whoosh's span matcher costs ~100 µs a check)."""
        reader, _ = self.scorer.leaves[seg]
        fmt = reader.schema[self.q.fieldname].format
        starts: set[int] | None = None
        for i, w in enumerate(self.words):
            ids, values = term_positions(reader, self.q.fieldname, w.btext)
            at = fmt.decode_positions(values[int(np.searchsorted(ids, doc))])
            shifted = {p - i for p in at}
            starts = shifted if starts is None else starts & shifted
            if not starts:
                return False
        return True

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        total, _, hits = self.words[0].score(seg, docs)
        for w in self.words[1:]:
            scores, _, found = w.score(seg, docs)
            total = total + scores
            hits &= found
        # Positions are checked only where every word occurs, in ascending order
        # (whoosh's matcher for a sloppy phrase only moves forward).
        for i in np.flatnonzero(hits):
            if not self._matches(seg, int(docs[i])):
                hits[i] = False
        total = np.where(hits, total * self.q.boost, 0.0)
        return total, hits * len(self.words), hits

    def terms(self, seg: int) -> int:
        return len(self.words) if all(w.present[seg] for w in self.words) else 0

    def bound(self, seg: int) -> float:
        return sum(w.bound(seg) for w in self.words) * self.q.boost


class _Sum(_Node):
    """OR: the sum over the children that match (whoosh's UnionMatcher)."""

    # How two children's scores (and score bounds) combine.
    combine = staticmethod(np.add)
    combine_bounds = staticmethod(sum)

    def __init__(self, children: list[_Node], boost: float) -> None:
        self.children = children
        self.boost = boost

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        total, count, hits = self.children[0].score(seg, docs)
        for c in self.children[1:]:
            scores, counts, found = c.score(seg, docs)
            total = self.combine(total, scores)
            count = count + counts
            hits = hits | found
        return total * self.boost, count, hits

    def terms(self, seg: int) -> int:
        return sum(c.terms(seg) for c in self.children)

    def bound(self, seg: int) -> float:
        return self.combine_bounds(c.bound(seg) for c in self.children) * self.boost


class _Max(_Sum):
    """search.graded.BestOf: the best of the children that match (one
    word's alternatives weigh as one word)."""

    combine = staticmethod(np.maximum)
    combine_bounds = staticmethod(max)


class _Graded(_Node):
    """search.graded.GradedOr: the sum of the matching word groups' scores
    times the coordination factor of how many of them match."""

    def __init__(self, children: list[_Node], boost: float, exponent: float) -> None:
        self.children = children
        self.boost = boost
        self.exponent = exponent

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        total, count, hits = self.children[0].score(seg, docs)
        groups = hits.astype(np.int64)
        for c in self.children[1:]:
            scores, counts, found = c.score(seg, docs)
            total = total + scores
            count = count + counts
            groups = groups + found
            hits = hits | found
        n = len(self.children)
        factor = np.array([coord_factor(m, n, self.exponent) for m in range(n + 1)])
        return np.where(hits, total * self.boost * factor[groups], 0.0), count, hits

    def terms(self, seg: int) -> int:
        return sum(c.terms(seg) for c in self.children)

    def bound(self, seg: int) -> float:
        return sum(c.bound(seg) for c in self.children) * self.boost  # the factor is at most 1


class _All(_Node):
    """AND: every child matches; the sum of their scores (a NOT child adds 1)."""

    def __init__(self, children: list[_Node], negatives: int, boost: float) -> None:
        self.children = children
        self.negatives = negatives
        self.boost = boost

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        total, count, hits = self.children[0].score(seg, docs)
        total = total + float(self.negatives)  # whoosh starts from the NOT children's 1s
        for c in self.children[1:]:
            scores, counts, found = c.score(seg, docs)
            total = total + scores
            count = count + counts
            hits = hits & found
        return np.where(hits, total * self.boost, 0.0), np.where(hits, count, 0), hits

    def terms(self, seg: int) -> int:
        return sum(c.terms(seg) for c in self.children)

    def bound(self, seg: int) -> float:
        return (self.negatives + sum(c.bound(seg) for c in self.children)) * self.boost


class _Maybe(_Node):
    """AndMaybe: the first child's score, plus the second's where it matches."""

    def __init__(self, a: _Node, b: _Node) -> None:
        self.a, self.b = a, b

    def score(self, seg: int, docs: np.ndarray) -> Scored:
        scores, counts, hits = self.a.score(seg, docs)
        extra, more, _ = self.b.score(seg, docs)
        return np.where(hits, scores + extra, 0.0), np.where(hits, counts + more, 0), hits

    def terms(self, seg: int) -> int:
        return self.a.terms(seg) + self.b.terms(seg)

    def bound(self, seg: int) -> float:
        return self.a.bound(seg) + self.b.bound(seg)


def champions(searcher: Searcher, fieldname: str, text: str, n: int) -> list[int]:
    """The n documents where a term weighs most (its BM25, up to the constant
    idf), global document numbers, ascending: the term's "champion list".

    Ranking a huge candidate set (every article with a common word) only
    among the champions of its words is the classic approximation that
    bounds the work; computed once per term, then cached."""
    leaves = [(sub.reader(), offset) for sub, offset in searcher.leaf_searchers()]
    field = searcher.schema[fieldname]
    btext = text if isinstance(text, bytes) else field.to_bytes(text)
    key = ("champions", tuple(r.segment().segment_id() for r, _ in leaves), fieldname, btext, n)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    model = searcher.weighting
    B = model._field_B.get(fieldname, model.B) if isinstance(model, scoring.BM25F) else 0.75
    K1 = model.K1 if isinstance(model, scoring.BM25F) else 1.2
    avgfl = searcher.avg_field_length(fieldname) or 1
    docs, weights = [], []
    for reader, offset in leaves:
        if (fieldname, btext) not in reader:
            continue
        ids, tf = postings(reader, fieldname, btext)
        tf = tf.astype(np.float64)
        if field.scorable:
            lengths = _LENGTH[field_lengths(reader, fieldname)[ids]]
            tf = tf / (tf + (K1 * (1 - B) + K1 * B / avgfl * lengths))
        docs.append(ids.astype(np.int64) + offset)
        weights.append(tf)
    if not docs:
        return []
    docnums, weight = np.concatenate(docs), np.concatenate(weights)
    if len(weight) > n:
        keep = weight >= np.partition(weight, len(weight) - n)[len(weight) - n]
        docnums, weight = docnums[keep], weight[keep]
    # Heaviest first; among equals the later document, as before.
    order = np.lexsort((-docnums, -weight))[:n]
    top = sorted(docnums[order].tolist())
    cache.put(key, top, 40 * len(top) + 64)
    return top


def query_terms(q: wq.Query) -> list[tuple[str, str]]:
    """The (field, text) of every term a query scores, phrase words included."""
    if isinstance(q, wq.Term):
        return [(q.fieldname, q.text)]
    if type(q) is wq.Phrase:
        return [(q.fieldname, w) for w in q.words]
    if isinstance(q, wq.Not):
        return []
    out: list[tuple[str, str]] = []
    for child in q.children():
        out += query_terms(child)
    return out


class QueryScorer:
    """Scores of `q` (as whoosh's matchers with the searcher's BM25F would
    give them) for documents known to match it."""

    def __init__(self, searcher: Searcher, q: wq.Query) -> None:
        if type(searcher.weighting) is not scoring.BM25F:
            raise Unsupported("weighting")
        self.searcher = searcher
        leaf = searcher.leaf_searchers()
        self.subsearchers = [sub for sub, _ in leaf]
        self.leaves = [(sub.reader(), offset) for sub, offset in leaf]
        self.ends = [offset + reader.doc_count_all() for reader, offset in self.leaves]
        self.root = self._compile(q)
        # Per segment: each document's place in the batch being scored, -1
        # for the others (a reused buffer, reset after each batch).
        self._places: dict[int, np.ndarray] = {}
        self._placed: dict[int, np.ndarray] = {}

    def places(self, seg: int, docs: np.ndarray) -> np.ndarray:
        """The segment's map of document -> its place in `docs` (-1: absent),
        for the batch being scored."""
        if self._placed.get(seg) is not docs:
            where = self._places.get(seg)
            if where is None:
                where = self._places[seg] = np.full(self.leaves[seg][0].doc_count_all(), -1, dtype=np.int32)
            else:
                where[self._placed[seg]] = -1
            where[docs] = np.arange(len(docs), dtype=np.int32)
            self._placed[seg] = docs
        return self._places[seg]

    def _compile(self, q: wq.Query) -> _Node:
        if isinstance(q, wq.Term):
            return _Term(self, q.fieldname, q.text, q.boost)
        if type(q) is wq.Phrase:
            return _Phrase(self, q)
        if isinstance(q, GradedOr):
            return _Graded([self._compile(s) for s in q.subqueries], q.boost, q.exponent)
        if isinstance(q, BestOf):
            return _Max([self._compile(s) for s in q.subqueries], q.boost)
        if isinstance(q, wq.Or) and type(q) is not wq.DisjunctionMax:
            if q.scale:
                raise Unsupported("whoosh's coordination (Or with a scale)")
            if len(q.subqueries) == 1:
                return self._compile(q.subqueries[0])  # whoosh drops the wrapper too
            return _Sum([self._compile(s) for s in q.subqueries], q.boost)
        if type(q) is wq.And:
            positive = [s for s in q.subqueries if not isinstance(s, wq.Not)]
            if len(q.subqueries) == 1:
                return self._compile(q.subqueries[0])
            negatives = len(q.subqueries) - len(positive)
            return _All([self._compile(s) for s in positive], negatives, q.boost)
        if type(q) is wq.AndNot:
            return self._compile(q.a)
        if type(q) is wq.AndMaybe:
            return _Maybe(self._compile(q.a), self._compile(q.b))
        raise Unsupported(type(q).__name__)

    def scores(self, docnums: np.ndarray, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, scores) of those of `docnums` (ascending) that `q` matches.
        Raises budget.TimeUp once budget.clock passes `deadline`."""
        found_docs, found_scores = [], []
        segment_ends = np.searchsorted(docnums, self.ends)
        start = 0
        for seg, end in enumerate(segment_ends):
            for lo in range(start, end, CHUNK):
                if deadline is not None and clock() > deadline:
                    raise TimeUp
                docs = docnums[lo : min(end, lo + CHUNK)]
                scores, _, hits = self.root.score(seg, (docs - self.leaves[seg][1]).astype(np.uint32))
                found_docs.append(docs[hits])
                found_scores.append(scores[hits])
            start = end
        if not found_docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(found_docs), np.concatenate(found_scores)

    def bound(self) -> float:
        """An upper bound of the score the query gives any document: each
        term's bound (see _Term.bound), summed up the tree."""
        return max((self.root.bound(seg) for seg in range(len(self.leaves))), default=0.0)
