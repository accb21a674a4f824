"""Reading import files in bounded memory and time, whatever they hold.

Every file is read through `open_stream`: gzip decompressed on the fly,
capped at MAX_FILE_BYTES of *decompressed* bytes (a 2 MB gzip can inflate
to gigabytes), a UTF-16/UTF-32 byte order mark turned into UTF-8 so that
every parser and every guard (the XML entity check included) sees the same
text. `lines` walks a stream in 1 MB chunks: runs of blank lines cost a
regex search and a count, not a Python step per line (a 0.6 MB gzip of
newlines is 600 MB of them). `sniff_encoding` reads a stream once to pick
UTF-8 or Windows-1252 with `decode_bytes`' rules, for the parsers that then
stream the text (CSV, feeds, WordPress).
"""

from __future__ import annotations

import codecs
import gzip
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .base import MAX_FILE_BYTES, RecordError, looks_like_mojibake

CHUNK = 1 << 20
_BOMS = (
    # UTF-32 first: its little-endian mark begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class FileTooLarge(RecordError):
    """More than MAX_FILE_BYTES once decompressed."""


def too_large_message(limit: int = MAX_FILE_BYTES, compressed: bool = False) -> str:
    return f"file troppo grande (oltre {limit // 2**20} MB{' una volta decompresso' if compressed else ''})"


class CappedReader:
    """`read` that raises FileTooLarge past `limit` bytes: a gzip bomb stops
    after the limit, not when memory or the disk runs out."""

    def __init__(self, raw: BinaryIO, limit: int = MAX_FILE_BYTES, compressed: bool = False) -> None:
        self.raw = raw
        self.limit = limit
        self.compressed = compressed
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        room = self.limit + 1 - self.count
        data = self.raw.read(room if n is None or n < 0 else min(n, room))
        self.count += len(data)
        if self.count > self.limit:
            raise FileTooLarge(too_large_message(self.limit, self.compressed))
        return data

    def close(self) -> None:
        self.raw.close()


class _Transcoder:
    """A stream of UTF-8 bytes from a stream in another encoding."""

    def __init__(self, raw: CappedReader | Prefixed, encoding: str) -> None:
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")

    def read(self, n: int = -1) -> bytes:
        while True:
            chunk = self.raw.read(CHUNK if n is None or n < 0 else max(n, 4))
            try:
                text = self.decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                raise RecordError(f"codifica {e.encoding.upper()} non valida") from None
            if text or not chunk:
                try:
                    return text.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate
                    raise RecordError("codifica UTF-16/UTF-32 non valida (surrogati isolati)") from None

    def close(self) -> None:
        self.raw.close()


class Prefixed:
    """Bytes already read, then the rest of the stream."""

    def __init__(self, prefix: bytes, raw: CappedReader) -> None:
        self.prefix = prefix
        self.raw = raw

    def read(self, n: int = -1) -> bytes:
        if self.prefix:
            if n is None or n < 0:
                data, self.prefix = self.prefix + self.raw.read(), b""
                return data
            data, self.prefix = self.prefix[:n], self.prefix[n:]
            return data + self.raw.read(n - len(data)) if len(data) < n else data
        return self.raw.read(n)

    def close(self) -> None:
        self.raw.close()


Stream = CappedReader | _Transcoder | Prefixed


def open_stream(path: Path, limit: int = MAX_FILE_BYTES, cp1252: bool = False) -> Stream:
    """The file's bytes, gunzipped by name (`.gz`), capped at `limit`
    decompressed; text with a UTF-16/32 mark comes out as UTF-8 without
    it, a UTF-8 mark is dropped; `cp1252` transcodes the rest from
    Windows-1252 (see `sniff_encoding`)."""
    compressed = path.name.lower().endswith(".gz")
    raw = gzip.open(path, "rb") if compressed else path.open("rb")  # noqa: SIM115 - closed by the caller
    capped = CappedReader(raw, limit, compressed)
    try:
        head = capped.read(4)
    except BaseException:
        capped.close()
        raise
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return _Transcoder(Prefixed(head[len(bom) :], capped), encoding)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    rest = Prefixed(head, capped)
    return _Transcoder(rest, "cp1252") if cp1252 else rest


def read_all(path: Path, limit: int) -> bytes:
    """A whole file (decompressed, as UTF-8 when it had a UTF-16/32 mark), at most `limit` bytes."""
    stream = open_stream(path, limit)
    try:
        return stream.read()
    finally:
        stream.close()


_NOT_BLANK = re.compile(rb"[^ \t\r\n\f\v]")
# Control characters in Windows-1252 text mean binary data (as in decode_bytes).
_BINARY = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
NEWLINE = b"\n"


def lines(stream: Stream, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for every non-blank line, without its newline and
    leading blanks; None for a line longer than `limit` bytes, which is
    skipped without being held in memory."""
    number = 1  # the line number of buf[pos]
    buf = b""
    pos = 0
    while True:
        m = _NOT_BLANK.search(buf, pos)
        if m is None:
            number += buf.count(b"\n", pos)
            buf, pos = stream.read(CHUNK), 0
            if not buf:
                return
            continue
        start = m.start()
        number += buf.count(b"\n", pos, start)
        end = buf.find(b"\n", start)
        if end != -1:
            yield number, (buf[start:end] if end - start <= limit else None)
            number += 1
            pos = end + 1
            continue
        # The line goes on past this chunk: gather it, or only its length once too long.
        parts = [buf[start:]]
        size = len(parts[0])
        while True:
            chunk = stream.read(CHUNK)
            end = chunk.find(b"\n")
            piece = chunk if end == -1 else chunk[:end]
            size += len(piece)
            if size <= limit:
                parts.append(piece)
            else:
                parts.clear()
            if end != -1 or not chunk:
                break
        yield number, (b"".join(parts) if size <= limit else None)
        if not chunk:
            return
        number += 1
        buf, pos = chunk, end + 1


def sniff_encoding(open_raw: Callable[[], Stream]) -> bool:
    """Reads a stream to its end to pick its encoding as `decode_bytes` does:
    False for UTF-8, True for Windows-1252. Raises RecordError with
    `decode_bytes`' reasons (binary data, neither encoding, a mix)."""
    stream = open_raw()
    try:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        line = 1
        while True:
            chunk = stream.read(CHUNK)
            if b"\x00" in chunk:
                raise RecordError("il file non è testo (contiene byte nulli)")
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                first_bad = f" alla riga {line + chunk.count(NEWLINE, 0, max(e.start, 0))}"
                break
            if not chunk:
                return False
            line += chunk.count(b"\n")
    finally:
        stream.close()
    stream = open_raw()
    try:
        line = 1
        tail = ""
        while chunk := stream.read(CHUNK):
            try:
                text = chunk.decode("cp1252")
            except UnicodeDecodeError as e:
                raise RecordError(
                    "codifica non riconosciuta: né UTF-8 né Windows-1252/Latin-1 "
                    f"(byte 0x{chunk[e.start]:02X} alla riga {line + chunk.count(NEWLINE, 0, e.start)})"
                ) from None
            if _BINARY.search(text):
                raise RecordError("il file non è testo (contiene byte binari)")
            # Three characters of overlap: a mojibake pair split between chunks.
            if looks_like_mojibake(tail + text):
                raise RecordError(
                    "codifica mista: il testo è in parte UTF-8 e in parte Windows-1252/Latin-1 "
                    f"(primo byte non UTF-8{first_bad}); salvalo interamente in UTF-8"
                )
            tail = text[-3:]
            line += chunk.count(b"\n")
        return True
    finally:
        stream.close()
