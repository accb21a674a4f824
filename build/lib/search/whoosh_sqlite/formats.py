"""Posting formats of the full-text fields: whoosh's, made smaller and faster to write.

whoosh's `Positions` stores each posting's positions as a 4-byte count plus
a pickled list of deltas (about 15 bytes for a word seen once), and both
its formats build a Token object per word. These keep whoosh's reading
API (frequency, weight, positions) but:

- `CompactPositions` stores the positions as a plain array of 16-bit
  integers (32-bit past 65,534 tokens, flagged by a 0xFFFF prefix):
  2 bytes for a word seen once, decoded by C code;
- both take the analyzer's `term_positions` / `term_counts` fast path when
  it has one (search.analysis.ItalianAnalyzer), so indexing a text makes
  no Token objects. Other analyzers go through whoosh's generic path.

The classes are pickled into an index's schema: keep them importable under
these names.
"""

from __future__ import annotations

import io
import pickle
import sys
import zlib
from array import array
from collections.abc import Iterator
from itertools import accumulate, chain
from operator import sub

from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter, W3TermInfo
from whoosh.util.numeric import length_to_byte

_WIDE = b"\xff\xff"
_LITTLE = sys.byteorder == "little"

Posting = tuple[str, int, float, bytes]


def _to_bytes(a: array) -> bytes:
    # Little-endian on disk, whatever the machine.
    if not _LITTLE:
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _from_bytes(code: str, data: bytes) -> array:
    a = array(code)
    a.frombytes(data)
    if not _LITTLE:
        a.byteswap()
    return a


class CompactPositions(formats.Positions):
    """Positions as a raw array: 2 bytes per occurrence instead of ~15."""

    def word_values(self, value, analyzer, **kwargs) -> Iterator[Posting]:
        fast = getattr(analyzer, "term_positions", None)
        if fast is None or isinstance(value, (list, tuple)):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        encode = self.encode
        for word, poslist in fast(value).items():
            yield word, len(poslist), len(poslist) * boost, encode(poslist)

    def encode(self, poslist: list[int]) -> bytes:
        # Positions arrive in increasing order: the last one is the largest.
        if poslist[-1] < 0xFFFF:
            return _to_bytes(array("H", poslist))
        return _WIDE + _to_bytes(array("I", poslist))

    def decode_positions(self, valuestring: bytes) -> list[int]:
        if valuestring[:2] == _WIDE:
            return _from_bytes("I", valuestring[2:]).tolist()
        return _from_bytes("H", valuestring).tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        if valuestring[:2] == _WIDE:
            return (len(valuestring) - 2) // 4
        return len(valuestring) // 2

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(pos, 1) for pos in self.decode_positions(valuestring)]

    def combine(self, vs: list[bytes]) -> bytes:
        return self.encode(sorted(p for v in vs for p in self.decode_positions(v)))


class FastFrequency(formats.Frequency):
    """whoosh's Frequency format without its per-posting value: the value
    repeats the frequency, which the posting's weight already holds (and
    BM25 reads the weight). Fed by the analyzer's fast path."""

    def fixed_value_size(self) -> int:
        return 0  # the writer then stores no values at all

    def word_values(self, value, analyzer, **kwargs) -> Iterator[Posting]:
        fast = getattr(analyzer, "term_counts", None)
        if fast is None or isinstance(value, (list, tuple)):
            for word, count, weight, _ in super().word_values(value, analyzer, **kwargs):
                yield word, count, weight, b""
            return
        boost = self.field_boost
        for word, count in fast(value).items():
            yield word, count, count * boost, b""

    def decode_frequency(self, valuestring) -> int:
        if not valuestring:
            raise ValueError("this format keeps the frequency in the posting's weight")
        return super().decode_frequency(valuestring)


# -- the codec: compact posting blocks ------------------------------------------------------


class CompactTermInfo(W3TermInfo):
    """whoosh's term info; postings inlined into it are pickled compactly."""

    def to_bytes(self) -> bytes:
        if not self.is_inlined():
            return super().to_bytes()
        # W3TermInfo.to_bytes's layout, with the postings pickled compactly.
        head = self._struct.pack(
            1,
            self._weight,
            self._df,
            0 if self._minlength is None else length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
            self._maxweight,
            0xFFFFFFFF if self._minid is None else self._minid,
            0xFFFFFFFF if self._maxid is None else self._maxid,
        )
        return head + dumps_compact(self._inlined, 3)


class PackedValues:
    """A block's variable-size posting values as one bytes object plus end
    offsets, as an earlier version of this codec wrote full blocks; kept so
    that indexes it wrote stay readable (whoosh's reader only indexes the
    sequence it unpickles). New blocks hold a tuple of bytes: after zlib it
    is smaller than the offsets."""

    __slots__ = ("data", "ends")

    def __init__(self, data: bytes, ends: array) -> None:
        self.data = data
        self.ends = ends

    @classmethod
    def of(cls, values: list[bytes]) -> PackedValues:
        return cls(b"".join(values), array("I", accumulate(len(v) for v in values)))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytes:
        if i < 0:
            i += len(self.ends)
        return self.data[self.ends[i - 1] if i else 0 : self.ends[i]]

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(len(self.ends)))

    def __reduce__(self):
        ends = _narrow(self.ends)
        return (_packed, (self.data, ends.typecode, _to_bytes(ends)))


def _packed(data: bytes, typecode: str, ends: bytes) -> PackedValues:
    return PackedValues(data, _from_bytes(typecode, ends))


