"""JSON Lines and JSON arrays with the corpus keys, gzip-compressed or not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from .base import RecordError, article_from_record, decode_bytes

# Guard against pathological nesting ("[[[[...") before json recurses.
MAX_DEPTH_HINT = 200


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise RecordError("JSON annidato troppo in profondità") from None
    except json.JSONDecodeError as e:
        raise RecordError(f"JSON non valido ({e.msg}, colonna {e.colno})") from None


def parse_json_lines(stream: BinaryIO) -> Iterator[tuple[str, object]]:
    """Yields (location, Article | RecordError) per non-blank line."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        location = f"riga {number}"
        try:
            record = _loads(decode_bytes(raw))
            yield location, article_from_record(record)
        except RecordError as e:
            yield location, e


def parse_json_document(stream: BinaryIO) -> Iterator[tuple[str, object]]:
    """A JSON array of records (or a single record object)."""
    try:
        data = _loads(decode_bytes(stream.read()))
    except RecordError as e:
        yield "", e
        return
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        location = f"record {number}"
        try:
            yield location, article_from_record(record)
        except RecordError as e:
            yield location, e


def looks_like_json_lines(head: bytes) -> bool:
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first != b"{":
        return False
    line = head.split(b"\n", 1)[0].strip()
    return line.endswith(b"}") or b"\n{" in head
