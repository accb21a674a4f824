"""whoosh's scores for chosen documents, without walking matcher trees.

To score one document whoosh skips every matcher of the query tree to it,
stepping through posting blocks in Python: about 100-200 µs per document for
a query with synonyms. When the candidates are known (search.docsets), the
same numbers can be computed per term from the posting data directly: the
term's weight in the document (a binary search in its cached posting array)
and the document's field length (a cached byte array), put through whoosh's
own BM25F formula, then combined as whoosh's matchers combine them (sum for
AND/OR, coordination for the graded fallback, constant 1 for a NOT).

`QueryScorer` compiles the query shapes the engine builds (terms, phrases,
And, Or with or without coordination, AndNot, AndMaybe, Not); any other
shape raises Unsupported and the caller uses whoosh's matchers instead.
tests/test_scorer.py checks the scores against whoosh's.
"""

from __future__ import annotations

import heapq
import time
from array import array
from bisect import bisect_left
from collections.abc import Sequence

from whoosh import query as wq
from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import wrappers
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from .docsets import cache

_LENGTH = [byte_to_length(b) for b in range(256)]


class Unsupported(Exception):
    """A query shape the fast scorer does not reproduce."""


# -- per-segment data, cached (shared with search.docsets' cache) ------------------------------


def postings(reader: SegmentReader, fieldname: str, btext: bytes) -> tuple[array, array]:
    """(ids, weights) of a term in a segment, deleted documents included."""
    key = ("postings", reader.segment().segment_id(), fieldname, btext)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    ids, weights = array("I"), array("d")
    try:
        m = reader.postings(fieldname, btext)
    except TermNotFound:
        m = None
    if isinstance(m, wrappers.FilterMatcher):
        m = m.child
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids)
            weights.extend(list(m._weights))
            m._next_block()
    elif m is not None:
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
    cache.put(key, (ids, weights), 12 * len(ids) + 128)
    return ids, weights


def positions(reader: SegmentReader, fieldname: str, btext: bytes) -> list[bytes]:
    """The encoded positions of a term's postings in a segment, aligned with
    postings(): read for the words of exact phrases."""
    key = ("positions", reader.segment().segment_id(), fieldname, btext)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    values: list[bytes] = []
    m = reader.postings(fieldname, btext)
    if isinstance(m, wrappers.FilterMatcher):
        m = m.child
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m._read_values()
            values.extend(m._values)
            m._next_block()
    else:
        while m.is_active():
            values.append(m.value())
            m.next()
    cache.put(key, values, sum(len(v) + 40 for v in values) + 64)
    return values


def length_codes(reader: SegmentReader, fieldname: str) -> bytes:
    """The byte-coded length of `fieldname` in every document of a segment."""
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
    cache.put(key, data, n + 64)
    return data


# -- the compiled query ----------------------------------------------------------------------


class _Node:
    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        """(score, matching term matchers) for a document of segment `seg`, or None."""
        raise NotImplementedError

    def terms(self, seg: int) -> int:
        """How many term matchers whoosh builds for this node in segment `seg`."""
        raise NotImplementedError


class _Term(_Node):
    def __init__(self, scorer: QueryScorer, fieldname: str, text: str, boost: float) -> None:
        searcher = scorer.searcher
        field = searcher.schema[fieldname]
        self.btext = text if isinstance(text, bytes) else field.to_bytes(text)
        self.boost = boost
        self.scorable = field.scorable
        # Per searcher: looking a term up in whoosh's dictionary reads its file.
        memo = searcher.__dict__.setdefault("_archivio_terms", {})
        found = memo.get((fieldname, self.btext))
        if found is None:
            segments = []
            for reader, _ in scorer.leaves:
                if (fieldname, self.btext) in reader:
                    ids, weights = postings(reader, fieldname, self.btext)
                    lengths = length_codes(reader, fieldname) if self.scorable else b""
                    segments.append((ids, weights, lengths))
                else:
                    segments.append(None)
            stats = None
            if self.scorable:
                model = searcher.weighting
                stats = (
                    searcher.idf(fieldname, self.btext),
                    searcher.avg_field_length(fieldname) or 1,
                    model._field_B.get(fieldname, model.B),
                    model.K1,
                )
            if len(memo) > 5_000:
                memo.clear()
            found = memo[fieldname, self.btext] = (segments, stats)
        self.segments, stats = found
        if stats is not None:
            self.idf, self.avgfl, self.B, self.K1 = stats

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        data = self.segments[seg]
        if data is None:
            return None
        ids, weights, lengths = data
        i = bisect_left(ids, doc)
        if i == len(ids) or ids[i] != doc:
            return None
        weight = weights[i]
        if not self.scorable:
            return weight * self.boost, 1
        s = scoring.bm25(self.idf, weight, _LENGTH[lengths[doc]], self.avgfl, self.B, self.K1)
        return s * self.boost, 1

    def terms(self, seg: int) -> int:
        return 0 if self.segments[seg] is None else 1


