"""Importers: turn files and folders into Articles, reporting what they reject.

`scan_paths` walks the given paths, picks a parser per file by content and
extension (or the format it is told), and yields `(format, item)` pairs in
file order, where an item is an `Article`, a located `Rejection`, or a
`Skipped` record (a WordPress draft, page or attachment). `read_paths` is
the same without the formats and the skipped records.

Formats (one table, `registry.IMPORT_FORMATS`): the seed's article text,
JSON, JSON Lines, HTML article pages, RSS/Atom feeds, WordPress WXR exports
and CSV; any of them gzip-compressed.
Every file is read through `streams.open_stream` (decompressed bytes capped
at MAX_FILE_BYTES); JSON, JSON Lines, CSV, feeds and WordPress exports are
streamed a record at a time, text and HTML pages read whole up to
MAX_PAGE_BYTES, so an import's memory does not grow with its input.
"""

from __future__ import annotations

import functools
import gzip
import os
import stat
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ..article import Article
from .base import (
    MAX_FILE_BYTES,
    MAX_REJECTIONS_PER_FILE,
    RecordError,
    Rejection,
    Skip,
    Skipped,
    decode_bytes,
    unexpected,
)
from .csv import CsvMapError, check_csv_map, parse_csv_map
from .registry import FORMAT_BY_NAME, FORMATS, KNOWN_SUFFIXES, LABELS, UNKNOWN, sniff
from .streams import open_stream, read_all, too_large_message

HEAD_BYTES = 8192
# A text or HTML file holds one article (at most base.MAX_BODY_CHARS of
# text): read whole, so capped well below MAX_FILE_BYTES. 16 MB of HTML
# parses in ~250 MB (lxml and trafilatura's copies).
MAX_PAGE_BYTES = 16 * 1024 * 1024

ImportItem = Article | Rejection | Skipped


def _suffix(path: Path) -> str:
    return os.path.splitext(path.name.lower().removesuffix(".gz"))[1]


def _suffix_format(path: Path) -> str | None:
    return KNOWN_SUFFIXES.get(_suffix(path))


def iter_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path | Rejection]:
    """Files named directly, and importable files found under folders."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found: list[Path] = []
            unreadable: list[OSError] = []
            # followlinks=False: a symlink loop cannot make the walk endless.
            for root, dirs, files in os.walk(path, onerror=unreadable.append):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(
                    Path(root) / f
                    for f in files
                    if not f.startswith(".") and _suffix(Path(f)) in KNOWN_SUFFIXES
                )
            for error in unreadable:
                yield Rejection(str(error.filename or path), "", f"cartella illeggibile ({error.strerror})")
            yield from sorted(found)
        elif path.exists():
            yield path
        elif path.is_symlink():
            yield Rejection(str(path), "", "collegamento simbolico interrotto o circolare")
        else:
            yield Rejection(str(path), "", "file o cartella inesistente")


def detect_format(path: Path, head: bytes) -> str | None:
    """The parser for a file: by content first (registry.IMPORT_FORMATS, in
    order), then by extension."""
    return sniff(head) or _suffix_format(path)


def scan_file(
    path: Path, fmt: str | None = None, csv_map: Mapping[str, str] | None = None
) -> Iterator[tuple[str, ImportItem]]:
    """Parses one file, yielding (format, Article | Rejection | Skipped).

    Never raises: whatever goes wrong is a Rejection located in the file.
    """
    name = str(path)
    label = fmt or _suffix_format(path) or UNKNOWN
    try:
        info = path.stat()
        # Reading a FIFO would wait forever for a writer; a device never ends.
        if not stat.S_ISREG(info.st_mode):
            yield label, Rejection(name, "", "non è un file normale (FIFO, dispositivo o socket)")
            return
        if info.st_size > MAX_FILE_BYTES:
            yield label, Rejection(name, "", too_large_message(MAX_FILE_BYTES))
            return
        stream = open_stream(path)
        try:
            head = stream.read(HEAD_BYTES)
        finally:
            stream.close()
        fmt = fmt or detect_format(path, head)
        if fmt is None:
            yield UNKNOWN, Rejection(name, "", "formato non riconosciuto")
            return
        form = FORMAT_BY_NAME.get(fmt)
        if form is None:
            yield label, Rejection(name, "", f"formato sconosciuto: {fmt!r}")
            return
        label = fmt
        if form.reading == "page":
            yield fmt, _with_origin(form.parse(decode_bytes(read_all(path, MAX_PAGE_BYTES))), name)
            return
        yield from _located(fmt, name, form.records(functools.partial(open_stream, path), csv_map))
    except _Located as e:
        yield label, Rejection(name, e.location, str(e.error))
    except RecordError as e:
        yield label, Rejection(name, "", str(e))
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        yield label, Rejection(name, "", f"impossibile leggere il file ({e.__class__.__name__}: {e})")
    except Exception as e:  # noqa: BLE001 - a parser's bug or a library's surprise: this file only
        yield label, Rejection(name, "", str(unexpected(e)))


class _Located(Exception):
    """A file's error met after some of its records: where it stopped."""

    def __init__(self, location: str, error: BaseException) -> None:
        super().__init__(location)
        self.location = location
        self.error = error


