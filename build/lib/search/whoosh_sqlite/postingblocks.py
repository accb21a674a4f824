"""A term's postings in one segment, read a block at a time.

whoosh's matchers step through postings one at a time in Python; its
leaf matcher decodes a whole block (up to 128 postings) at once. This is
the one loop over those blocks that the bitmaps (ranking.docsets), the
scorer's arrays (ranking.scorer) and the phrase positions (ranking.phrases)
read. Deleted documents are included: callers apply the live mask.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import wrappers
from whoosh.reading import SegmentReader, TermNotFound

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
