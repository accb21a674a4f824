"""Which documents hold a phrase: word positions checked on candidates, within a budget.

The candidates are the documents holding every word of the phrase (an AND
of bitmaps, search.whoosh_sqlite.ranking.docsets); only their positions are read. whoosh's span
matcher did the same walk one posting at a time: a phrase of ten stop
words took 0.48 s of CPU on the 19,902-article dev corpus, and the cost
grows with the archive (about 5 s at 100,000 articles), for a single
request. Here the check costs a few microseconds a candidate and stops
at PHRASE_LIMIT with TimeUp, which the search turns into a refusal with
the reason: a phrase's count is never a guess.

Semantics are whoosh's `Phrase` (an ordered SpanNear2 with mindist 1):
each word must follow the previous one by 1 to `slop` positions, so slop
1 is an exact phrase.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np
from whoosh.reading import SegmentReader

from ...budget import TimeUp, clock
from ..formats import PackedValues
from ..postingblocks import posting_blocks
from ..segcache import cache

# CPU seconds one phrase may spend checking positions, cold (the matches
# are then cached per segment). A phrase of common words costs ~6 µs a
# candidate: a second covers ~150,000 of them, a phrase of two common
# words in a million-article archive.
PHRASE_LIMIT = 1.0
# The clock is read once per this many candidates.
CHECK_EVERY = 64


def term_positions(reader: SegmentReader, fieldname: str, btext: bytes) -> tuple[np.ndarray, PackedValues]:
    """(ids, encoded positions) of a term's postings in a segment, aligned,
    deleted documents included; read a block at a time and cached. The
    positions are kept as one bytes object and its offsets: ~12 bytes a
    posting where a list of bytes objects took ~53 (at 1M articles, the
    phrases of the 150 dev searches put 408 MB through the cache)."""
    key = ("positions", reader.segment().segment_id(), fieldname, btext)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    ids = array("I")
    values: list[bytes] = []
    for block_ids, _, block_values in posting_blocks(reader, fieldname, btext, values=True):
        ids.extend(block_ids)
        values.extend(block_values)  # type: ignore[arg-type]
    packed = PackedValues.of(values)
    result = (np.frombuffer(ids, dtype=np.uint32), packed)
    cache.put(key, result, 8 * len(ids) + len(packed.data) + 128)
    return result


def in_order(positions: list[list[int]], slop: int) -> bool:
    """Whether the words occur in order, each 1..slop positions after the
    previous one (`positions`: each word's positions, ascending). Only where
    a run of the words so far ends matters for the next word."""
    if slop == 1:
        starts = set(positions[0])
        for i, at in enumerate(positions[1:], 1):
            starts.intersection_update(p - i for p in at)
            if not starts:
                return False
        return True
    ends = positions[0]
    for at in positions[1:]:
        reached = []
        for p in at:
            j = bisect_left(ends, p) - 1  # the last end before p
            if j >= 0 and p - ends[j] <= slop:
                reached.append(p)
        if not reached:
            return False
        ends = reached
    return True


def phrase_docs(
    reader: SegmentReader,
    fieldname: str,
    words: list[bytes],
    slop: int,
    candidates: np.ndarray,
    deadline: float,
) -> list[int]:
    """Those of `candidates` (a segment's document numbers, ascending, each
    holding every word) where the words form the phrase. Raises TimeUp
    once budget.clock passes `deadline`."""
    decode = reader.schema[fieldname].format.decode_positions
    terms = [term_positions(reader, fieldname, w) for w in words]
    rows = [np.searchsorted(ids, candidates) for ids, _ in terms]
    found = []
    for n, doc in enumerate(candidates.tolist()):
        if not n % CHECK_EVERY and clock() > deadline:
            raise TimeUp
        if in_order([decode(values[row[n]]) for (_, values), row in zip(terms, rows, strict=True)], slop):
            found.append(doc)
    return found