def _located(fmt: str, name: str, records: Iterable[tuple[str, object]]) -> Iterator[tuple[str, ImportItem]]:
    rejected = 0
    location = ""
    iterator = iter(records)
    while True:
        try:
            location, item = next(iterator)
        except StopIteration:
            return
        except Exception as e:  # noqa: BLE001 - see scan_file
            error = e if isinstance(e, RecordError) else unexpected(e)
            if isinstance(e, (OSError, EOFError, zlib.error)):
                error = RecordError(f"impossibile leggere il file ({e.__class__.__name__}: {e})")
            raise _Located(f"dopo {location}" if location else "", error) from None
        if isinstance(item, Article):
            yield fmt, _with_origin(item, f"{name}:{location}" if location else name)
        elif isinstance(item, Skip):
            yield fmt, Skipped(name, location, item.reason)
        else:
            yield fmt, Rejection(name, location, str(item))
            rejected += 1
            if rejected >= MAX_REJECTIONS_PER_FILE:
                # Each rejection is kept for the report: a file of garbage
                # records must not fill memory with them.
                yield (
                    fmt,
                    Rejection(
                        name,
                        location,
                        f"troppi record scartati ({MAX_REJECTIONS_PER_FILE}): "
                        "il resto del file non è stato letto",
                    ),
                )
                return


def _with_origin(article: Article, origin: str) -> Article:
    article.origin = origin
    return article


def scan_paths(
    paths: Iterable[str | os.PathLike], fmt: str | None = None, csv_map: Mapping[str, str] | None = None
) -> Iterator[tuple[str, ImportItem]]:
    """(format, item) for every record of every file under `paths`.

    `fmt` forces one format for all files; `csv_map` maps corpus fields to
    CSV column names ({"title": "titolo"}). Raises CsvMapError for a bad map
    and ValueError for an unknown format, before reading anything.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"formato sconosciuto: {fmt!r} (formati: {', '.join(FORMATS)})")
    return _scan(paths, fmt, check_csv_map(csv_map))


def _scan(
    paths: Iterable[str | os.PathLike], fmt: str | None, csv_map: Mapping[str, str]
) -> Iterator[tuple[str, ImportItem]]:
    for item in iter_files(paths):
        if isinstance(item, Rejection):
            yield UNKNOWN, item
        else:
            yield from scan_file(item, fmt, csv_map)


def read_file(
    path: Path, fmt: str | None = None, csv_map: Mapping[str, str] | None = None
) -> Iterator[Article | Rejection]:
    """Parses one file, yielding Articles and located Rejections."""
    for _, item in scan_file(path, fmt, csv_map):
        if not isinstance(item, Skipped):
            yield item


def read_paths(
    paths: Iterable[str | os.PathLike], fmt: str | None = None, csv_map: Mapping[str, str] | None = None
) -> Iterator[Article | Rejection]:
    """Articles and Rejections under `paths` (records skipped on purpose left out)."""
    for _, item in scan_paths(paths, fmt, csv_map):
        if not isinstance(item, Skipped):
            yield item


__all__ = [
    "FORMATS",
    "KNOWN_SUFFIXES",
    "LABELS",
    "UNKNOWN",
    "CsvMapError",
    "ImportItem",
    "Rejection",
    "Skipped",
    "detect_format",
    "parse_csv_map",
    "read_file",
    "read_paths",
    "scan_file",
    "scan_paths",
]
