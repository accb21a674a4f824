"""Full rebuilds: analysis and encoding in parallel processes, one segment.

whoosh's writer puts every posting through a pool (a tuple per posting,
sorted, spilled to run files), then writes them back one by one; with
several processes it makes one segment per process, each with its own
term dictionary (a third of the index, duplicated). Here:

- worker processes analyse consecutive parts of the archive and encode each
  term's postings into the codec's blocks (search.formats), the costly part
  (pickling, compression). Blocks hold absolute document numbers, so
- the parent joins the blocks of the parts in order, without decoding them,
  writes whoosh's term dictionary and the per-document data (stored fields,
  lengths, columns) through whoosh's own writers;
- up to `chunk` articles go into one segment, so memory stays bounded
  whatever the size of the archive (1,000,000 articles make a handful).

The files are whoosh's (W3 codec); incremental updates and merges later go
through whoosh's writer as usual.
"""

from __future__ import annotations

import heapq
import io
import multiprocessing
import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from itertools import groupby, islice

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.fields import Schema
from whoosh.filedb.structfile import StructFile
from whoosh.index import Index
from whoosh.system import _INT_SIZE, pack_int, pack_long, pack_ushort, unpack_int
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from .analysis import AnalysisConfig, ItalianAnalyzer, stems_and_words
from .formats import ArchivioCodec, CompactPositions, CompactTermInfo, FastFrequency, dumps_compact

# Articles per segment: bounds the parent's memory (it holds the encoded
# postings of a segment until it writes it).
CHUNK = 100_000
# Articles per unit of work: bounds each worker's memory.
PART = 12_500

# field -> term bytes -> [doc numbers, weights, value lengths, value bytes]
Postings = dict[str, dict[bytes, list]]
# per document: [(field, stored value or None, length, column value or None)]
DocData = list[tuple[str, object, int, object]]
# per field: [(term, term info bytes, posting bytes, raw postings)] sorted by
# term. An inlined term has its postings in the term info and no posting
# bytes; a short list comes raw ([ids, weights, value lengths, values]).
Encoded = dict[str, list[tuple[bytes, bytes, bytes, list | None]]]

_SCHEMA: Schema | None = None  # the workers' schema (inherited by fork)


# -- analysis ------------------------------------------------------------------------------


def _pair(schema: Schema) -> tuple[str, str, AnalysisConfig] | None:
    """The stemmed and unstemmed full-text fields analysed in one pass
    (analysis.stems_and_words), when the schema has them."""
    if "text" not in schema or "exact" not in schema:  # whoosh's Schema has no .get()
        return None
    text, exact = schema["text"], schema["exact"]
    ta, ea = text.analyzer, exact.analyzer
    if (
        isinstance(ta, ItalianAnalyzer)
        and isinstance(ea, ItalianAnalyzer)
        and ta.stemming
        and not ea.stemming
        and ta.config == ea.config
        and type(text.format) is FastFrequency
        and type(exact.format) is CompactPositions
    ):
        return "text", "exact", ta.config
    return None


def _new_entry() -> list:
    return [array("I"), array("f"), array("I"), bytearray()]


