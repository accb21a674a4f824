"""The words of the whoosh index, in arrays, for typo tolerance.

Typo tolerance asks whether hundreds of spellings are words of the archive
(search.spelling), and for long words looks at every word with the same
first letter. whoosh answers one word at a time from its term dictionary
(a hash file read, ~7 µs per word and segment) and lists words by walking
its term file, so one unknown word cost 10-50 ms on a 100,000-article
archive. Here each segment's words (the accent-folded, unstemmed `exact`
field) are read once into sorted numpy arrays, pinned in the per-segment
cache (search.whoosh_sqlite.segcache) until the segment goes: membership
of a whole batch is one binary search, and the close words are screened by length and letters in one pass.

Reading them is itself vectorised (`_field_terms`): whoosh's own term
iterator makes two file reads per word, 0.5 s of CPU for the dev corpus's
108,000 words on a cold server (the first typo query paid it); one read
of the term file and numpy gathers take ~15 ms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.reading import IndexReader, SegmentReader

from ..spelling import ALPHABET
from .segcache import cache

# Longer words are never typo candidates (queryparse.MAX_TYPO_CHARS + 2 edits).
MAX_BYTES = 32
_BIT = {c: 1 << i for i, c in enumerate(ALPHABET)}
# The bit of each byte value (ALPHABET is ASCII), for masks of whole arrays.
_BYTE_BIT = np.zeros(256, dtype=np.uint64)
for _c, _bit in _BIT.items():
    _BYTE_BIT[ord(_c)] = _bit
# whoosh's hash file record: key length and value length, big-endian int32
# (whoosh.filedb.filetables._lengths); a W3 term key starts with its field's
# number as a big-endian uint16 (W3TermsReader._keycoder).
_RECORD_HEAD = 8
_FIELD_NUMBER = 2


@dataclass(frozen=True)
class Lexicon:
    """A segment's words of up to MAX_BYTES bytes, sorted, with their lengths
    and letter masks (one bit per ALPHABET character they hold)."""

    words: np.ndarray
    lengths: np.ndarray
    masks: np.ndarray


def letter_mask(word: str) -> int:
    mask = 0
    for c in word:
        mask |= _BIT.get(c, 0)
    return mask


def segment_lexicon(reader: SegmentReader, fieldname: str) -> Lexicon:
    key = ("lexicon", reader.segment().segment_id(), fieldname)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    words, lengths = _field_terms(reader, fieldname)
    masks = np.bitwise_or.reduce(_BYTE_BIT[words.view(np.uint8).reshape(-1, MAX_BYTES)], axis=1)
    lexicon = Lexicon(words=words, lengths=lengths, masks=masks.astype(np.uint64))
    cache.put(key, lexicon, (MAX_BYTES + 9) * len(words) + 256, pinned=True)
    return lexicon


def _field_terms(reader: SegmentReader, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
    """The text field's terms of up to MAX_BYTES bytes, sorted, and their
    lengths, read from the segment's term file in one piece (see the
    module's doc). Text terms only: numpy byte strings drop trailing NULs."""
    terms = getattr(reader, "_terms", None)
    tindex = getattr(terms, "_tindex", None)
    if not (isinstance(terms, W3TermsReader) and isinstance(tindex, OrderedHashReader)):
        return _iterated_terms(reader, fieldname)  # another codec: whoosh's own walk
    number = terms._fieldmap.get(fieldname)
    if number is None or not tindex.indexlen:
        return _iterated_terms(reader, fieldname) if number is not None else _no_terms()
    dbfile = tindex.dbfile
    start, end = tindex.startofdata, tindex.endofdata
    data = np.frombuffer(dbfile.get(start, end - start), dtype=np.uint8)
    # Record offsets in key order (the ordered hash file's index array).
    kind = np.dtype(tindex.extras["indextype"]).newbyteorder(">")
    index = np.frombuffer(dbfile.get(tindex.indexbase, tindex.indexlen * kind.itemsize), dtype=kind)
    at = index.astype(np.int64) - start

    def be(offsets: np.ndarray, size: int) -> np.ndarray:
        parts = data[offsets[:, None] + np.arange(size)].astype(np.int64)
        return (parts << (8 * np.arange(size - 1, -1, -1))).sum(axis=1)

    keylen = be(at, 4)
    field = be(at + _RECORD_HEAD, _FIELD_NUMBER)
    length = keylen - _FIELD_NUMBER
    keep = (field == number) & (length > 0) & (length <= MAX_BYTES)
    at, length = at[keep], length[keep]
    begin = at + _RECORD_HEAD + _FIELD_NUMBER
    matrix = np.zeros((len(at), MAX_BYTES), dtype=np.uint8)
    columns = np.arange(MAX_BYTES)
    inside = columns < length[:, None]
    matrix[inside] = data[(begin[:, None] + columns)[inside]]
    return matrix.view(f"S{MAX_BYTES}").ravel(), length.astype(np.uint8)


def _iterated_terms(reader: SegmentReader, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
    words = [w for w in reader.lexicon(fieldname) if 0 < len(w) <= MAX_BYTES]  # sorted already
    return np.array(words, dtype=f"S{MAX_BYTES}"), np.array([len(w) for w in words], dtype=np.uint8)


def _no_terms() -> tuple[np.ndarray, np.ndarray]:
    return np.array([], dtype=f"S{MAX_BYTES}"), np.array([], dtype=np.uint8)


def _segments(reader: IndexReader) -> list[SegmentReader]:
    return [r for r, _ in reader.leaf_readers()]


def known_words(reader: IndexReader, fieldname: str, words: Iterable[str]) -> set[str]:
    """Those of `words` that are terms of `fieldname` in the index."""
    batch = [w for w in set(words) if 0 < len(w.encode()) <= MAX_BYTES]
    if not batch:
        return set()
    wanted = np.array([w.encode() for w in batch], dtype=f"S{MAX_BYTES}")
    found = np.zeros(len(batch), dtype=bool)
    for segment in _segments(reader):
        lexicon = segment_lexicon(segment, fieldname)
        if not len(lexicon.words):
            continue
        at = np.searchsorted(lexicon.words, wanted)
        at[at == len(lexicon.words)] = 0
        found |= lexicon.words[at] == wanted
    return {w for w, hit in zip(batch, found.tolist(), strict=True) if hit}


def near_words(reader: IndexReader, fieldname: str, word: str, maxdist: int) -> set[str]:
    """The words that may lie within `maxdist` edits of `word`, with its first
    letter: a superset screened by two necessary conditions (lengths differ
    by at most maxdist; an edit changes at most two letters of the set)."""
    encoded = word.encode()
    first = encoded[:1]
    if not first:
        return set()
    after = bytes([first[0] + 1]) if first[0] < 255 else b"\xff" * MAX_BYTES
    mask = np.uint64(letter_mask(word))
    out: set[str] = set()
    for segment in _segments(reader):
        lexicon = segment_lexicon(segment, fieldname)
        lo, hi = np.searchsorted(lexicon.words, [first, after])
        lengths, masks = lexicon.lengths[lo:hi].astype(np.int64), lexicon.masks[lo:hi]
        close = (np.abs(lengths - len(encoded)) <= maxdist) & (np.bitwise_count(masks ^ mask) <= 2 * maxdist)
        out.update(w.decode("utf-8", "replace") for w in lexicon.words[lo:hi][close].tolist())
    return out
