"""A rebuild's second phase: one term range of one field, from every run of
a segment, encoded into whoosh's on-disk form.

Workers take the ranges in parallel. Each range comes back as two byte
strings the parent only has to append: the posting blocks (the codec's,
search.whoosh_sqlite.formats) and the term dictionary's records (whoosh's
OrderedHashWriter layout: two lengths, key, term info), with where each
record starts, its key's hash, and where its term info holds an offset into
the posting file (relative to the range's blocks until the parent knows
where they land: `place`).
"""

from __future__ import annotations

import heapq
import io
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby

import numpy as np
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.filetables import OrderedHashWriter, _lengths, md5_hash
from whoosh.filedb.structfile import StructFile
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte

from ..formats import ArchivioCodec, dumps_compact
from .partpostings import FieldPostings
from .runs import Run, RunReader

_INFO_HEAD = W3TermInfo._struct.size


@dataclass
class TermRange:
    """What a worker needs to encode a range: the segment's runs, the field
    (name, id in the term dictionary) and the bounds."""

    runs: list[Run]
    fieldname: str
    fieldid: int
    lo: bytes | None
    hi: bytes | None


@dataclass
class EncodedRange:
    blocks: bytes
    records: bytes
    record_starts: np.ndarray  # int64, relative to `records`
    hashes: np.ndarray  # uint32
    offset_at: np.ndarray  # int64: where a term info's posting offset is, in `records`
    last_key: bytes | None


def encode_range(fmt, task: TermRange, codec: ArchivioCodec) -> EncodedRange:
    """The posting lists and term-dictionary records of the range's terms,
    the postings of each term joined across the runs (document order)."""
    pieces: list[FieldPostings] = []
    lengths: list[np.ndarray] = []
    for run in task.runs:
        with RunReader(run) as reader:
            found = reader.field_range(task.fieldname, task.lo, task.hi)
            if found is not None:
                pieces.append(found)
            run_lengths = reader.lengths(task.fieldname)
            lengths.append(run_lengths if run_lengths is not None else np.zeros(run.count, dtype=np.int64))
    # A decoded field length per document of the segment, for block statistics.
    doclens = np.concatenate(lengths).tolist() if any(len(x) and x.any() for x in lengths) else None
    blocks = StructFile(io.BytesIO())
    writer = codec.postings_writer(blocks)
    limit = codec._inlinelimit
    prefix = pack_ushort(task.fieldid)
    records = bytearray()
    record_starts: list[int] = []
    hashes: list[int] = []
    offset_at: list[int] = []
    key = None
    columns = [_Columns(p) for p in pieces]
    streams = [_numbered(p.terms, k) for k, p in enumerate(pieces)]
    for term, group in groupby(heapq.merge(*streams), key=lambda row: row[0]):
        entry = _joined([columns[k].entry(i) for _, k, i in group])
        if len(entry[0]) < limit:
            info = inline_info(entry, doclens)
            at = None
        else:
            writer.start_postings(fmt, None)
            writer.add_arrays(*entry, doclens)
            info = writer.finish_postings().to_bytes()
            at = _INFO_HEAD
        key = prefix + term
        start = len(records)
        records += _lengths.pack(len(key), len(info))
        records += key
        records += info
        record_starts.append(start)
        hashes.append(md5_hash(key))
        if at is not None:
            offset_at.append(start + _lengths.size + len(key) + at)
    return EncodedRange(
        blocks.file.getvalue(),
        bytes(records),
        np.array(record_starts, dtype=np.int64),
        np.array(hashes, dtype=np.uint32),
        np.array(offset_at, dtype=np.int64),
        key,
    )


def _numbered(terms: list[bytes], k: int) -> Iterator[tuple[bytes, int, int]]:
    return ((term, k, i) for i, term in enumerate(terms))


class _Columns:
    """A run's range as Python arrays, sliced per term (cheaper than numpy
    for the few postings most terms have)."""

    def __init__(self, fp: FieldPostings) -> None:
        self.starts = fp.starts.tolist()
        self.vstarts = fp.vstarts.tolist()
        self.docs = array("I", fp.docs.astype(np.uint32).tobytes())
        self.weights = array("f", fp.weights.astype(np.float32).tobytes())
        self.vlens = array("I", fp.vlens.astype(np.uint32).tobytes())
        self.vdata = fp.vdata
        self.has_values = len(self.vlens) > 0

    def entry(self, i: int) -> list:
        a, b = self.starts[i], self.starts[i + 1]
        if self.has_values:
            return [
                self.docs[a:b],
                self.weights[a:b],
                self.vlens[a:b],
                self.vdata[self.vstarts[i] : self.vstarts[i + 1]],
            ]
        return [self.docs[a:b], self.weights[a:b], array("I"), b""]


def _joined(entries: list[list]) -> list:
    if len(entries) == 1:
        return entries[0]
    out = [array("I"), array("f"), array("I"), b""]
    for entry in entries:
        out[0] += entry[0]
        out[1] += entry[1]
        out[2] += entry[2]
    out[3] = b"".join(entry[3] for entry in entries)
    return out


def inline_info(entry: list, doclens: list[int] | None) -> bytes:
    """CompactTermInfo.to_bytes() of a posting list inlined in the term
    dictionary, made directly: the posting writer's set-up costs more than
    the work for a rare term."""
    ids, weights, vlens, vdata = entry
    if doclens is not None:
        block_lengths = [doclens[d] for d in ids]
        minlength, maxlength = length_to_byte(min(block_lengths)), length_to_byte(max(block_lengths))
    else:
        minlength = maxlength = 0
    if vlens:
        values, pos = [], 0
        for n in vlens:
            values.append(bytes(vdata[pos : pos + n]))
            pos += n
    else:
        values = [None] * len(ids)
    ws = list(weights)
    if all(w.is_integer() for w in ws):
        ws = [int(w) for w in ws]
    head = W3TermInfo._struct.pack(
        1, sum(weights), len(ids), minlength, maxlength, max(weights), ids[0], ids[-1]
    )
    return head + dumps_compact((tuple(ids), tuple(ws), tuple(values)), 3)


def place(encoded: EncodedRange, postfile, tindex: OrderedHashWriter) -> None:
    """Appends an encoded range to the segment's posting file and term
    dictionary (the parent's share of the work: writes and bookkeeping)."""
    base = postfile.tell()
    postfile.write(encoded.blocks)
    records = np.frombuffer(encoded.records, dtype=np.uint8).copy()
    if len(encoded.offset_at):
        # Offsets are 8-byte big-endian integers at unaligned places.
        where = encoded.offset_at[:, None] + np.arange(8)
        offsets = records[where].copy().view(">i8")[:, 0] + base
        records[where] = offsets.astype(">i8").view(np.uint8).reshape(-1, 8)
    start = tindex.dbfile.tell()
    tindex.dbfile.write(records.tobytes())
    positions = (encoded.record_starts + start).tolist()
    tindex.index.extend(positions)
    buckets = tindex.buckets
    for h, pos in zip(encoded.hashes.tolist(), positions, strict=True):
        buckets[h & 255].append((h, pos))
    if encoded.last_key is not None:
        tindex.lastkey = encoded.last_key