class _Phrase(_Node):
    """whoosh scores a phrase as the sum of its words' scores where it matches."""

    def __init__(self, scorer: QueryScorer, q: wq.Phrase) -> None:
        self.q = q
        self.scorer = scorer
        self.words = [_Term(scorer, q.fieldname, w, 1.0) for w in q.words]
        self.matchers: dict[int, object] = {}

    def _matches(self, seg: int, doc: int) -> bool:
        if self.q.slop == 1:
            return self._adjacent(seg, doc)
        m = self.matchers.get(seg)
        if m is None:
            sub = self.scorer.subsearchers[seg]
            m = self.matchers[seg] = self.q.matcher(sub, sub.boolean_context())
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
            ids = w.segments[seg][0]  # type: ignore[index]
            values = positions(reader, self.q.fieldname, w.btext)
            at = fmt.decode_positions(values[bisect_left(ids, doc)])
            shifted = {p - i for p in at}
            starts = shifted if starts is None else starts & shifted
            if not starts:
                return False
        return True

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        total = 0.0
        for w in self.words:
            found = w.score(seg, doc)
            if found is None:
                return None
            total += found[0]
        if not self._matches(seg, doc):
            return None
        return total * self.q.boost, len(self.words)

    def terms(self, seg: int) -> int:
        return len(self.words) if all(w.segments[seg] is not None for w in self.words) else 0


class _Sum(_Node):
    """OR: the sum over the children that match (whoosh's UnionMatcher)."""

    def __init__(self, children: list[_Node], boost: float) -> None:
        self.children = children
        self.boost = boost

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        total, count, hit = 0.0, 0, False
        for c in self.children:
            found = c.score(seg, doc)
            if found is not None:
                total += found[0]
                count += found[1]
                hit = True
        return (total * self.boost, count) if hit else None

    def terms(self, seg: int) -> int:
        return sum(c.terms(seg) for c in self.children)


class _Coord(_Node):
    """whoosh's CoordMatcher: the graded fallback's bonus for more matching terms."""

    def __init__(self, child: _Node, scale: float) -> None:
        self.child = child
        self.scale = scale
        self._termcounts: dict[int, int] = {}

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        found = self.child.score(seg, doc)
        if found is None:
            return None
        score, matching = found
        termcount = self._termcounts.get(seg)
        if termcount is None:
            termcount = self._termcounts[seg] = self.child.terms(seg)
        if termcount == 0:
            return found
        if termcount == self.scale:
            return 0.0, matching
        sqr = (score + (matching - 1) / (termcount - self.scale) ** 2) * ((termcount - 1) / termcount)
        return sqr, matching

    def terms(self, seg: int) -> int:
        return self.child.terms(seg)


class _All(_Node):
    """AND: every child matches; the sum of their scores (a NOT child adds 1)."""

    def __init__(self, children: list[_Node], negatives: int, boost: float) -> None:
        self.children = children
        self.negatives = negatives
        self.boost = boost

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        total, count = float(self.negatives), 0
        for c in self.children:
            found = c.score(seg, doc)
            if found is None:
                return None
            total += found[0]
            count += found[1]
        return total * self.boost, count

    def terms(self, seg: int) -> int:
        return sum(c.terms(seg) for c in self.children)


class _Maybe(_Node):
    """AndMaybe: the first child's score, plus the second's where it matches."""

    def __init__(self, a: _Node, b: _Node) -> None:
        self.a, self.b = a, b

    def score(self, seg: int, doc: int) -> tuple[float, int] | None:
        found = self.a.score(seg, doc)
        if found is None:
            return None
        extra = self.b.score(seg, doc)
        if extra is None:
            return found
        return found[0] + extra[0], found[1] + extra[1]

    def terms(self, seg: int) -> int:
        return self.a.terms(seg) + self.b.terms(seg)


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
    keyed: list[tuple[float, int]] = []
    for reader, offset in leaves:
        if (fieldname, btext) not in reader:
            continue
        ids, weights = postings(reader, fieldname, btext)
        if field.scorable:
            lengths = length_codes(reader, fieldname)
            norm, per = K1 * (1 - B), K1 * B / avgfl
            table = [norm + per * length for length in _LENGTH]
            weight_of = [w / (w + table[lengths[d]]) for d, w in zip(ids, weights, strict=True)]
        else:
            weight_of = list(weights)
        best = heapq.nlargest(n, range(len(ids)), key=weight_of.__getitem__)
        keyed += [(weight_of[i], ids[i] + offset) for i in best]
    top = sorted(d for _, d in heapq.nlargest(n, keyed))
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

    def _compile(self, q: wq.Query) -> _Node:
        if isinstance(q, wq.Term):
            return _Term(self, q.fieldname, q.text, q.boost)
        if type(q) is wq.Phrase:
            return _Phrase(self, q)
        if isinstance(q, wq.Or) and type(q) is not wq.DisjunctionMax:
            if len(q.subqueries) == 1:
                return self._compile(q.subqueries[0])  # whoosh drops the wrapper too
            node: _Node = _Sum([self._compile(s) for s in q.subqueries], q.boost)
            return _Coord(node, q.scale) if q.scale else node
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

    def scores(self, docnums: Sequence[int], deadline: float | None = None) -> list[tuple[int, float]]:
        """(docnum, score) for each of `docnums` (ascending) that `q` matches.
        Raises topk.TimeUp once the clock (topk.clock) passes `deadline`."""
        out: list[tuple[int, float]] = []
        root = self.root
        seg = 0
        ends = self.ends
        for n, docnum in enumerate(docnums):
            if deadline is not None and not n & 63 and time.thread_time() > deadline:
                from .topk import TimeUp

                raise TimeUp
            while docnum >= ends[seg]:
                seg += 1
            found = root.score(seg, docnum - self.leaves[seg][1])
            if found is not None:
                out.append((docnum, found[0]))
        return out
