"""Full rebuilds in two parallel phases, a few big segments.

whoosh's writer puts every posting through a pool (a tuple per posting,
sorted, spilled to run files), then writes them back one by one; with
several processes it makes one segment per process, each with its own
term dictionary (a third of the index, duplicated). Here, for each
segment of up to `chunk` articles:

1. worker processes analyse consecutive parts of the archive in bulk
   (search.whoosh_sqlite.indexing.partpostings) and write each part's sorted postings to a run
   file (search.whoosh_sqlite.indexing.runs); the parent writes the per-document data (stored
   fields, lengths, columns) as parts come back, and reads the next parts
   from the store meanwhile;
2. workers encode term ranges of each field, joining the runs' postings
   into whole posting lists (search.whoosh_sqlite.indexing.termblocks); the parent appends the
   ranges, in order, to the segment's posting file and term dictionary.

Each posting is analysed once and encoded once, and neither phase leaves
per-posting work to the parent. Memory stays bounded: a worker holds a part
or a term range, the parent a part's texts and the documents' small data,
whatever the size of the archive (1,000,000 articles make ten segments).

The files are whoosh's (W3 codec). An incremental import writes its
articles the same way, in one process (`add_segments`), as a segment that
whoosh's writer commits beside its deletions; merges of small segments
(`merge_tiers`) go through whoosh's writer as usual.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice

from whoosh.fields import Schema
from whoosh.index import Index
from whoosh.writing import SegmentWriter

from ...errors import WriteFailed
from ...settings import env_int
from ..formats import ArchivioCodec
from .partpostings import DocData, analyse_part
from .runs import Run, plan_ranges, write_run
from .termblocks import EncodedRange, TermRange, encode_range, place

# Articles per segment.
CHUNK = 100_000
# Articles per part (phase 1), and characters of text: a part's analysis
# holds ~13 bytes of Python objects per character of text. Measured on the
# dev corpus (19,902 articles, one process), peak RSS of a rebuild: parts of
# 12,500 articles 633 MB, 4,000 394 MB, 2,000 288 MB (17.3 s instead of
# 15.6); a character cap keeps long articles (up to 1,000,000 characters
# each) from making a part of gigabytes. At 100,000 articles with two
# processes: 29 s, 216 MB in the parent and 349 MB per worker.
PART = 4_000
PART_CHARS = 8_000_000
# Processes a rebuild may use (the CLI's --procs range, ARCHIVIO_PROCS).
MAX_PROCS = 16
# Term ranges per process and segment (phase 2): enough to keep every
# process busy to the end, each range a few MB of postings.
RANGES_PER_PROC = 6
# ... but not smaller than this many postings (a range has a fixed cost),
# nor larger than this many: a range's postings are held in memory while
# it is encoded (512 articles of 1,000,000 characters made 6 ranges of ~7
# million postings; capped, that rebuild's peak went from 1.31 to 0.99 GB).
MIN_RANGE = 50_000
MAX_RANGE = 1_000_000

_SCHEMA: Schema | None = None  # a worker process's schema (set by the pool's initializer)

# prctl option: the signal a process gets when its parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def default_procs(articles: int) -> int:
    """Processes for a rebuild of `articles` when none are asked for:
    ARCHIVIO_PROCS when set, else one per usable core, but no more than
    there are parts to analyse (a pool for a part or two costs more than it
    saves: the demo's 51 articles rebuild in one process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    cores = env_int("ARCHIVIO_PROCS", cores, minimum=1, maximum=MAX_PROCS)
    return max(1, min(cores, -(-articles // PART), MAX_PROCS))


def _start_worker(schema: Schema, parent: int) -> None:
    """A worker's initializer: dies with its parent (a killed rebuild leaves no
    orphans writing into its `.building` folder), then keeps the schema."""
    global _SCHEMA
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl: then this process has been re-parented.
    if os.getppid() != parent:
        os._exit(1)
    _SCHEMA = schema


def worker_died() -> WriteFailed:
    """The error of a rebuild whose worker process died (killed, out of memory)."""
    return WriteFailed(
        "Un processo di indicizzazione è terminato all'improvviso (ucciso, o memoria esaurita): "
        "ricostruzione annullata, l'indice precedente resta in uso. "
        "Riprova, eventualmente con meno processi (--procs)."
    )


def _analyse(schema: Schema, task: tuple[list[dict], int, str]) -> tuple[Run, list[DocData]]:
    docs, first, path = task
    part, perdoc = analyse_part(schema, docs, first)
    return write_run(path, part), perdoc


def _encode(schema: Schema, task: TermRange) -> EncodedRange:
    return encode_range(schema[task.fieldname].format, task, ArchivioCodec())


def _analyse_in_worker(task: tuple[list[dict], int, str]) -> tuple[Run, list[DocData]]:
    assert _SCHEMA is not None
    return _analyse(_SCHEMA, task)


def _encode_in_worker(task: TermRange) -> EncodedRange:
    assert _SCHEMA is not None
    return _encode(_SCHEMA, task)


class _Workers:
    """Where the two phases run: a pool of forked processes, or this one.

    A concurrent.futures pool, not multiprocessing.Pool: when a worker dies
    (kill -9, the OOM killer) multiprocessing.Pool starts another and waits
    forever for the lost task, holding the writer lock; this pool fails every
    pending task with BrokenProcessPool as soon as the worker's sentinel
    fires, which becomes WriteFailed here."""

    def __init__(self, schema: Schema, procs: int) -> None:
        self.schema = schema
        self.procs = procs
        # fork: the workers inherit the schema (not picklable with its analyzers' caches).
        self.pool = (
            ProcessPoolExecutor(
                procs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(schema, os.getpid()),
            )
            if procs > 1
            else None
        )
        # Parts in flight: each worker busy and one more waiting.
        self.ahead = procs + 1 if self.pool is not None else 1

    def analyse(self, task: tuple[list[dict], int, str]):
        """Phase 1 for a part; the result has .get()."""
        if self.pool is None:
            return _Done(_analyse(self.schema, task))
        try:
            return _Pending(self.pool.submit(_analyse_in_worker, task))
        except BrokenProcessPool:
            raise worker_died() from None

    def encode(self, tasks: list[TermRange]) -> Iterator[EncodedRange]:
        """Phase 2 for a segment, results in task order."""
        if self.pool is None:
            return (_encode(self.schema, task) for task in tasks)
        return self._encode_in_pool(tasks)

    def _encode_in_pool(self, tasks: list[TermRange]) -> Iterator[EncodedRange]:
        assert self.pool is not None
        try:
            yield from self.pool.map(_encode_in_worker, tasks)
        except BrokenProcessPool:
            raise worker_died() from None

    def close(self, failed: bool = False) -> None:
        if self.pool is None:
            return
        if failed:
            # The workers may be mid-task: stop them rather than wait for work nobody wants.
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Segment:
    """One segment being written."""

    def __init__(self, ix: Index, codec: ArchivioCodec) -> None:
        # Its temporary files live in the index's shared temp folder, removed
        # by the main writer when it finishes.
        self.writer = SegmentWriter(ix, _lk=False, codec=codec)
        self.schema = self.writer.schema
        self.count = 0
        self.runs: list[Run] = []

    def add_part(self, run: Run, perdoc: list[DocData]) -> None:
        pdw, schema = self.writer.perdocwriter, self.schema
        for docnum, data in enumerate(perdoc, self.count):
            pdw.start_doc(docnum)
            for fieldname, stored, length, colvalue in data:
                field = schema[fieldname]
                pdw.add_field(fieldname, field, stored, length)
                if colvalue is not None:
                    pdw.add_column_value(fieldname, field.column_type, colvalue)
            pdw.finish_doc()
        self.count += len(perdoc)
        self.runs.append(run)

    def tasks(self, procs: int) -> list[TermRange]:
        """Phase 2's work: each field's terms cut into ranges, fields in the
        order of their ids in the term dictionary."""
        fieldnames = sorted({name for run in self.runs for name in run.fields})
        total = sum(f.posting_count for run in self.runs for f in run.fields.values())
        target = min(MAX_RANGE, max(MIN_RANGE, total // (RANGES_PER_PROC * procs)))
        return [
            TermRange(self.runs, fieldname, fieldid, lo, hi)
            for fieldid, fieldname in enumerate(fieldnames)
            for lo, hi in plan_ranges(self.runs, fieldname, target)
        ]

    def finish(self, tasks: list[TermRange], results: Iterator[EncodedRange]):
        """Writes the encoded ranges (in task order); returns the segment."""
        fw = self.writer.fieldwriter
        postfile, tindex = fw._postfile, fw._tindex
        assert tindex.hashtype == 0  # the md5 hash termblocks computes
        current = None
        for task, encoded in zip(tasks, results, strict=True):
            if task.fieldname != current:
                if current is not None:
                    fw.finish_field()
                fw.start_field(task.fieldname, self.schema[task.fieldname])
                assert fw._fieldid == task.fieldid
                current = task.fieldname
            place(encoded, postfile, tindex)
        if current is not None:
            fw.finish_field()
        self.writer.docnum = self.count
        self.writer._added = True
        for run in self.runs:
            os.remove(run.path)
        return self.writer._finalize_segment()


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
    codec = ArchivioCodec()
    main = SegmentWriter(ix, codec=codec)
    try:
        segments = list(write_segments(ix, docs, procs, progress, chunk, total))
        main._close_segment()
        main._commit_toc(segments)
        main._finish()
    except BaseException:
        if not main.is_closed:
            main.cancel()
        raise
    return sum(segment.doc_count_all() for segment in segments)


def add_segments(ix: Index, writer: SegmentWriter, docs: list[dict]) -> None:
    """Writes `docs` as new segments of `ix` (in this process) that the
    next commit of `writer`, which holds the lock, takes in: an incremental
    import without whoosh's per-document writer. Deletions go through
    `writer` first (its document offsets are those of the older segments).
    No documents (a removal): no segment, no temporary files."""
    if docs:
        writer.segments.extend(write_segments(ix, docs))


def write_segments(
    ix: Index,
    docs: Iterable[dict],
    procs: int = 1,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
    total: int | None = None,
) -> Iterator:
    """Segments of up to `chunk` of `docs` each, written into `ix`'s storage
    (for a writer holding the lock to commit)."""
    codec = ArchivioCodec()
    # Parts as big as memory allows, all the processes busy.
    per_segment = min(chunk, total) if total else chunk
    part = max(1, min(PART, -(-per_segment // procs)))
    folder = getattr(ix.storage, "folder", None)
    stream = iter(docs)
    done = 0
    workers = _Workers(ix.schema, procs)
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="runs-", dir=folder) as tmp:
            while True:
                segment = _Segment(ix, codec)
                _analyse_segment(segment, stream, workers, part, chunk, tmp, done, progress)
                if not segment.count:
                    segment.writer._close_segment()
                    return
                tasks = segment.tasks(procs)
                yield segment.finish(tasks, workers.encode(tasks))
                done += segment.count
                if segment.count < chunk:
                    return
    except BaseException:
        failed = True
        raise
    finally:
        workers.close(failed)


def _analyse_segment(
    segment: _Segment,
    stream: Iterator[dict],
    workers: _Workers,
    part: int,
    chunk: int,
    tmp: str,
    done: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Phase 1 for one segment: documents are read a part at a time, at most
    procs + 1 parts ahead of the results, so the parent never holds a whole
    chunk of texts."""
    pending: deque = deque()
    first = 0
    exhausted = False
    while True:
        # Workers analyse procs parts while the next one is read; in this
        # process, one part at a time.
        while not exhausted and first < chunk and len(pending) < workers.ahead:
            batch = _take(stream, min(part, chunk - first), PART_CHARS)
            if not batch:
                exhausted = True
                break
            pending.append(workers.analyse((batch, first, os.path.join(tmp, f"run-{done + first}"))))
            first += len(batch)
            del batch
        if not pending:
            return
        run, perdoc = pending.popleft().get()
        segment.add_part(run, perdoc)
        if progress:
            progress(done + segment.count)


def _take(stream: Iterator[dict], count: int, chars: int) -> list[dict]:
    """The next documents of `stream`: `count` of them, or fewer once their
    text reaches `chars` characters (at least one)."""
    batch: list[dict] = []
    size = 0
    for doc in islice(stream, count):
        batch.append(doc)
        size += len(doc.get("exact") or "")
        if size >= chars:
            break
    return batch


class _Done:
    """A result already computed, shaped like _Pending."""

    def __init__(self, value: object) -> None:
        self.value = value

    def get(self) -> object:
        return self.value


class _Pending:
    """A worker's result to come; a dead worker raises WriteFailed."""

    def __init__(self, future: Future) -> None:
        self.future = future

    def get(self) -> object:
        try:
            return self.future.result()
        except BrokenProcessPool:
            raise worker_died() from None


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
    # The segment this commit writes, if any, counts in its tier (merged ones go into it).
    added = writer.docnum - writer.docbase
    new_tier = tier_of(added) if added else None
    for tier in sorted(tiers):
        group = tiers[tier]
        if len(group) + (tier == new_tier) >= TIER_FANOUT:
            for seg in group:
                reader = SegmentReader(writer.storage, writer.schema, seg)
                writer.add_reader(reader)
                reader.close()
            return [s for s in segments if s not in group]
    return segments
