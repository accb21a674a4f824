"""Locating and streaming the shared dev corpus and eval queries."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

# /work/main/bench/data.py -> /work/shared; the data never lives inside the repo.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHIFT_DAYS = 397  # not a multiple of 7 or 365, so replicas spread over weekdays/seasons


def shared_dir() -> Path:
    """Shared data directory, read at call time so ARCHIVIO_SHARED can override it."""
    return Path(os.environ.get("ARCHIVIO_SHARED") or SHARED)


def corpus_path() -> Path:
    return shared_dir() / "corpus" / "italian_news_dev.jsonl.gz"


def queries_path() -> Path:
    return shared_dir() / "eval" / "queries_dev.jsonl"


def hard_queries_path() -> Path:
    return shared_dir() / "eval" / "queries_dev_hard.jsonl"


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def load_corpus(path: Path | str | None = None, limit: int | None = None) -> Iterator[dict]:
    """Stream article records one at a time (the corpus is ~40 MB uncompressed)."""
    with _open_text(Path(path) if path else corpus_path()) as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                return
            if line.strip():
                yield json.loads(line)


def load_queries(path: Path | str | None = None) -> list[dict]:
    with _open_text(Path(path) if path else queries_path()) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def replicate(records: Iterable[dict], factor: int) -> Iterator[dict]:
    """Yield `factor` copies of each record; copy 0 is the original, copy k gets
    id `<id>-r<k>` and its date shifted by k*397 days. Single pass, so it streams."""
    for rec in records:
        yield rec
        for k in range(1, factor):
            copy = dict(rec, id=f"{rec['id']}-r{k}")
            if rec.get("date"):
                shifted = date.fromisoformat(rec["date"]) + timedelta(days=k * SHIFT_DAYS)
                copy["date"] = shifted.isoformat()
            yield copy
