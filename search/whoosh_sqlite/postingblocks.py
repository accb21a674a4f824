"""A term's postings in one segment, read a block at a time.

whoosh's matchers step through postings one at a time in Python; its
leaf matcher decodes a whole block (up to 128 postings) at once. This is
the one loop over those blocks that the bitmaps (ranking.docsets), the
scorer's arrays (ranking.scorer) and the phrase positions (ranking.phrases)
read. Deleted documents are included: callers apply the live mask.
`postings` keeps a term's whole list per segment as two arrays, for the
scorer and the bitmaps alike.
"""

from __future__ import annotations

import io
import pickle
import zlib
from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching import wrappers
from whoosh.reading import SegmentReader, TermNotFound

from .segcache import cache

# (ids, weights or None, encoded values or None) of one block.
Block = tuple[Sequence[int], Sequence[float] | None, Sequence[bytes] | None]


def posting_blocks(
    reader: SegmentReader, fieldname: str, text: str | bytes, weights: bool = False, values: bool = False
) -> Iterator[Block]:
    """The term's posting blocks in order, with their weights and encoded
    values when asked; nothing for a term the segment lacks. A matcher of
    another codec gives one posting per block."""
    try:
        m = reader.postings(fieldname, text)
    except TermNotFound:
        return
    if isinstance(m, wrappers.FilterMatcher):  # deletions: left to the caller's live mask
        m = m.child
    if isinstance(m, W3LeafMatcher) and not m._byteids:
        blocks = _whole_list(m)
        if blocks is not None:
            yield from _decoded(blocks, m._fixedsize, weights, values)
            return
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            # Each block's header resets these to None; decoded only when asked.
            if m._ids is None:
                m._read_ids()
            if weights and m._weights is None:
                m._read_weights()
            if values and m._values is None:
                m._read_values()
            yield m._ids, m._weights if weights else None, m._values if values else None
            m._next_block()
        return
    while m.is_active():
        yield (m.id(),), (m.weight(),) if weights else None, (m.value(),) if values else None
        m.next()


def postings(reader: SegmentReader, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(ids, weights) of a term in a segment, deleted documents included;
    cached (segcache). The weights are whoosh's float32 values, or the same
    values as uint8 when they all fit."""
    key = ("postings", reader.segment().segment_id(), fieldname, btext)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    ids, weights = array("I"), array("f")
    for block_ids, block_weights, _ in posting_blocks(reader, fieldname, btext, weights=True):
        ids.extend(block_ids)
        weights.extend(list(block_weights))  # type: ignore[arg-type]
    tf = np.frombuffer(weights, dtype=np.float32)
    # Weights are term frequencies: whole numbers, nearly always under 256,
    # kept in one byte each (5 bytes a posting, not 8: at 1M articles, the
    # 150 dev searches' postings were 377 of the 600 MB through the cache).
    # Readers cast to float64 first, so they see the same numbers.
    if len(tf) and tf.min() >= 0 and tf.max() < 256:  # NaN fails both
        small = tf.astype(np.uint8)
        if np.array_equal(small, tf):
            tf = small
    arrays = (np.frombuffer(ids, dtype=np.uint32), tf)
    cache.put(key, arrays, 4 * len(ids) + tf.nbytes + 256)
    return arrays


# One block as stored: (postings, compression, the pickled data tuple's bytes).
_Stored = tuple[int, int, bytes]


def _whole_list(m: W3LeafMatcher) -> list[_Stored] | None:
    """The term's blocks cut from one read of its whole posting list, or
    None when the bytes are not laid out as expected (whoosh's loop then).

    whoosh reads each block's length and header through its file objects,
    and unpickles the header from the file: ~24 small reads per block, 40%
    of a cold server's first searches at 100k articles (871,914 reads for
    50 searches). One read of the extent, then slices of it."""
    extent = m._length
    if isinstance(extent, tuple):  # as whoosh's term info unpacks it
        extent = extent[0] if len(extent) == 1 else None
    if not isinstance(extent, int):
        return None
    buf = m._postfile.get(m._startoffset, extent)
    if len(buf) != extent or buf[:4] != WHOOSH3_HEADER_MAGIC:
        return None
    stream = io.BytesIO(buf)
    blocks: list[_Stored] = []
    pos = len(WHOOSH3_HEADER_MAGIC)
    while pos + 4 <= len(buf):
        length = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
        end = pos + 4 + abs(length)
        if end > len(buf):
            return None
        stream.seek(pos + 4)
        count, _, _, compression, _, _ = pickle.load(stream)
        blocks.append((count, compression, buf[stream.tell() : end]))
        if length < 0:  # the last block
            return blocks if end == len(buf) else None
        pos = end
    return None


def _decoded(blocks: list[_Stored], fixedsize: int | None, weights: bool, values: bool) -> Iterator[Block]:
    """Each stored block as whoosh's W3LeafMatcher decodes it (_read_ids,
    _read_weights, _read_values): ids from their gaps, weights and values
    de-minified."""
    for count, compression, data in blocks:
        gaps, block_weights, block_values = pickle.loads(zlib.decompress(data) if compression else data)
        ids = list(accumulate(gaps))
        w = None
        if weights:
            if block_weights is None:
                w = array("f", [1.0]) * count
            elif isinstance(block_weights, float):
                w = array("f", [block_weights]) * count
            else:
                w = block_weights
        v = None
        if values:
            if fixedsize is None or fixedsize < 0:
                v = block_values
            elif fixedsize == 0:
                v = (None,) * count
            else:
                v = tuple(block_values[i : i + fixedsize] for i in range(0, len(block_values), fixedsize))
        yield ids, w, v
