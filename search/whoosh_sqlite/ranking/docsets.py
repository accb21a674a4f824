"""Document sets as bitmaps: counts, facets, filters and candidates without scoring.

whoosh finds matching documents by walking matcher trees in Python, one
posting at a time, and scoring each one; counting the matches of a common
word, or computing facets over them, costs as much as ranking them. Here a
set of documents is a Python int used as a bitmap (bit d = top-level
document number d): a term's bitmap is built once from its posting blocks
and cached, and AND, OR, NOT and popcount over the whole archive then run
in C, a few microseconds per operation at 100,000 documents.

Caches are per segment (a segment's postings never change) and shared by
all threads; a segment's deletions are applied through its live-document
mask, cached by deletion count, so an incremental import leaves the caches
of the untouched segments warm.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from whoosh import query as wq
from whoosh.fields import DATETIME
from whoosh.idsets import DocIdSet
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher

from ...budget import clock
from ...recency import NO_DATE
from ..postingblocks import posting_blocks, postings
from ..segcache import cache
from .phrases import PHRASE_LIMIT, phrase_docs

_EIGHT = np.arange(8)


def index_version(searcher: Searcher) -> tuple:
    """What the searcher sees, as a key: its segments and their deletions
    (segment names are unique, so a rebuild changes it too)."""
    return tuple(
        (sub.reader().segment().segment_id(), sub.reader().segment().deleted_count())
        for sub, _ in searcher.leaf_searchers()
    )


def _size(bits: int) -> int:
    return bits.bit_length() // 8 + 64


def from_ids(ids: Iterable[int] | np.ndarray, nbits: int) -> int:
    """The bitmap of `ids` (each < nbits), in any order, repeats allowed."""
    found = np.unique(np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64))
    buf = np.zeros((nbits + 7) >> 3, dtype=np.uint8)
    if len(found):
        # Each byte's bits are distinct powers of two: their sum is their OR.
        # (A Python step per id was 10% of a search's time at 1M articles.)
        at = found >> 3
        firsts = np.flatnonzero(np.concatenate(([True], at[1:] != at[:-1])))
        buf[at[firsts]] = np.add.reduceat(np.left_shift(1, found & 7), firsts)
    return int.from_bytes(buf.tobytes(), "little")


def members(bits: int) -> list[int]:
    """The document numbers in a bitmap, ascending."""
    return member_array(bits).tolist()


# The last bitmap member_array unpacked, and its members (read-only): a search
# asks for the same matches several times (each facet, the story count):
# ~0.35-0.9 ms each at 100k articles, where comparing two bitmaps takes ~1 µs.
_last: tuple[int, np.ndarray] | None = None


def member_array(bits: int) -> np.ndarray:
    """The document numbers in a bitmap, ascending, as a numpy array (int64,
    read-only)."""
    global _last
    last = _last
    if last is not None and last[0] == bits:
        return last[1]
    found = _members(bits)
    found.flags.writeable = False
    _last = (bits, found)
    return found


def _members(bits: int) -> np.ndarray:
    if not bits:
        return np.zeros(0, dtype=np.int64)
    data = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) >> 3, "little"), dtype=np.uint8)
    at = np.flatnonzero(data)
    if len(at) > len(data) >> 3:
        return np.flatnonzero(np.unpackbits(data, bitorder="little"))
    # A sparse set: only the bytes holding members are unpacked.
    unpacked = np.unpackbits(data[at, None], axis=1, bitorder="little").astype(bool)
    return ((at[:, None] << 3) + _EIGHT)[unpacked]


def _posting_ids(reader: SegmentReader, fieldname: str, text: str | bytes) -> list[int]:
    """Local document numbers of a term's postings, deleted ones included."""
    ids: list[int] = []
    for block_ids, _, _ in posting_blocks(reader, fieldname, text):
        ids.extend(block_ids)
    return ids


