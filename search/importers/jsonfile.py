"""JSON Lines and JSON arrays with the corpus keys, gzip-compressed or not."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from .base import MAX_REJECTIONS_PER_FILE, RecordError, article_from_record, decode_bytes, unexpected
from .streams import CHUNK, Stream, lines

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


# Longest line or JSON record read: a record is far smaller (see
# base.MAX_BODY_CHARS), so a longer one is rejected without holding it.
MAX_LINE_BYTES = 16 * 1024 * 1024
# Commas and brackets in one record: a real article has a few dozen values
# and its text some thousands of commas; 16 MB of "{}," would become 370 MB
# of Python objects. 250,000 values stay under 20 MB.
MAX_RECORD_VALUES = 250_000


def _it(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _record(raw: bytes) -> object:
    """One record's bytes (a line, an element of an array) as a JSON value."""
    values = raw.count(b",") + raw.count(b"{") + raw.count(b"[")
    if values > MAX_RECORD_VALUES:
        raise RecordError(
            f"record con troppi valori JSON ({_it(values)} tra virgole e parentesi, "
            f"al massimo {_it(MAX_RECORD_VALUES)}): non è un articolo"
        )
    return _loads(decode_bytes(raw))


def parse_json_lines(stream: Stream) -> Iterator[tuple[str, object]]:
    """Yields (location, Article | RecordError) per non-blank line."""
    for number, raw in lines(stream, MAX_LINE_BYTES):
        location = f"riga {number}"
        if raw is None:
            yield location, RecordError(f"riga troppo lunga (oltre {MAX_LINE_BYTES // 2**20} MB)")
            continue
        try:
            yield location, article_from_record(_record(raw))
        except RecordError as e:
            yield location, e
        except Exception as e:  # noqa: BLE001 - one record's trouble, never the import's
            yield location, unexpected(e)


def parse_json_lines_file(open_stream: Callable[[], Stream]) -> Iterator[tuple[str, object]]:
    """`parse_json_lines` on a file's stream, closed when done."""
    stream = open_stream()
    try:
        yield from parse_json_lines(stream)
    finally:
        stream.close()


def parse_json_document(open_stream: Callable[[], Stream]) -> Iterator[tuple[str, object]]:
    """A JSON array of records (or a single record object), streamed one
    element at a time. A first pass checks the whole document: broken JSON
    anywhere rejects the file, nothing of it imported; the second yields."""
    stream = open_stream()
    try:
        bad = 0
        for location, item in _elements(stream):
            if location == "":
                yield "", item
                return
            # Past this many elements that can't be articles the second pass
            # gives up on the file anyway (a 2 GB array of "{}" took minutes).
            if not (isinstance(item, dict) and item.get("title") and item.get("body")):
                bad += 1
                if bad > MAX_REJECTIONS_PER_FILE:
                    break
    finally:
        stream.close()
    stream = open_stream()
    try:
        for location, item in _elements(stream):
            if isinstance(item, RecordError):
                yield location, item
                continue
            try:
                yield location, article_from_record(item)
            except RecordError as e:
                yield location, e
            except Exception as e:  # noqa: BLE001 - one record's trouble, never the import's
                yield location, unexpected(e)
    finally:
        stream.close()


_SPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class _Buffer:
    """The document as latin-1 text (one character per byte: JSON's syntax is
    ASCII), read a chunk at a time; consumed text is dropped."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.mark = 0  # where the last value decoded starts
        self.eof = False

    def more(self, at_least: int = CHUNK) -> bool:
        if self.eof:
            return False
        if self.pos > CHUNK:
            self.text, self.pos = self.text[self.pos :], 0
        data = self.stream.read(max(at_least, CHUNK))
        if not data:
            self.eof = True
            return False
        self.text += data.decode("latin-1")
        return True

    def skip_space(self) -> str:
        """The next non-blank character ("" at the end), not consumed."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]