def analyse(schema: Schema, docs: list[dict], first: int) -> tuple[Postings, list[DocData]]:
    """Postings and per-document data of `docs`, numbered from `first`.

    What whoosh's SegmentWriter.add_document does for each field, without the
    posting pool: each posting is appended to its term's arrays. The two
    full-text fields share one pass of the analyzer."""
    postings: Postings = {}
    perdoc: list[DocData] = []
    pair = _pair(schema)
    fast_positions = sys.byteorder == "little"
    for docnum, fields in enumerate(docs, first):
        data: DocData = []
        done: tuple[str, ...] = ()
        value = fields.get(pair[0]) if pair is not None else None
        if pair is not None and value is not None and value is fields.get(pair[1]):
            # The hot loop of a rebuild, kept flat.
            stem_field, exact_field, config = pair
            counts, positions = stems_and_words(value, config)
            terms = postings.setdefault(stem_field, {})
            get = terms.get
            boost = schema[stem_field].format.field_boost
            for btext, count in counts.items():
                entry = get(btext)
                if entry is None:
                    entry = terms[btext] = _new_entry()
                entry[0].append(docnum)
                entry[1].append(count * boost)
            data.append((stem_field, None, sum(counts.values()), None))
            terms = postings.setdefault(exact_field, {})
            get = terms.get
            fmt = schema[exact_field].format
            boost, encode_positions = fmt.field_boost, fmt.encode
            total = 0
            for btext, poslist in positions.items():
                entry = get(btext)
                if entry is None:
                    entry = terms[btext] = _new_entry()
                # CompactPositions.encode, inlined for the common case.
                vbytes = (
                    array("H", poslist).tobytes()
                    if fast_positions and poslist[-1] < 0xFFFF
                    else (encode_positions(poslist))
                )
                entry[0].append(docnum)
                entry[1].append(len(poslist) * boost)
                entry[2].append(len(vbytes))
                entry[3] += vbytes
                total += len(poslist)
            data.append((exact_field, None, total, None))
            done = (stem_field, exact_field)
        for fieldname in sorted(fields):
            value = fields[fieldname]
            if value is None or fieldname.startswith("_") or fieldname in done:
                continue
            field = schema[fieldname]
            if field.vector or field.separate_spelling():
                raise ValueError(f"field {fieldname!r}: vectors and spelling are not supported")
            length = 0
            if field.indexed:
                terms = postings.setdefault(fieldname, {})
                scorable = field.scorable
                for btext, freq, weight, vbytes in field.index(value):
                    entry = terms.get(btext)
                    if entry is None:
                        entry = terms[btext] = _new_entry()
                    entry[0].append(docnum)
                    entry[1].append(weight)
                    if vbytes:
                        entry[2].append(len(vbytes))
                        entry[3] += vbytes
                    if scorable:
                        length += freq
            column = field.column_type
            data.append(
                (
                    fieldname,
                    value if field.stored else None,
                    length,
                    field.to_column_value(value) if column else None,
                )
            )
        perdoc.append(data)
    return postings, perdoc


def _doc_lengths(perdoc: list[DocData], first: int = 0) -> dict[str, dict[int, int]]:
    """Each field's length in each document as whoosh's writer reads it back
    for block statistics (through its one-byte code)."""
    lengths: dict[str, dict[int, int]] = {}
    for docnum, data in enumerate(perdoc, first):
        for fieldname, _, length, _ in data:
            if length:
                lengths.setdefault(fieldname, {})[docnum] = byte_to_length(length_to_byte(length))
    return lengths


# -- encoding (in the workers) --------------------------------------------------------------


def _encode_list(codec: ArchivioCodec, fmt, entry: list, doclens, inline: bool = True) -> tuple[bytes, bytes]:
    """(term info bytes, posting bytes) of one posting list, as the codec's
    posting writer makes them (an in-memory file for the posting file)."""
    ids, weights, vlens, vdata = entry
    buf = StructFile(io.BytesIO())
    pw = codec.postings_writer(buf)
    if not inline:
        pw._inlinelimit = 0
    pw.start_postings(fmt, None)
    pw.add_arrays(ids, weights, vlens, bytes(vdata), doclens)
    terminfo = pw.finish_postings()
    return terminfo.to_bytes(), buf.file.getvalue()


def encode(schema: Schema, postings: Postings, perdoc: list[DocData], first: int) -> Encoded:
    """A part's posting lists as encoded blocks (or inlined term infos)."""
    codec = ArchivioCodec()
    limit = codec._inlinelimit
    lengths = _doc_lengths(perdoc, first)
    out: Encoded = {}
    for fieldname in sorted(postings):
        fmt = schema[fieldname].format
        doclens = lengths.get(fieldname)
        terms = postings[fieldname]
        rows = out[fieldname] = []
        for btext in sorted(terms):
            entry = terms.pop(btext)
            n = len(entry[0])
            if n < limit:  # most terms: a few postings, inlined
                rows.append((btext, _inline_info(entry, doclens), b"", None))
            elif n < codec._blocklimit:
                # Less than a block: encoded, and also kept raw so the parent
                # can join it with other parts' postings into full blocks.
                rows.append((btext, *_encode_list(codec, fmt, entry, doclens), entry))
            else:
                rows.append((btext, *_encode_list(codec, fmt, entry, doclens), None))
    return out