class BitFilter(DocIdSet):
    """A bitmap as the `allow` set of a whoosh collector (constant-time `in`)."""

    def __init__(self, bits: int, nbits: int) -> None:
        self.bits = bits
        self._bytes = bits.to_bytes((nbits + 8) >> 3, "little")

    def __contains__(self, docnum: int) -> bool:
        return bool(self._bytes[docnum >> 3] >> (docnum & 7) & 1)

    def __len__(self) -> int:
        return self.bits.bit_count()

    def __iter__(self) -> Iterator[int]:
        return iter(members(self.bits))


class DocSets:
    """Bitmaps of the documents matching terms and queries, for one searcher."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.leaves: list[tuple[SegmentReader, int]] = [
            (sub.reader(), offset) for sub, offset in searcher.leaf_searchers()
        ]
        self.nbits = searcher.doc_count_all()
        self.segment_ids = tuple(r.segment().segment_id() for r, _ in self.leaves)
        # The whole index's state: its segments and their deletions.
        self.state = (self.segment_ids, tuple(r.segment().deleted_count() for r, _ in self.leaves))
        self._local: dict[tuple, int] = {}
        self.live = self._combine(self._live_local)
        self._stem_analyzer = searcher.schema["text"].analyzer if "text" in searcher.schema else None

    # -- building blocks -------------------------------------------------------------

    def _combine(self, local_fn) -> int:
        bits = 0
        for reader, offset in self.leaves:
            local = local_fn(reader)
            if local:
                bits |= local << offset
        return bits

    def _live_local(self, reader: SegmentReader) -> int:
        """The segment's documents that are not deleted."""
        segment = reader.segment()
        n = reader.doc_count_all()
        key = ("live", segment.segment_id(), segment.deleted_count())
        bits = cache.get(key)
        if bits is None:
            bits = ((1 << n) - 1) & ~from_ids(segment.deleted_docs(), n)
            cache.put(key, bits, _size(bits))
        return bits  # type: ignore[return-value]

    def _term_local(self, reader: SegmentReader, fieldname: str, text: str) -> int:
        """A term's documents in one segment, from its cached postings: kept
        only as part of the whole index's bitmap (`term`), since a bitmap
        per segment too was a second copy (at 1M articles, 110 MB of the
        cache's churn over the 150 dev searches)."""
        schema = self.searcher.schema
        if not isinstance(text, bytes):
            if fieldname not in schema:  # an index older than the field: no documents
                return 0
            text = schema[fieldname].to_bytes(text)
        ids, _ = postings(reader, fieldname, text)
        return from_ids(ids, reader.doc_count_all())

    def shared(self, kind: str, detail: tuple, make: Callable[[], int]) -> int:
        """A whole-index bitmap of this index state, made once and kept in the
        shared, byte-bounded cache: one copy for all the server's threads
        (each has a searcher of its own), dropped once the index moves on."""
        key = (kind, self.segment_ids, self.state[1], *detail)
        bits = cache.get(key)
        if bits is None:
            bits = make()
            cache.put(key, bits, _size(bits))
        return bits  # type: ignore[return-value]

    def term(self, fieldname: str, text: str) -> int:
        """Live documents holding the term."""
        return self.shared(
            "terms",
            (fieldname, text),
            lambda: self._combine(lambda r: self._term_local(r, fieldname, text)) & self.live,
        )

    def _whoosh(self, q: wq.Query) -> int:
        """Any other query: whoosh's own matching, cached by the query's text."""
        key = ("query", tuple(r.segment().segment_id() for r, _ in self.leaves), repr(q))
        bits = cache.get(key)
        if bits is None:
            bits = from_ids(q.docs(self.searcher), self.nbits)
            cache.put(key, bits, _size(bits))
        return bits & self.live  # type: ignore[operator]

    # -- queries ------------------------------------------------------------------------

    def query(self, q: wq.Query) -> int:
        """The live documents matching `q` (scores play no part)."""
        if isinstance(q, wq.Term):
            return self.term(q.fieldname, q.text)
        # Exact classes: subclasses of And (Ordered, ...) add conditions of their own.
        if isinstance(q, wq.Or) or type(q) is wq.DisjunctionMax:
            return self._union(q.subqueries)
        if type(q) is wq.And:
            positive = [s for s in q.subqueries if not isinstance(s, wq.Not)]
            negative = [s.query for s in q.subqueries if isinstance(s, wq.Not)]
            bits = self.live
            for s in sorted(positive, key=self._cost):
                bits &= self.query(s)
                if not bits:
                    return 0
            for s in negative:
                bits &= ~self.query(s)
            return bits
        if type(q) is wq.AndNot:
            return self.query(q.a) & ~self.query(q.b)
        if type(q) is wq.AndMaybe:
            return self.query(q.a)
        if type(q) is wq.Require:
            return self.query(q.a) & self.query(q.b)
        if type(q) is wq.Not:
            return self.live & ~self.query(q.query)
        if q is wq.NullQuery:
            return 0
        if isinstance(q, wq.Every):
            return self.live
        if isinstance(q, wq.NumericRange):  # DateRange too
            return self._range(q)
        if type(q) is wq.Phrase:
            return self._phrase(q)
        return self._whoosh(q)

    def _phrase(self, q: wq.Phrase) -> int:
        """A phrase: positions checked on the documents holding every word,
        within PHRASE_LIMIT (search.whoosh_sqlite.ranking.phrases; TimeUp past it), cached."""
        schema = self.searcher.schema
        if q.fieldname not in schema or len(q.words) < 2:
            return self._whoosh(q)
        field = schema[q.fieldname]
        if not field.format or not field.format.supports("positions"):
            return self._whoosh(q)
        key = ("phrase", self.segment_ids, q.fieldname, tuple(q.words), q.slop)
        bits = cache.get(key)
        if bits is None:
            candidates = self.live
            for w in q.words:
                candidates &= self.term(q.fieldname, w)
            words = [field.to_bytes(w) for w in q.words]
            deadline = clock() + PHRASE_LIMIT
            found: list[int] = []
            for reader, offset in self.leaves:
                local = member_array(candidates >> offset & ((1 << reader.doc_count_all()) - 1))
                matches = phrase_docs(reader, q.fieldname, words, q.slop, local, deadline)
                found += [offset + d for d in matches]
            bits = from_ids(found, self.nbits)
            cache.put(key, bits, _size(bits))
        return bits & self.live  # type: ignore[operator]

    def _range(self, q: wq.NumericRange) -> int:
        """A numeric or date range. With a column (sortable field): a binary
        search in the segment's values sorted once, so a new range costs the
        documents inside it. Without: the union of the postings of the tiered
        terms whoosh covers it with. Cached as a whole."""
        key = ("range", tuple(r.segment().segment_id() for r, _ in self.leaves), repr(q))
        bits = cache.get(key)
        schema = self.searcher.schema
        field = schema[q.fieldname] if q.fieldname in schema else None  # noqa: SIM401 - no Schema.get()
        if bits is None and field is not None and field.column_type is not None:
            # A DateRange holds its bounds as the longs the DATETIME column stores.
            to_column = (lambda v: v) if isinstance(field, DATETIME) else field.to_column_value
            lo = None if q.start is None else to_column(q.start)
            hi = None if q.end is None else to_column(q.end)
            bits = 0
            for reader, offset in self.leaves:
                values, order, present = self._sorted_column(reader, q.fieldname)
                i = 0 if lo is None else (bisect_right if q.startexcl else bisect_left)(values, lo)
                j = len(values) if hi is None else (bisect_left if q.endexcl else bisect_right)(values, hi)
                bits |= (from_ids(order[i:j], reader.doc_count_all()) & present) << offset
            cache.put(key, bits, _size(bits))
        if bits is None:
            simple = q.simplify(self.searcher.reader())
            while isinstance(simple, wq.WrappingQuery):  # ConstantScoreQuery
                simple = simple.child
            if simple is wq.NullQuery:
                terms = []
            elif isinstance(simple, wq.Term):
                terms = [simple]
            elif isinstance(simple, wq.Or) and all(isinstance(t, wq.Term) for t in simple.subqueries):
                terms = list(simple.subqueries)
            else:
                return self._whoosh(q)
            bits = 0
            for reader, offset in self.leaves:
                n = reader.doc_count_all()
                ids = [d for t in terms for d in _posting_ids(reader, t.fieldname, t.text)]
                bits |= from_ids(ids, n) << offset
            cache.put(key, bits, _size(bits))
        return bits & self.live  # type: ignore[operator]

    def _union(self, subqueries: list[wq.Query]) -> int:
        """OR of the children, skipping phrases that cannot add documents: a
        phrase in `exact` only matches where each of its words is in `text`,
        so a sibling `text` term for one of its words already covers it."""
        text_terms = {s.text for s in subqueries if isinstance(s, wq.Term) and s.fieldname == "text"}
        bits = 0
        for s in subqueries:
            if (
                text_terms
                and isinstance(s, wq.Phrase)
                and s.fieldname == "exact"
                and any(self._stem(w) in text_terms for w in s.words)
            ):
                continue
            bits |= self.query(s)
        return bits

    def _stem(self, word: str) -> str | None:
        if self._stem_analyzer is None:
            return None
        tokens = [t.text for t in self._stem_analyzer(word)]
        return tokens[0] if len(tokens) == 1 else None

    def _cost(self, q: wq.Query) -> int:
        """Cheap first in an intersection (an empty result stops it early)."""
        if isinstance(q, wq.Term):
            return self.searcher.doc_frequency(q.fieldname, q.text)
        return 1 << 40

    def filter(self, bits: int) -> BitFilter:
        return BitFilter(bits, self.nbits)

    def _sorted_column(self, reader: SegmentReader, fieldname: str) -> tuple[list, array, int]:
        """A segment's column values in order, the documents in that order,
        and the documents that have the field at all (the column can't tell
        a missing value from its default)."""
        key = ("sorted", reader.segment().segment_id(), fieldname)
        found = cache.get(key)
        if found is None:
            n = reader.doc_count_all()
            col = reader.column_reader(fieldname, translate=False)
            values = [col[d] for d in range(n)]
            order = array("I", sorted(range(n), key=values.__getitem__))
            field = reader.schema[fieldname]
            ids: list[int] = []
            for btext in field.sortable_terms(reader, fieldname):
                ids += _posting_ids(reader, fieldname, btext)
            found = ([values[d] for d in order], order, from_ids(ids, n))
            cache.put(key, found, 48 * n + _size(found[2]), pinned=True)
        return found  # type: ignore[return-value]

    def dates(self) -> np.ndarray:
        """Every document's date column value (recency.NO_DATE: none), by
        document number, for date sorts without whoosh's collector (which
        visits every match: a 25-word query ran out of time sorting)."""
        found = self._local.get(("dates",))
        if found is None:
            parts = [self._dates_local(reader) for reader, _ in self.leaves]
            found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
            self._local[("dates",)] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    def _dates_local(self, reader: SegmentReader) -> np.ndarray:
        n = reader.doc_count_all()
        if "date" not in reader.schema or not reader.has_column("date"):
            return np.full(n, NO_DATE, dtype=np.uint64)
        values, order, present = self._sorted_column(reader, "date")
        key = ("dates", reader.segment().segment_id())
        found = cache.get(key)
        if found is None:
            found = np.empty(n, dtype=np.uint64)
            found[np.asarray(order, dtype=np.int64)] = np.asarray(values, dtype=np.uint64)
            absent = np.ones(n, dtype=bool)
            absent[member_array(present)] = False
            found[absent] = NO_DATE
            cache.put(key, found, found.nbytes, pinned=True)
        return found  # type: ignore[return-value]

    # -- facets ------------------------------------------------------------------------

    def facet_counts(self, bits: int, fieldname: str) -> dict[str, int]:
        """How many of the documents in `bits` hold each value of a keyword field.

        A field with at most one value per document (every facet of the
        schema) keeps each document's value number in one array: the counts
        are one gather and one bincount over the members (O(matches)). An AND
        per value over the whole bitmap cost ~15 µs per value at a million
        articles (hundreds of ms for 3,000 authors), and the value bitmaps
        took up to 125 KB each; pyroaring's intersection counts, measured
        too, were 1.5-3x slower than the bincount (bench/facets.py)."""
        coded = self._codes(fieldname)
        if coded is None:
            return self._counts_by_bitmaps(bits, fieldname)
        values, codes = coded
        held = codes[member_array(bits)]
        counts = np.bincount(held[held >= 0], minlength=len(values))
        return {values[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()}

    def _counts_by_bitmaps(self, bits: int, fieldname: str) -> dict[str, int]:
        """facet_counts for a field whose documents may hold several values."""
        counts: dict[str, int] = {}
        for value, value_bits in self._values(fieldname).items():
            n = (bits & value_bits).bit_count()
            if n:
                counts[value] = n
        return counts

    def _codes(self, fieldname: str) -> tuple[list[str], np.ndarray] | None:
        """The values of a keyword field and, by document number, the number
        of each live document's value (-1: none, or deleted); None when a
        document holds several values."""
        key = ("codes", fieldname)
        if key in self._local:
            return self._local[key]  # type: ignore[return-value]
        index: dict[str, int] = {}
        parts = []
        found: tuple[list[str], np.ndarray] | None = None
        for reader, _ in self.leaves:
            values, codes, single = self._codes_local(reader, fieldname)
            if not single:
                break
            # Local value numbers to the searcher's; -1 (the last entry) stays -1.
            remap = np.array([index.setdefault(v, len(index)) for v in values] + [-1], dtype=np.int32)
            parts.append(remap[codes])
        else:
            codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
            dead = np.ones(len(codes), dtype=bool)
            dead[member_array(self.live)] = False
            codes[dead] = -1
            found = (list(index), codes)
        self._local[key] = found  # type: ignore[assignment]
        return found

    def _codes_local(self, reader: SegmentReader, fieldname: str) -> tuple[list[str], np.ndarray, bool]:
        """A segment's values of a field, each document's value number (-1:
        none) and whether every document holds at most one value."""
        key = ("codes", reader.segment().segment_id(), fieldname)
        found = cache.get(key)
        if found is None:
            codes = np.full(reader.doc_count_all(), -1, dtype=np.int32)
            values: list[str] = []
            single = True
            if fieldname in reader.schema:
                field = reader.schema[fieldname]
                # Full-precision terms only (numeric fields also index coarser ones).
                for btext in field.sortable_terms(reader, fieldname):
                    ids = np.asarray(_posting_ids(reader, fieldname, btext), dtype=np.int64)
                    if (codes[ids] >= 0).any():
                        single = False
                        break
                    codes[ids] = len(values)
                    values.append(field.from_bytes(btext))
            found = (values, codes, single)
            cache.put(key, found, codes.nbytes + 64 * len(values) + 64, pinned=True)
        return found  # type: ignore[return-value]

    def _values(self, fieldname: str) -> dict[str, int]:
        """Value -> bitmap of a keyword field, from its terms' postings."""
        key = ("values", fieldname)
        found = self._local.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        values: dict[str, int] = {}
        for reader, offset in self.leaves:
            for value, local in self._values_local(reader, fieldname).items():
                values[value] = values.get(value, 0) | (local << offset)
        live = self.live
        values = {v: b & live for v, b in values.items()}
        self._local[key] = values  # type: ignore[assignment]
        return values

    def _values_local(self, reader: SegmentReader, fieldname: str) -> dict[str, int]:
        key = ("values", reader.segment().segment_id(), fieldname)
        found = cache.get(key)
        if found is None:
            n = reader.doc_count_all()
            found = {}
            if fieldname in reader.schema:
                field = reader.schema[fieldname]
                # Full-precision terms only (numeric fields also index coarser ones).
                for btext in field.sortable_terms(reader, fieldname):
                    found[field.from_bytes(btext)] = from_ids(_posting_ids(reader, fieldname, btext), n)
            cache.put(key, found, sum(_size(b) for b in found.values()) + 64, pinned=True)
        return found  # type: ignore[return-value]
