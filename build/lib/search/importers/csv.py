"""CSV with a header row: one article per row.

Columns are matched to the corpus fields by name, in English or Italian
(`title`/`titolo`, `body`/`testo`...); `--map title=titolo,body=testo`
names them explicitly. The delimiter is `;` (Italian spreadsheets), `,` or
a tab, whichever the header line uses.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..article import FIELDS
from .base import RecordError, article_from_record, normalize_paragraphs, scoped_id, unexpected
from .htmltext import html_to_text
from .streams import CHUNK, Stream, sniff_encoding

# Column names recognised without a map, per field (compared lower case, "_" for spaces).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "identificativo", "codice"),
    "title": ("title", "titolo", "headline"),
    "subtitle": ("subtitle", "sottotitolo", "sommario", "catenaccio"),
    "author": ("author", "autore", "autori", "firma", "byline"),
    "date": ("date", "data", "data_pubblicazione", "pubblicato", "published"),
    "category": ("category", "categoria", "sezione", "rubrica", "section"),
    "body": ("body", "testo", "corpo", "contenuto", "text", "content", "articolo"),
    "url": ("url", "link", "indirizzo", "permalink"),
    "source": ("source", "fonte", "testata"),
}
_DELIMITERS = (";", ",", "\t")
_HTML_HINT = re.compile(r"<(?:p|br|div|h[1-6]|ul|ol|li|strong|em|a)\b[^>]*>", re.I)


class CsvMapError(ValueError):
    """A malformed --map; the message says why, in Italian."""


def parse_csv_map(text: str | None) -> dict[str, str]:
    """`title=titolo,body=testo` -> {"title": "titolo", "body": "testo"}."""
    mapping: dict[str, str] = {}
    if not text:
        return mapping
    for part in text.split(","):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not column:
            raise CsvMapError(f"voce della mappa non valida: {part.strip()!r} (atteso campo=colonna)")
        if field not in FIELDS:
            raise CsvMapError(f"campo sconosciuto nella mappa: {field!r} (campi: {', '.join(FIELDS)})")
        if field in mapping:
            raise CsvMapError(f"campo ripetuto nella mappa: {field!r}")
        mapping[field] = column
    return mapping


def check_csv_map(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Validates a mapping given as a dict (the Python API)."""
    if not mapping:
        return {}
    unknown = [k for k in mapping if k not in FIELDS]
    if unknown:
        raise CsvMapError(f"campo sconosciuto nella mappa: {unknown[0]!r} (campi: {', '.join(FIELDS)})")
    return {k: str(v).strip() for k, v in mapping.items()}


def _key(name: str) -> str:
    return "_".join(name.strip().lstrip("\ufeff").lower().split())


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header uses most (outside quotes); ',' on a tie."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def looks_like_csv(text_head: str) -> bool:
    """A header line naming at least a title and a text column."""
    first = text_head.lstrip("\ufeff").split("\n", 1)[0].strip("\r")
    if not first or first.startswith(("<", "{", "[", "#")):
        return False
    delimiter = sniff_delimiter(first)
    names = {_key(c.strip('"')) for c in first.split(delimiter)}
    return bool(names & set(ALIASES["title"])) and bool(names & set(ALIASES["body"]))


