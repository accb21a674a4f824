"""Importers: turn files and folders into Articles, reporting what they reject.

`read_paths` walks the given paths, picks a parser per file by extension
and content, and yields `Article`s and `Rejection`s in file order.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..article import Article
from .base import MAX_FILE_BYTES, RecordError, Rejection, read_text
from .jsonfile import looks_like_json_lines, parse_json_document, parse_json_lines
from .textfile import looks_like_article_text, parse_article_text

FORMATS = ("text", "jsonl", "json")
# Extensions picked up when walking a folder; other files there are skipped.
KNOWN_SUFFIXES = {".txt": "text", ".md": "text", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def _suffix_format(path: Path) -> str | None:
    name = path.name.lower().removesuffix(".gz")
    return KNOWN_SUFFIXES.get(os.path.splitext(name)[1])


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Rejection]:
    """Files named directly, and importable files found under folders."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found: list[Path] = []
            # followlinks=False: a symlink loop cannot make the walk endless.
            for root, dirs, files in os.walk(path, onerror=None):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(
                    Path(root) / f for f in files if not f.startswith(".") and _suffix_format(Path(f))
                )
            yield from sorted(found)
        elif path.exists():
            yield path
        else:
            yield Rejection(str(path), "", "file o cartella inesistente")


def detect_format(path: Path, head: bytes) -> str | None:
    """The parser for a file: by content first, then by extension."""
    if looks_like_json_lines(head):
        return "jsonl"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        return "json"
    try:
        text_head = head.decode("utf-8", errors="ignore")
    except Exception:  # pragma: no cover - decode with ignore never raises
        text_head = ""
    if looks_like_article_text(text_head):
        return "text"
    return _suffix_format(path)


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_file(path: Path, fmt: str | None = None) -> Iterator[Article | Rejection]:
    """Parses one file, yielding Articles and located Rejections."""
    name = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            yield Rejection(name, "", "file troppo grande")
            return
        with _open(path) as stream:
            head = stream.read(4096)
        fmt = fmt or detect_format(path, head)
        if fmt is None:
            yield Rejection(name, "", "formato non riconosciuto")
            return
        if fmt == "text":
            yield _with_origin(parse_article_text(read_text_maybe_gz(path)), name)
            return
        parse = parse_json_lines if fmt == "jsonl" else parse_json_document
        with _open(path) as stream:
            for location, item in parse(stream):
                if isinstance(item, RecordError):
                    yield Rejection(name, location, str(item))
                else:
                    yield _with_origin(item, f"{name}:{location}")
    except RecordError as e:
        yield Rejection(name, "", str(e))
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        yield Rejection(name, "", f"impossibile leggere il file ({e.__class__.__name__}: {e})")


def read_text_maybe_gz(path: Path) -> str:
    if path.name.lower().endswith(".gz"):
        from .base import decode_bytes

        with gzip.open(path, "rb") as f:
            return decode_bytes(f.read())
    return read_text(path)


def _with_origin(article: Article, origin: str) -> Article:
    article.origin = origin
    return article


def read_paths(paths: Iterable[str | Path], fmt: str | None = None) -> Iterator[Article | Rejection]:
    for item in iter_files(paths):
        if isinstance(item, Rejection):
            yield item
        else:
            yield from read_file(item, fmt)


__all__ = ["FORMATS", "Rejection", "read_file", "read_paths"]
