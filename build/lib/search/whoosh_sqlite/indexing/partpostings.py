"""The postings of a part of the archive, analysed in bulk (a rebuild's first phase).

whoosh's writer, and this project's first bulk builder, walked each text
token by token in Python (a dict lookup and an append per token: ~60% of a
rebuild). Here a part's texts are tokenized with the analyzer's regex,
each distinct token is analysed once (search.analysis caches), and then
everything per token is done by numpy on whole arrays:

    token codes ──expand──> (term, doc, position) per occurrence
                ──stable sort by term──> postings (term, doc, frequency,
                positions) grouped by term, in term order

Fields whose analyzer is search.analysis.ItalianAnalyzer and whose format
is FastFrequency or CompactPositions take this path; any other indexed
field (ids, keys, dates, numbers: a few terms per document) goes through
whoosh's own `field.index`. Both give a FieldPostings: the part's posting
lists of one field, sorted by term, as flat arrays (CSR), which `runs`
writes to disk for the second phase (`termblocks`).
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass

import numpy as np
from whoosh.fields import FieldType, Schema
from whoosh.util.numeric import byte_to_length, length_to_byte

from ...analysis import ItalianAnalyzer, _word_analysis
from ..formats import CompactPositions, FastFrequency

# per document: [(field, stored value or None, length, column value or None)]
DocData = list[tuple[str, object, int, object]]

# Byte-coded field lengths (whoosh keeps one byte per length): the largest
# length of each code, for a vectorised length_to_byte.
_CODE_LIMITS = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


@dataclass
class FieldPostings:
    """One field's posting lists in a part, sorted by term.

    Term i's postings are docs/weights[starts[i]:starts[i+1]]; its values
    (position lists) are vdata[vstarts[i]:vstarts[i+1]], cut by vlens. A
    field without values has empty vlens and vdata."""

    terms: list[bytes]
    starts: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # uint32 document numbers (of the segment)
    weights: np.ndarray  # float32
    vlens: np.ndarray  # uint32 value length per posting, or empty
    vstarts: np.ndarray  # int64, len(terms) + 1
    vdata: bytes

    @property
    def posting_count(self) -> int:
        return len(self.docs)


@dataclass
class PartPostings:
    """A part's postings per field, and its documents' byte-coded field
    lengths (what block statistics are computed from)."""

    first: int
    count: int
    fields: dict[str, FieldPostings]
    lengths: dict[str, np.ndarray]  # field -> decoded length per document (int64)


def coded_lengths(lengths: np.ndarray) -> np.ndarray:
    """Each length as whoosh reads it back (through its one-byte code)."""
    codes = np.minimum(np.searchsorted(_CODE_LIMITS, lengths, side="left"), 255)
    return _CODE_LIMITS[codes]


def is_bulk_field(field: FieldType) -> bool:
    return (
        field.indexed
        and isinstance(field.analyzer, ItalianAnalyzer)
        and type(field.format) in (FastFrequency, CompactPositions)
    )


def analyse_part(schema: Schema, docs: list[dict], first: int) -> tuple[PartPostings, list[DocData]]:
    """The postings of `docs`, numbered from `first`, and their per-document
    data (what whoosh's SegmentWriter.add_document computes)."""
    for fieldname in {f for doc in docs for f in doc}:
        if fieldname.startswith("_"):
            continue
        field = schema[fieldname]
        if field.vector or field.separate_spelling():
            raise ValueError(f"field {fieldname!r}: vectors and spelling are not supported")
    bulk = [name for name in schema.names() if is_bulk_field(schema[name])]
    fields: dict[str, FieldPostings] = {}
    lengths: dict[str, np.ndarray] = {}
    streams = _Streams(docs)
    for fieldname in bulk:
        field = schema[fieldname]
        stream = streams.get(fieldname, field.analyzer.config.pattern)
        postings, field_lengths = _bulk_field(field, stream, first)
        if postings is not None:
            fields[fieldname] = postings
            lengths[fieldname] = field_lengths
    other = [name for name in schema.names() if name not in fields and schema[name].indexed]
    for fieldname in other:
        postings, field_lengths = _generic_field(schema[fieldname], fieldname, docs, first)
        if postings is not None:
            fields[fieldname] = postings
            if field_lengths.any():
                lengths[fieldname] = field_lengths
    perdoc = _perdoc(schema, docs, lengths)
    coded = {name: coded_lengths(values) for name, values in lengths.items()}
    return PartPostings(first, len(docs), fields, coded), perdoc


# -- the text fields, in bulk ------------------------------------------------------------------


class _Stream:
    """The tokenizer matches of one field over all documents: a code per
    token (its index among the distinct matches) and the tokens per document."""

    def __init__(self, values: list[str | None], pattern: re.Pattern) -> None:
        distinct: dict[str, int] = {}
        codes = array("q")
        per_doc = np.zeros(len(values), dtype=np.int64)
        findall = pattern.findall
        for i, value in enumerate(values):
            if not value:
                continue
            matches = findall(value)
            per_doc[i] = len(matches)
            # A new match gets the next code: len() is read before setdefault adds it.
            codes.extend([distinct.setdefault(m, len(distinct)) for m in matches])
        self.matches = list(distinct)
        self.codes = np.frombuffer(codes, dtype=np.int64)
        self.per_doc = per_doc
        self.present = any(v is not None for v in values)


class _Streams:
    """Streams shared by fields fed the same texts (text and exact are one
    string per article) and tokenized alike: tokenized once."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs
        self._made: list[tuple[list[int], re.Pattern, _Stream]] = []

    def get(self, fieldname: str, pattern: re.Pattern) -> _Stream:
        values = [doc.get(fieldname) for doc in self.docs]
        identity = [id(v) for v in values]
        for seen, seen_pattern, stream in self._made:
            if seen == identity and seen_pattern is pattern:
                return stream
        stream = _Stream(values, pattern)
        self._made.append((identity, pattern, stream))
        return stream


def _bulk_field(field: FieldType, stream: _Stream, first: int) -> tuple[FieldPostings | None, np.ndarray]:
    count = len(stream.per_doc)
    if not stream.present:
        return None, np.zeros(count, dtype=np.int64)
    analyzer: ItalianAnalyzer = field.analyzer
    analyse = _word_analysis(analyzer.config, analyzer.stemming, True)
    # Each distinct match -> the terms it indexes (none for a stop word;
    # several for a compound such as "Covid-19"), as term ids into
    # `vocabulary`, each with its position within the match; and the
    # positions the match takes (one; one per part of a compound).
    vocabulary: dict[bytes, int] = {}
    per_match = np.zeros(len(stream.matches), dtype=np.int64)
    widths = np.ones(len(stream.matches), dtype=np.int64)
    flat: list[int] = []
    flat_offsets: list[int] = []
    for i, match in enumerate(stream.matches):
        parts, widths[i] = analyse(match)
        terms = [(text.encode("utf-8"), offset) for text, _, _, stopped, offset in parts if not stopped]
        per_match[i] = len(terms)
        flat += [vocabulary.setdefault(t, len(vocabulary)) for t, _ in terms]
        flat_offsets += [offset for _, offset in terms]
    flat_ids = np.array(flat, dtype=np.int64)
    offsets = np.array(flat_offsets, dtype=np.int64)
    match_start = np.cumsum(per_match) - per_match

    # Per token: its document and its position in it (every match takes its
    # positions, stop words too, as the analyzer counts them).
    ntokens = len(stream.codes)
    token_doc = np.repeat(np.arange(count, dtype=np.int64), stream.per_doc)
    token_width = widths[stream.codes]
    before = np.cumsum(token_width) - token_width  # positions taken by earlier tokens (all documents)
    doc_first = np.cumsum(stream.per_doc) - stream.per_doc
    doc_offset = np.zeros(count, dtype=np.int64)
    present = stream.per_doc > 0
    doc_offset[present] = before[doc_first[present]]
    token_pos = before - doc_offset[token_doc]
    # Per occurrence of a term: the token it comes from.
    per_token = per_match[stream.codes]
    occ_token = np.repeat(np.arange(ntokens, dtype=np.int64), per_token)
    within = np.arange(len(occ_token), dtype=np.int64) - np.repeat(
        np.cumsum(per_token) - per_token, per_token
    )
    occ_flat = match_start[stream.codes][occ_token] + within
    del within
    occ_term = flat_ids[occ_flat]
    occ_doc = token_doc[occ_token]
    occ_pos = None
    if type(field.format) is CompactPositions:
        occ_pos = token_pos[occ_token]
        if offsets.any():  # compounds: parts after the first further on
            occ_pos += offsets[occ_flat]
    del occ_flat, occ_token
    lengths = np.bincount(occ_doc, minlength=count).astype(np.int64)
    if not len(occ_term):
        return None, lengths

    terms = sorted(vocabulary)
    rank = np.empty(len(vocabulary), dtype=np.int64)
    rank[[vocabulary[t] for t in terms]] = np.arange(len(terms))
    # Occurrences come in (document, position) order: a stable sort by term
    # gives (term, document, position) order.
    key = rank[occ_term]
    order = np.argsort(key, kind="stable")
    key, occ_doc = key[order], occ_doc[order]
    new_posting = np.ones(len(key), dtype=bool)
    new_posting[1:] = (key[1:] != key[:-1]) | (occ_doc[1:] != occ_doc[:-1])
    posting_start = np.flatnonzero(new_posting)
    freq = np.diff(np.append(posting_start, len(key)))
    posting_term = key[posting_start]
    term_start = np.flatnonzero(np.r_[True, posting_term[1:] != posting_term[:-1]])
    starts = np.append(term_start, len(posting_start)).astype(np.int64)
    docs = (occ_doc[posting_start] + first).astype(np.uint32)
    weights = (freq * field.format.field_boost).astype(np.float32)

    if occ_pos is not None:
        positions = occ_pos[order]
        vlens, vdata = _position_values(positions, posting_start, freq)
        vends = np.cumsum(vlens, dtype=np.int64)
        vstarts = np.r_[0, vends[starts[1:] - 1]].astype(np.int64)
    else:
        vlens = np.zeros(0, dtype=np.uint32)
        vdata = b""
        vstarts = np.zeros(len(starts), dtype=np.int64)
    return FieldPostings(terms, starts, docs, weights, vlens, vstarts, vdata), lengths


def _position_values(
    positions: np.ndarray, posting_start: np.ndarray, freq: np.ndarray
) -> tuple[np.ndarray, bytes]:
    """Each posting's positions as CompactPositions.encode makes them, end to
    end: 2 bytes each, or a 0xFFFF mark and 4 bytes each in a posting that
    reaches position 65,535 (an article of that many words)."""
    last = positions[posting_start + freq - 1]
    wide = last >= 0xFFFF
    if not wide.any():
        return (freq * 2).astype(np.uint32), positions.astype("<u2").tobytes()
    width = np.where(wide, 4, 2)
    vlens = freq * width + wide * 2
    vbegin = np.cumsum(vlens) - vlens
    out = np.zeros(int(vlens.sum()), dtype=np.uint8)
    out[vbegin[wide]] = 0xFF
    out[vbegin[wide] + 1] = 0xFF
    occ_posting = np.repeat(np.arange(len(freq)), freq)
    occ_within = np.arange(len(positions)) - np.repeat(posting_start, freq)
    occ_width = width[occ_posting]
    occ_at = vbegin[occ_posting] + wide[occ_posting] * 2 + occ_within * occ_width
    for byte in range(4):
        take = occ_width > byte
        out[occ_at[take] + byte] = (positions[take] >> (8 * byte)) & 0xFF
    return vlens.astype(np.uint32), out.tobytes()


# -- the other fields, through whoosh ----------------------------------------------------------


def _generic_field(
    field: FieldType, fieldname: str, docs: list[dict], first: int
) -> tuple[FieldPostings | None, np.ndarray]:
    """A field's postings through whoosh's field.index (as its writer does)."""
    postings: dict[bytes, list] = {}
    lengths = np.zeros(len(docs), dtype=np.int64)
    scorable = field.scorable
    # Dates, years and keys repeat from article to article: each distinct
    # value is indexed once (a date makes a term per precision level).
    indexed: dict[object, list[tuple[bytes, int, float, bytes]]] = {}
    for i, doc in enumerate(docs):
        value = doc.get(fieldname)
        if value is None:
            continue
        try:
            terms = indexed.get(value)
            if terms is None:
                terms = indexed[value] = list(field.index(value))
        except TypeError:  # an unhashable value (a list of keywords)
            terms = list(field.index(value))
        length = 0
        for btext, freq, weight, vbytes in terms:
            entry = postings.get(btext)
            if entry is None:
                entry = postings[btext] = [array("I"), array("f"), array("I"), bytearray()]
            entry[0].append(first + i)
            entry[1].append(weight)
            if vbytes:
                entry[2].append(len(vbytes))
                entry[3] += vbytes
            if scorable:
                length += freq
        lengths[i] = length
    if not postings:
        return None, lengths
    terms = sorted(postings)
    entries = [postings[t] for t in terms]
    counts = np.array([len(e[0]) for e in entries], dtype=np.int64)
    value_sizes = np.array([len(e[3]) for e in entries], dtype=np.int64)
    return (
        FieldPostings(
            terms,
            np.r_[0, np.cumsum(counts)].astype(np.int64),
            np.frombuffer(b"".join(e[0].tobytes() for e in entries), dtype=np.uint32),
            np.frombuffer(b"".join(e[1].tobytes() for e in entries), dtype=np.float32),
            np.frombuffer(b"".join(e[2].tobytes() for e in entries), dtype=np.uint32),
            np.r_[0, np.cumsum(value_sizes)].astype(np.int64),
            b"".join(bytes(e[3]) for e in entries),
        ),
        lengths,
    )


def _perdoc(schema: Schema, docs: list[dict], lengths: dict[str, np.ndarray]) -> list[DocData]:
    """Stored values, field lengths and column values, document by document."""
    as_lists = {name: values.tolist() for name, values in lengths.items()}
    perdoc: list[DocData] = []
    for i, doc in enumerate(docs):
        data: DocData = []
        for fieldname in sorted(doc):
            value = doc[fieldname]
            if value is None or fieldname.startswith("_"):
                continue
            field = schema[fieldname]
            length = as_lists[fieldname][i] if fieldname in as_lists else 0
            data.append(
                (
                    fieldname,
                    value if field.stored else None,
                    length,
                    field.to_column_value(value) if field.column_type else None,
                )
            )
        perdoc.append(data)
    return perdoc


__all__ = ["DocData", "FieldPostings", "PartPostings", "analyse_part", "coded_lengths", "length_to_byte"]