def _columns(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Field -> column index; raises RecordError when a mapped column is missing."""
    by_key: dict[str, int] = {}
    for index, name in enumerate(header):
        by_key.setdefault(_key(name), index)
    columns: dict[str, int] = {}
    for field, column in mapping.items():
        index = by_key.get(_key(column))
        if index is None:
            raise RecordError(
                f"colonna {column!r} (per {field}) assente nell'intestazione: {', '.join(header)}"
            )
        columns[field] = index
    mapped = set(columns.values())
    for field in FIELDS:
        if field in columns:
            continue
        for alias in ALIASES[field]:
            index = by_key.get(alias)
            if index is not None and index not in mapped:
                columns[field] = index
                break
    for field, option in (("title", "title"), ("body", "body")):
        if field not in columns:
            raise RecordError(
                f"nessuna colonna per {'il titolo' if field == 'title' else 'il testo'} "
                f"(intestazione: {', '.join(header)}); indicala con --map {option}=NOME_COLONNA"
            )
    return columns


# Longest CSV line, and longest field (a quoted field may span lines): far
# beyond a real article (base.MAX_BODY_CHARS), short of filling memory.
MAX_CSV_LINE_BYTES = 16 * 1024 * 1024
# One character class, no repeated group: sre keeps no backtracking state per line.
_BLANK_RUN = re.compile(rb"[ \t\r\f\v\n]*\n")


def _csv_lines(stream: Stream, starts: list[int]) -> Iterator[str]:
    """The stream's lines (UTF-8), newline kept, for csv.reader; each line's
    number is appended to `starts`. A run of blank lines comes as one: a
    gzip of newlines costs a regex match per megabyte, not a step per line.
    Raises RecordError for a line over MAX_CSV_LINE_BYTES."""
    number = 1
    buf = b""
    pos = 0
    eof = False
    while True:
        end = buf.find(b"\n", pos)
        while end == -1 and not eof:
            if len(buf) - pos > MAX_CSV_LINE_BYTES:
                raise RecordError(f"riga {number} troppo lunga (oltre {MAX_CSV_LINE_BYTES // 2**20} MB)")
            chunk = stream.read(CHUNK)
            if not chunk:
                eof = True
                break
            searched = len(buf) - pos
            buf, pos = buf[pos:] + chunk, 0
            end = buf.find(b"\n", searched)
        if end == -1:
            if pos >= len(buf):
                return
            starts.append(number)
            yield buf[pos:].decode("utf-8")
            return
        if end - pos > MAX_CSV_LINE_BYTES:
            raise RecordError(f"riga {number} troppo lunga (oltre {MAX_CSV_LINE_BYTES // 2**20} MB)")
        blank = _BLANK_RUN.match(buf, pos)
        starts.append(number)
        if blank:
            yield "\n"
            number += buf.count(b"\n", pos, blank.end())
            pos = blank.end()
        else:
            yield buf[pos : end + 1].decode("utf-8")
            number += 1
            pos = end + 1


def parse_csv(
    open_stream: Callable[..., Stream], mapping: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """Yields (location, Article | RecordError) per row, ("", RecordError) for
    the whole file. Streamed: one pass picks the encoding, the next reads rows."""
    try:
        cp1252 = sniff_encoding(open_stream)
    except RecordError as e:
        yield "", e
        return
    stream = open_stream(cp1252=cp1252)
    try:
        yield from _rows(stream, mapping)
    finally:
        stream.close()


def _rows(stream: Stream, mapping: Mapping[str, str] | None) -> Iterator[tuple[str, Any]]:
    starts: list[int] = []
    source = _csv_lines(stream, starts)
    try:
        first_line = next(source, "")
    except RecordError as e:
        yield "riga 1", e
        return
    csv.field_size_limit(MAX_CSV_LINE_BYTES)
    reader = csv.reader(itertools.chain([first_line], source), delimiter=sniff_delimiter(first_line))
    location = "riga 1"
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            yield "", RecordError("CSV senza intestazione")
            return
        try:
            columns = _columns([h.strip().lstrip("\ufeff") for h in header], check_csv_map(mapping))
        except RecordError as e:
            yield "", e
            return
        starts.clear()
        for row in reader:
            location = f"riga {starts[0]}" if starts else location
            starts.clear()
            if not any(cell.strip() for cell in row):
                continue
            try:
                yield location, _article(row, columns, len(header))
            except RecordError as e:
                yield location, e
            except Exception as e:  # noqa: BLE001 - one row's trouble, never the import's
                yield location, unexpected(e)
    except csv.Error as e:
        yield (f"riga {starts[0]}" if starts else location), RecordError(f"CSV non valido ({e})")
    except RecordError as e:
        yield (f"riga {starts[0]}" if starts else location), e


def _article(row: list[str], columns: dict[str, int], width: int) -> Any:
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        raise RecordError(
            f"la riga ha {len(row)} campi, l'intestazione {width}: separatore o virgolette sbagliati"
        )
    record: dict[str, Any] = {}
    for field, index in columns.items():
        value = row[index] if index < len(row) else ""
        record[field] = value if value.strip() else None
    body = record.get("body")
    if body:
        record["body"] = html_to_text(body) if _HTML_HINT.search(body) else normalize_paragraphs(body)
    article = article_from_record(record)
    if not record.get("id"):
        article.id = scoped_id("csv", article.id)
    return article


__all__ = ["ALIASES", "CsvMapError", "check_csv_map", "looks_like_csv", "parse_csv", "parse_csv_map"]