def _elements(stream: Stream) -> Iterator[tuple[str, object]]:
    """("record N", value | RecordError) per element; ("", RecordError) for
    the whole document (then nothing more)."""
    buf = _Buffer(stream)
    first = buf.skip_space()
    if first not in ("[", "{"):
        yield "", RecordError("JSON non valido (atteso un array [ ] o un oggetto { })")
        return
    single = first == "{"
    if not single:
        buf.pos += 1
    number = 0
    while True:
        if buf.skip_space() == "]" and not single and number == 0:
            buf.pos += 1
            break
        number += 1
        location = f"record {number}"
        value, error = _decode_one(buf)
        if isinstance(value, RecordError):
            yield location, value
        elif error is not None:
            if error in ("long", "values"):
                yield (
                    location,
                    RecordError(
                        f"record troppo lungo (oltre {MAX_LINE_BYTES // 2**20} MB)"
                        if error == "long"
                        else f"record con troppi valori JSON (oltre {_it(MAX_RECORD_VALUES)} tra virgole e "
                        "parentesi): non è un articolo"
                    ),
                )
                if not _skip_value(buf):
                    yield (
                        location,
                        RecordError("il resto del file non è stato letto (record non chiuso o troppo denso)"),
                    )
                    return
            else:
                yield "", RecordError(f"JSON non valido ({error}, {location})")
                return
        elif not isinstance(value, RecordError):
            raw = buf.text[buf.mark : buf.pos]
            if not raw.isascii():
                # Not ASCII: decode the element's own bytes (UTF-8 or Windows-1252).
                try:
                    value = _record(raw.encode("latin-1"))
                except RecordError as e:
                    value = e
            yield location, value
        if single:
            break
        after = buf.skip_space()
        buf.pos += 1
        if after == "]":
            break
        if after != ",":
            yield "", RecordError(f"JSON non valido (manca una virgola dopo il record {number})")
            return
    if buf.skip_space():
        yield "", RecordError("JSON non valido (altri dati dopo la fine del JSON)")


def _decode_one(buf: _Buffer) -> tuple[object, str | None]:
    """The value at buf.pos, read on until complete; (value, None), or (None,
    "long") past MAX_LINE_BYTES, or (None, the reason it is not JSON)."""
    while True:
        start = buf.pos
        try:
            value, end = _DECODER.raw_decode(buf.text, start)
        except RecursionError:
            return None, "annidato troppo in profondità"
        except json.JSONDecodeError as e:
            # Cut at the chunk's end (a string, a number, a literal): read on.
            incomplete = e.pos >= len(buf.text) - 8 or e.msg.startswith("Unterminated string")
            if incomplete and len(buf.text) - start <= MAX_LINE_BYTES:
                # All from `start` on is this one value: too many values to build?
                if _count_values(buf.text, start, len(buf.text)) > MAX_RECORD_VALUES:
                    return None, "values"
                if buf.more(len(buf.text) - start):
                    continue
            if len(buf.text) - start > MAX_LINE_BYTES:
                return None, "long"
            return None, _JSON_ERRORS.get(e.msg, e.msg)
        if end == len(buf.text) and buf.more(len(buf.text) - start):
            continue  # a number may go on in the next chunk
        if end - start > CHUNK and _count_values(buf.text, start, end) > MAX_RECORD_VALUES:
            buf.pos = start
            return None, "values"
        if end - start > MAX_LINE_BYTES:
            buf.pos = start
            return None, "long"
        buf.pos, buf.mark = end, start
        values = _count_values(buf.text, start, end)
        if values > MAX_RECORD_VALUES:
            return RecordError(
                f"record con troppi valori JSON ({_it(values)} tra virgole e parentesi, "
                f"al massimo {_it(MAX_RECORD_VALUES)}): non è un articolo"
            ), None
        return value, None


def _count_values(text: str, start: int, end: int) -> int:
    return text.count(",", start, end) + text.count("{", start, end) + text.count("[", start, end)


_TOKEN = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'["\\]')


def _skip_value(buf: _Buffer) -> bool:
    """Moves past the (too long) value at buf.pos without parsing it: brackets
    counted outside strings. False when the document ends first."""
    depth = 0
    in_string = False
    pos = buf.pos
    # A value dense with brackets costs a step per bracket: past a million
    # (~4 s) the rest of the file is given up rather than the lock held.
    budget = 1_000_000
    while True:
        budget -= 1
        if budget < 0:
            return False
        pattern = _STRING_END if in_string else _TOKEN
        m = pattern.search(buf.text, pos)
        if m is None:
            buf.pos = len(buf.text)
            if not buf.more():
                return False
            pos = buf.pos
            continue
        pos = m.end()
        c = m.group()
        if in_string:
            if c == "\\":
                if pos >= len(buf.text):
                    buf.pos = pos
                    if not buf.more():
                        return False
                    pos = buf.pos
                pos += 1
            else:
                in_string = False
                if depth == 0:
                    buf.pos = pos
                    return True
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                buf.pos = pos
                return True


def looks_like_json(head: bytes) -> bool:
    """An array or an object first (JSON Lines are told apart before)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{")


def looks_like_json_lines(head: bytes) -> bool:
    """A first value that is an object: alone on its line (or the head ends
    inside it: its first line is longer than the head), or followed by a
    line that opens another."""
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:1] != b"{":
        return False
    line = body.split(b"\n", 1)[0].strip()
    return line.endswith(b"}") or b"\n{" in body or b"\n" not in body
