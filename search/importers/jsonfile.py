"""JSON Lines and JSON arrays with the corpus keys, gzip-compressed or not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from .base import RecordError, article_from_record, decode_bytes

# Guard against pathological nesting ("[[[[...") before json recurses.
MAX_DEPTH_HINT = 200


# The json module's messages, for the reader.
_JSON_ERRORS = {
    "Expecting value": "manca un valore",
    "Unterminated string starting at": "testo tra virgolette non chiuso",
    "Expecting ',' delimiter": "manca una virgola",
    "Expecting ':' delimiter": "mancano i due punti",
    "Expecting property name enclosed in double quotes": "atteso un nome di campo tra virgolette",
    "Extra data": "altri dati dopo la fine del JSON",
    "Invalid control character at": "carattere di controllo non ammesso",
    "Invalid \\escape": "sequenza di escape non valida",
    "Invalid \\uXXXX escape": "sequenza \\uXXXX non valida",
}


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise RecordError("JSON annidato troppo in profondità") from None
    except json.JSONDecodeError as e:
        where = f"riga {e.lineno}, colonna {e.colno}" if e.lineno > 1 else f"colonna {e.colno}"
        raise RecordError(f"JSON non valido ({_JSON_ERRORS.get(e.msg, e.msg)}, {where})") from None


# Longest line read: a record is far smaller (see base.MAX_BODY_CHARS), so a
# longer line is rejected without holding it in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line), or None for a line longer than `limit`, which is skipped."""
    number = 0
    while line := stream.readline(limit + 1):
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


def parse_json_lines(stream: BinaryIO) -> Iterator[tuple[str, object]]:
    """Yields (location, Article | RecordError) per non-blank line."""
    for number, raw in _lines(stream, MAX_LINE_BYTES):
        location = f"riga {number}"
        if raw is None:
            yield location, RecordError(f"riga troppo lunga (oltre {MAX_LINE_BYTES // 2**20} MB)")
            continue
        if not raw.strip():
            continue
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