def _inline_info(entry: list, doclens) -> bytes:
    """CompactTermInfo.to_bytes() of an inlined posting list, made directly:
    the posting writer's set-up costs more than the work for a rare term."""
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


def _work(task: tuple[list[dict], int]) -> tuple[Encoded, list[DocData]]:
    docs, first = task
    assert _SCHEMA is not None
    postings, perdoc = analyse(_SCHEMA, docs, first)
    return encode(_SCHEMA, postings, perdoc, first), perdoc


# -- joining and writing (in the parent) ------------------------------------------------------


def _gather(codec: ArchivioCodec, fmt, pieces: list[tuple], doclens) -> list[tuple[bytes, bytes]]:
    """A term's pieces as (term info, posting bytes) pairs to write or join:
    runs of short pieces (inlined or raw) become one posting list, encoded
    here, so a rare term spread over the parts still fills whole blocks."""
    if len(pieces) == 1:
        return [pieces[0][:2]]  # encoded by the worker already
    out: list[tuple[bytes, bytes]] = []
    run: list[list] = []

    def flush() -> None:
        if not run:
            return
        entry = run[0] if len(run) == 1 else _concat(run)
        if len(entry[0]) < codec._inlinelimit:
            out.append((_inline_info(entry, doclens), b""))
        else:
            out.append(_encode_list(codec, fmt, entry, doclens))
        run.clear()

    for info, post, raw in pieces:
        if raw is not None:
            run.append(raw)
        elif not post:  # inlined in its part
            run.append(_raw(CompactTermInfo.from_bytes(info)))
        else:
            flush()
            out.append((info, post))
    flush()
    return out


def _raw(info: W3TermInfo) -> list:
    """The postings inlined in a term info, as raw arrays."""
    ids, weights, values = info.inlined_postings()
    has_values = bool(values) and values[0] is not None
    return [
        array("I", ids),
        array("f", weights),
        array("I", (len(v) for v in values)) if has_values else array("I"),
        bytearray(b"".join(values)) if has_values else bytearray(),
    ]


def _concat(entries: list[list]) -> list:
    out = [array("I"), array("f"), array("I"), bytearray()]
    for entry in entries:
        for i in range(4):
            out[i] += entry[i]
    return out


def _join(
    codec: ArchivioCodec, fmt, pieces: list[tuple[bytes, bytes]], doclens
) -> tuple[W3TermInfo, list[bytes]]:
    """One term's pieces from consecutive parts -> its term info and the
    posting bytes to write (header, then blocks; only the last one flagged
    as last)."""
    infos = [CompactTermInfo.from_bytes(info) for info, _ in pieces]
    total = sum(t.doc_frequency() for t in infos)
    if all(t.is_inlined() for t in infos) and total < codec._inlinelimit:
        joined = CompactTermInfo()
        ids, weights, values = [], [], []
        for t in infos:
            i, w, v = t.inlined_postings()
            ids += i
            weights += w
            values += v
        _combine_stats(joined, infos)
        joined._inlined = (tuple(ids), tuple(weights), tuple(values))
        return joined, []
    chunks: list[bytes] = []
    for t, (_, post) in zip(infos, pieces, strict=True):
        if t.is_inlined():  # a few postings in this part: encode them as a block
            i, w, v = t.inlined_postings()
            has_values = bool(v) and v[0] is not None
            entry = [
                array("I", i),
                array("f", w),
                array("I", (len(x) for x in v)) if has_values else array("I"),
                b"".join(v) if has_values else b"",
            ]
            _, post = _encode_list(codec, fmt, entry, doclens, inline=False)
        chunks.append(post[len(WHOOSH3_HEADER_MAGIC) :])
    out = [WHOOSH3_HEADER_MAGIC]
    for n, chunk in enumerate(chunks):
        out += _blocks(chunk, last=n == len(chunks) - 1)
    joined = CompactTermInfo()
    _combine_stats(joined, infos)
    return joined, out


