"""Run files: a part's sorted postings on disk between a rebuild's two phases.

A worker that has analysed a part (search.whoosh_sqlite.indexing.partpostings) writes its posting
lists to one file, field by field, as raw arrays; the second phase
(search.whoosh_sqlite.indexing.termblocks) reads back one term range of one field from every
run of a segment. The files live in the index's folder for the length of
a segment and hold the raw postings only once, so the parent process never
holds them: its memory stays bounded whatever the size of the archive.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .partpostings import FieldPostings, PartPostings

# A section: (byte offset, dtype, item count).
Section = tuple[int, str, int]
# Terms sampled per field for planning the second phase's ranges.
SAMPLES = 64


@dataclass
class FieldRun:
    sections: dict[str, Section]
    term_count: int
    posting_count: int
    # Every few terms: (term, postings before it); for balancing the ranges.
    sample: list[tuple[bytes, int]]


@dataclass
class Run:
    """Where a part's postings are on disk (what the parent keeps of a part)."""

    path: str
    first: int
    count: int
    fields: dict[str, FieldRun]
    lengths: dict[str, Section]


def write_run(path: str | Path, part: PartPostings) -> Run:
    sections_of: dict[str, dict[str, Section]] = {}
    lengths: dict[str, Section] = {}
    with open(path, "wb") as f:

        def put(values: np.ndarray | bytes) -> Section:
            array = np.frombuffer(values, dtype=np.uint8) if isinstance(values, bytes) else values
            section = (f.tell(), array.dtype.str, len(array))
            f.write(memoryview(np.ascontiguousarray(array)).cast("B"))
            return section

        for fieldname, fp in part.fields.items():
            ends = np.cumsum([len(t) for t in fp.terms], dtype=np.int64)
            sections_of[fieldname] = {
                "term_bytes": put(b"".join(fp.terms)),
                "term_ends": put(ends),
                "starts": put(fp.starts),
                "docs": put(fp.docs),
                "weights": put(fp.weights),
                "vlens": put(fp.vlens),
                "vstarts": put(fp.vstarts),
                "vdata": put(fp.vdata),
            }
        for fieldname, values in part.lengths.items():
            lengths[fieldname] = put(values.astype(np.int64))
    fields = {
        name: FieldRun(sections_of[name], len(fp.terms), fp.posting_count, _sample(fp))
        for name, fp in part.fields.items()
    }
    return Run(str(path), part.first, part.count, fields, lengths)


def _sample(fp: FieldPostings) -> list[tuple[bytes, int]]:
    step = max(1, len(fp.terms) // SAMPLES)
    return [(fp.terms[i], int(fp.starts[i])) for i in range(0, len(fp.terms), step)]


class RunReader:
    """Reads term ranges of a run's fields."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.file = open(run.path, "rb")  # noqa: SIM115 - closed by close()

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> RunReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, section: Section, start: int = 0, stop: int | None = None) -> np.ndarray:
        offset, dtype, count = section
        dt = np.dtype(dtype)
        stop = count if stop is None else stop
        self.file.seek(offset + start * dt.itemsize)
        return np.fromfile(self.file, dtype=dt, count=stop - start)

    def lengths(self, fieldname: str) -> np.ndarray | None:
        section = self.run.lengths.get(fieldname)
        return None if section is None else self._read(section)

    def field_range(self, fieldname: str, lo: bytes | None, hi: bytes | None) -> FieldPostings | None:
        """The postings of the terms t with lo <= t < hi (None: unbounded)."""
        field = self.run.fields.get(fieldname)
        if field is None:
            return None
        s = field.sections
        ends = self._read(s["term_ends"]).tolist()
        blob = self._read(s["term_bytes"]).tobytes()
        terms = _TermList(blob, ends)
        i = 0 if lo is None else bisect_left(terms, lo)
        j = len(ends) if hi is None else bisect_left(terms, hi)
        if i >= j:
            return None
        starts = self._read(s["starts"], i, j + 1)
        vstarts = self._read(s["vstarts"], i, j + 1)
        p0, p1 = int(starts[0]), int(starts[-1])
        v0, v1 = int(vstarts[0]), int(vstarts[-1])
        has_values = s["vlens"][2] > 0
        return FieldPostings(
            terms=[terms[k] for k in range(i, j)],
            starts=starts - p0,
            docs=self._read(s["docs"], p0, p1),
            weights=self._read(s["weights"], p0, p1),
            vlens=self._read(s["vlens"], p0, p1) if has_values else np.zeros(0, dtype=np.uint32),
            vstarts=vstarts - v0,
            vdata=self._read(s["vdata"], v0, v1).tobytes() if has_values else b"",
        )


class _TermList:
    """The terms of a run's field as a sequence, read from one bytes object."""

    def __init__(self, blob: bytes, ends: list[int]) -> None:
        self.blob = blob
        self.ends = ends

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.ends[i - 1] if i else 0 : self.ends[i]]


def plan_ranges(runs: list[Run], fieldname: str, target: int) -> list[tuple[bytes | None, bytes | None]]:
    """A field's terms cut into ranges of about `target` postings (all runs
    together), from the runs' samples: [(lo, hi), ...], in term order."""
    total = sum(run.fields[fieldname].posting_count for run in runs if fieldname in run.fields)
    pieces = -(-total // max(1, target))
    if pieces <= 1:
        return [(None, None)]
    # Each sampled term carries the postings up to the next sample of its run.
    weighted: list[tuple[bytes, int]] = []
    for run in runs:
        field = run.fields.get(fieldname)
        if field is None:
            continue
        marks = [*field.sample, (b"", field.posting_count)]
        weighted += [(term, marks[k + 1][1] - before) for k, (term, before) in enumerate(marks[:-1])]
    weighted.sort()
    cuts: list[bytes] = []
    step, seen = total / pieces, 0
    for term, weight in weighted:
        if seen >= step * (len(cuts) + 1) and (not cuts or term > cuts[-1]):
            cuts.append(term)
        seen += weight
    bounds: list[bytes | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:], strict=True))
