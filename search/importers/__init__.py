"""Importers: turn files and folders into Articles, reporting what they reject.

`scan_paths` walks the given paths, picks a parser per file by content and
extension (or the format it is told), and yields `(format, item)` pairs in
file order, where an item is an `Article`, a located `Rejection`, or a
`Skipped` record (a WordPress draft, page or attachment). `read_paths` is
the same without the formats and the skipped records.

Formats: the seed's article text, JSON, JSON Lines, HTML article pages,
RSS/Atom feeds, WordPress WXR exports and CSV; any of them gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ..article import Article
from .base import (
    MAX_FILE_BYTES,
    RecordError,
    Rejection,
    Skip,
    Skipped,
    decode_bytes,
    repair_mojibake,
)
from .csv import CsvMapError, check_csv_map, looks_like_csv, parse_csv, parse_csv_map
from .feed import looks_like_feed, parse_feed
from .html import looks_like_html, parse_html_page
from .jsonfile import looks_like_json_lines, parse_json_document, parse_json_lines
from .textfile import looks_like_article_text, parse_article_text
from .wxr import looks_like_wxr, parse_wxr

FORMATS = ("text", "json", "jsonl", "html", "rss", "wxr", "csv")
# What a rejection is counted under when the file's format is not known.
UNKNOWN = "unknown"
# Extensions picked up when walking a folder, and the format each suggests
# when the content does not tell (.xml: a feed or a WordPress export, by content).
KNOWN_SUFFIXES = {
    ".txt": "text",
    ".md": "text",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".rss": "rss",
    ".atom": "rss",
    ".xml": None,
    ".csv": "csv",
    ".tsv": "csv",
}
HEAD_BYTES = 8192

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


def _head_text(head: bytes) -> str:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff")


def detect_format(path: Path, head: bytes) -> str | None:
    """The parser for a file: by content first, then by extension."""
    if looks_like_json_lines(head):
        return "jsonl"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        return "json"
    text_head = _head_text(head)
    if text_head.lstrip()[:1] == "<":
        if looks_like_wxr(text_head):
            return "wxr"
        if looks_like_feed(text_head):
            return "rss"
        if looks_like_html(text_head):
            return "html"
        return _suffix_format(path)
    if looks_like_article_text(text_head):
        return "text"
    if looks_like_csv(text_head):
        return "csv"
    return _suffix_format(path)


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _read_bytes(path: Path) -> bytes:
    """The whole file, decompressed; a gzip that inflates past the limit is refused."""
    with _open(path) as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise RecordError("file troppo grande (oltre 512 MB una volta decompresso)")
    return data


def scan_file(
    path: Path, fmt: str | None = None, csv_map: Mapping[str, str] | None = None
) -> Iterator[tuple[str, ImportItem]]:
    """Parses one file, yielding (format, Article | Rejection | Skipped)."""
    name = str(path)
    label = fmt or _suffix_format(path) or UNKNOWN
    try:
        info = path.stat()
        # Reading a FIFO would wait forever for a writer; a device never ends.
        if not stat.S_ISREG(info.st_mode):
            yield label, Rejection(name, "", "non è un file normale (FIFO, dispositivo o socket)")
            return
        if info.st_size > MAX_FILE_BYTES:
            yield label, Rejection(name, "", "file troppo grande")
            return
        with _open(path) as stream:
            head = stream.read(HEAD_BYTES)
        fmt = fmt or detect_format(path, head)
        if fmt is None:
            yield UNKNOWN, Rejection(name, "", "formato non riconosciuto")
            return
        label = fmt
        if fmt == "text":
            text = repair_mojibake(decode_bytes(_read_bytes(path)), "il testo")
            yield fmt, _with_origin(parse_article_text(text), name)
            return
        if fmt == "html":
            yield fmt, _with_origin(parse_html_page(decode_bytes(_read_bytes(path))), name)
            return
        if fmt in ("json", "jsonl"):
            parse = parse_json_lines if fmt == "jsonl" else parse_json_document
            with _open(path) as stream:
                yield from _located(fmt, name, parse(stream))
            return
        if fmt == "csv":
            records = parse_csv(_read_bytes(path), csv_map)
        elif fmt == "rss":
            records = parse_feed(_read_bytes(path))
        else:
            records = parse_wxr(_read_bytes(path))
        yield from _located(fmt, name, records)
    except RecordError as e:
        yield label, Rejection(name, "", str(e))
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        yield label, Rejection(name, "", f"impossibile leggere il file ({e.__class__.__name__}: {e})")


def _located(fmt: str, name: str, records: Iterable[tuple[str, object]]) -> Iterator[tuple[str, ImportItem]]:
    for location, item in records:
        if isinstance(item, Article):
            yield fmt, _with_origin(item, f"{name}:{location}" if location else name)
        elif isinstance(item, Skip):
            yield fmt, Skipped(name, location, item.reason)
        else:
            yield fmt, Rejection(name, location, str(item))


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