def _blocks(data: bytes, last: bool) -> list[bytes]:
    """The blocks of a posting list; the final one flagged last only if `last`."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = unpack_int(data[pos : pos + _INT_SIZE])[0]
        size = abs(length)
        end = pos + _INT_SIZE + size
        final = end >= len(data)
        out.append(pack_int(-size if final and last else size))
        out.append(data[pos + _INT_SIZE : end])
        pos = end
    return out


def _combine_stats(joined: W3TermInfo, infos: list[W3TermInfo]) -> None:
    """W3TermInfo.add_block over all the blocks of all the pieces."""
    joined._weight = sum(t._weight for t in infos)
    joined._df = sum(t._df for t in infos)
    mins = [t._minlength for t in infos if t._minlength is not None]
    joined._minlength = min(mins) if mins else None
    joined._maxlength = max(t._maxlength for t in infos)
    joined._maxweight = max(t._maxweight for t in infos)
    joined._minid = infos[0]._minid
    joined._maxid = infos[-1]._maxid


class _Segment:
    """One segment being written: per-document data as parts arrive (the
    workers are still busy meanwhile), the postings once all have."""

    def __init__(self, ix: Index, codec: ArchivioCodec) -> None:
        self.codec = codec
        # Its temporary files live in the index's shared temp folder, removed
        # by the main writer when it finishes.
        self.writer = SegmentWriter(ix, _lk=False, codec=codec)
        self.schema = self.writer.schema
        self.count = 0
        self.lengths: dict[str, dict[int, int]] = {}

    def add_docs(self, perdoc: list[DocData]) -> None:
        pdw, schema = self.writer.perdocwriter, self.schema
        for docnum, data in enumerate(perdoc, self.count):
            pdw.start_doc(docnum)
            for fieldname, stored, length, colvalue in data:
                field = schema[fieldname]
                pdw.add_field(fieldname, field, stored, length)
                if colvalue is not None:
                    pdw.add_column_value(fieldname, field.column_type, colvalue)
            pdw.finish_doc()
        for fieldname, lengths in _doc_lengths(perdoc, self.count).items():
            self.lengths.setdefault(fieldname, {}).update(lengths)
        self.count += len(perdoc)

    def finish(self, parts: list[Encoded]):
        """Writes the postings of the parts (in document order); returns the segment."""
        writer, schema, codec = self.writer, self.schema, self.codec
        fw = writer.fieldwriter
        postfile, tindex = fw._postfile, fw._tindex
        for fieldname in sorted({f for part in parts for f in part}):
            field = schema[fieldname]
            fw.start_field(fieldname, field)
            prefix = pack_ushort(fw._fieldid)
            doclens = self.lengths.get(fieldname)
            streams = [part.pop(fieldname, []) for part in parts]
            merged = heapq.merge(*streams, key=lambda row: row[0]) if len(streams) > 1 else streams[0]
            for btext, rows in groupby(merged, key=lambda row: row[0]):
                pieces = _gather(
                    codec, field.format, [(info, post, raw) for _, info, post, raw in rows], doclens
                )
                if len(pieces) == 1:
                    info, post = pieces[0]
                    if post:  # not inlined: point the term info at where the blocks go
                        info = (
                            info[: W3TermInfo._struct.size] + pack_long(postfile.tell()) + pack_int(len(post))
                        )
                        postfile.write(post)
                else:
                    terminfo, chunks = _join(codec, field.format, pieces, doclens)
                    if chunks:
                        start = postfile.tell()
                        for chunk in chunks:
                            postfile.write(chunk)
                        terminfo.set_extent(start, postfile.tell() - start)
                    info = terminfo.to_bytes()
                tindex.add(prefix + btext, info)
            fw.finish_field()
        writer.docnum = self.count
        writer._added = True
        return writer._finalize_segment()


def build(
    ix: Index,
    docs: Iterable[dict],
    procs: int = 1,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
    total: int | None = None,
) -> int:
    """Indexes `docs` (whoosh documents) into the empty index `ix`; returns
    how many. Holds the index's write lock throughout. `total`, when known,
    sizes the parts so that every process gets an equal share."""
    global _SCHEMA
    codec = ArchivioCodec()
    main = SegmentWriter(ix, codec=codec)
    segments = []
    count = 0
    pool = None
    # Parts as big as memory allows (bigger parts make fuller blocks and
    # leave less joining to the parent), all the processes busy.
    per_segment = min(chunk, total) if total else chunk
    part = max(1, min(PART, -(-per_segment // procs)))
    try:
        schema = main.schema
        if procs > 1:
            _SCHEMA = schema
            # fork: the workers inherit the schema (not picklable with its analyzers' caches).
            pool = multiprocessing.get_context("fork").Pool(procs)
        stream = iter(docs)
        exhausted = False
        while not exhausted:
            parts: list[Encoded] = []
            segment = _Segment(ix, codec)
            pending: deque = deque()
            first = 0
            # Documents are read a part at a time, at most procs + 1 parts ahead
            # of the results: the parent never holds a whole chunk of texts.
            while True:
                while not exhausted and first < chunk and len(pending) <= procs:
                    batch = list(islice(stream, min(part, chunk - first)))
                    if not batch:
                        exhausted = True
                        break
                    if pool is not None:
                        pending.append(pool.apply_async(_work, ((batch, first),)))
                    else:
                        pending.append(_Done(_local_work(schema, batch, first)))
                    first += len(batch)
                    del batch
                if not pending:
                    break
                encoded, part_docs = pending.popleft().get()
                parts.append(encoded)
                segment.add_docs(part_docs)
                del part_docs
                if progress:
                    progress(count + segment.count)
            if segment.count:
                segments.append(segment.finish(parts))
                count += segment.count
            else:
                segment.writer._close_segment()
            del parts, segment
            if first < chunk:
                exhausted = True
        main._close_segment()
        main._commit_toc(segments)
        main._finish()
    except BaseException:
        if not main.is_closed:
            main.cancel()
        raise
    finally:
        if pool is not None:
            pool.terminate()
        _SCHEMA = None
    return count


class _Done:
    """A result already computed, shaped like an AsyncResult."""

    def __init__(self, value: object) -> None:
        self.value = value

    def get(self) -> object:
        return self.value


def _local_work(schema: Schema, docs: list[dict], first: int) -> tuple[Encoded, list[DocData]]:
    postings, perdoc = analyse(schema, docs, first)
    return encode(schema, postings, perdoc, first), perdoc


# -- incremental commits ----------------------------------------------------------------------

# Segments whose sizes are within this factor of each other form a tier.
TIER_FACTOR = 10
# A tier is merged into one segment once it holds this many.
TIER_FANOUT = 4


def merge_tiers(writer: SegmentWriter, segments: list) -> list:
    """whoosh merge policy for incremental commits: segments of similar size
    (same power of TIER_FACTOR) are merged once TIER_FANOUT of them pile
    up, smallest tier first, among the segments smaller than a tenth of the
    biggest. A document is rewritten about once per tier in the archive's
    life, and a commit never rewrites the big segments a rebuild made.
    (whoosh's MERGE_SMALL never merges 1,000-article segments: they would
    pile up, each with its own term dictionary.)"""
    from whoosh.reading import SegmentReader

    def tier_of(count: int) -> int:
        tier = 0
        while count >= TIER_FACTOR:
            count //= TIER_FACTOR
            tier += 1
        return tier

    cap = max((seg.doc_count_all() for seg in segments), default=0) // TIER_FACTOR
    tiers: dict[int, list] = {}
    for seg in segments:
        if seg.doc_count_all() < cap:
            tiers.setdefault(tier_of(seg.doc_count()), []).append(seg)
    # The segment this commit writes counts in its tier (merged ones go into it).
    new_tier = tier_of(writer.docnum - writer.docbase)
    for tier in sorted(tiers):
        group = tiers[tier]
        if len(group) + (tier == new_tier) >= TIER_FANOUT:
            for seg in group:
                reader = SegmentReader(writer.storage, writer.schema, seg)
                writer.add_reader(reader)
                reader.close()
            return [s for s in segments if s not in group]
    return segments