class CompactPostingsWriter(W3PostingsWriter):
    """whoosh's posting writer with smaller blocks, same reader.

    whoosh pickles a block with protocol 2: every document number, weight
    and position list becomes a separate pickled object (bytes objects as
    calls to _codecs.encode, about 25 bytes each). Here document-number gaps
    and integer weights are packed into arrays and the block pickled with a
    modern protocol; whoosh's reader unpickles either. Very short posting
    lists go into the term dictionary instead of a block of their own
    (whoosh's "inline" postings, which its own writer can no longer write).
    """

    def start_postings(self, format_, terminfo) -> None:
        super().start_postings(format_, CompactTermInfo())

    def add_arrays(
        self, ids: array, weights: array, vlens: array, vdata: bytes, doclens: array | None
    ) -> None:
        """A whole posting list at once (search.whoosh_sqlite.indexing.builder): document numbers,
        weights, the lengths of the values and the values end to end, and the
        (byte-coded) field length of every document. Blocks are cut from the
        arrays instead of being filled one posting at a time."""
        n = len(ids)
        limit = self._blocklimit
        fixed = self._format.fixed_value_size()
        ends = array("I", accumulate(vlens)) if vlens else None
        start = 0
        while True:
            end = min(start + limit, n)
            last = end == n
            block_ids = ids[start:end]
            self._ids = block_ids
            self._weights = weights[start:end]
            if ends is None:
                self._values = []
            else:
                lo = ends[start - 1] if start else 0
                cuts = ends[start:end]
                if fixed is not None and fixed > 0 and not last:
                    self._values = [vdata[lo : cuts[-1]]]  # whoosh joins fixed-size values anyway
                else:
                    # One bytes object per posting: pickled as a tuple of them,
                    # which compresses better than offsets into one string.
                    self._values = [vdata[a:b] for a, b in zip([lo, *cuts[:-1]], cuts, strict=True)]
            if doclens is not None:
                block_lengths = [doclens[d] for d in block_ids]
                self._minlength = min(block_lengths) or None
                self._maxlength = max(block_lengths)
            else:
                self._minlength, self._maxlength = None, 0
            self._maxweight = max(self._weights)
            if last:
                return  # left buffered: finish_postings() writes or inlines it
            self._write_block()
            start = end

    def _mini_values(self):
        values = self._values
        fixed = self._format.fixed_value_size()
        if fixed is None or fixed < 0:
            return tuple(values)
        return super()._mini_values()

    def finish_postings(self):
        terminfo = self._terminfo
        if not self.written() and len(self) < self._inlinelimit:
            terminfo.add_block(self)
            weights = self._weights
            if all(w.is_integer() for w in weights):
                weights = [int(w) for w in weights]  # a pickled int is 2 bytes, a float 9
            # Formats without values (ID fields) keep a None per posting: whoosh's
            # ListMatcher would otherwise hand merges a str ("") for a value.
            values = self._values or [None] * len(self._ids)
            terminfo.set_inlined(self._ids, weights, values)
            self._terminfo = None
            return terminfo
        return super().finish_postings()

    def _mini_ids(self):
        if self._byteids:
            return super()._mini_ids()
        ids = self._ids
        # Gaps from the previous id (the first from 0): whoosh's delta_encode, in C.
        gaps = array("I", map(sub, ids, chain((0,), ids)))
        return _narrow(gaps)

    def _mini_weights(self):
        # Counted in C: a block has up to 128 weights and there are many blocks.
        weights = self._weights
        first = weights[0]
        if weights.count(first) == len(weights):
            return None if first == 1.0 else first
        if min(weights) > 0 and max(weights) < 65536:
            ints = array("I", map(int, weights))
            if array("f", ints) == weights:  # whole numbers (term frequencies)
                return _narrow(ints)
        return weights

    def _write_block(self, last: bool = False) -> None:
        # whoosh's method (which hard-wires pickle protocol 2) with protocol 4; same layout.
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = (self._mini_ids(), self._mini_weights(), self._mini_values())
        # Without the memo: a byte less per position list, none shared.
        databytes = dumps_compact(data, 4)
        comp = self._compression
        if comp and len(databytes) >= 64:
            databytes = zlib.compress(databytes, comp)
        else:
            comp = 0
        ids = self._ids
        infobytes = dumps_compact(
            (
                len(ids),
                ids[-1],
                self._maxweight,
                comp,
                length_to_byte(self._minlength),
                length_to_byte(self._maxlength),
            ),
            3,
        )
        blocklength = len(infobytes) + len(databytes)
        self._postfile.write_int(-blocklength if last else blocklength)
        self._postfile.write(infobytes)
        self._postfile.write(databytes)
        self._blockcount += 1
        self._new_block()


class ArchivioCodec(W3Codec):
    """whoosh's default codec (W3) writing compact posting blocks; indexes it
    writes are read by whoosh's own reader."""

    def __init__(self, blocklimit: int = 128, compression: int = 3, inlinelimit: int = 4) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile, byteids: bool = False) -> CompactPostingsWriter:
        return CompactPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )


def dumps_compact(obj: object, protocol: int) -> bytes:
    """pickle.dumps without the memo (nothing here is shared): about a byte
    less per object. Protocol 3+ pickles bytes and arrays natively; 4 adds a
    9-byte frame header but shorter opcodes, so it pays on full blocks only."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol)
    pickler.fast = True
    pickler.dump(obj)
    return buf.getvalue()


def _narrow(values: array) -> array:
    """The smallest unsigned array type holding `values`."""
    top = max(values, default=0)
    code = "B" if top < 256 else "H" if top < 65536 else "I"
    return values if code == values.typecode else array(code, values)
