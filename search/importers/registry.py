"""The import formats, in one table: all that detection, scanning and the
faces know of each one.

`IMPORT_FORMATS` lists them in the order detection tries them on a file's
first bytes; everything else is derived from it: the format names
(`FORMATS`, `--format`'s choices), the extensions walked in folders and the
format each suggests (`KNOWN_SUFFIXES`), the Italian labels of the import
report (`LABELS`), `sniff` and the parser `scan_file` calls.

To add a format: write its parser module (a sniffer and a parser; helpers
are shared through `base`, `streams` and `htmltext`, never another
parser), then add one `ImportFormat` to `IMPORT_FORMATS`, placed where
detection should try it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .csv import looks_like_csv, parse_csv
from .feed import looks_like_feed, parse_feed
from .html import looks_like_html, parse_html_page
from .jsonfile import looks_like_json, looks_like_json_lines, parse_json_document, parse_json_lines_file
from .textfile import looks_like_article_text, parse_text_file
from .wxr import looks_like_wxr, parse_wxr

# What a sniffer reads: "bytes", the file's raw first bytes, always tried;
# "markup", those bytes decoded, tried only when they start with "<" (after
# blanks); "text", decoded, tried only when they don't.
Sniffs = Literal["bytes", "markup", "text"]
# How a format is read: "page", the file whole (one article, capped at
# MAX_PAGE_BYTES) decoded, `parse(text) -> Article`; "records", streamed,
# `parse(open_stream) -> (location, Article | RecordError | Skip)` pairs.
Reading = Literal["page", "records"]


class Head:
    """A file's first bytes, as the sniffers read them."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.text = raw[: len(raw) // 2 * 2].decode("utf-16", errors="ignore")
        else:
            self.text = raw.decode("utf-8", errors="ignore").lstrip("\ufeff")
        self.markup = self.text.lstrip()[:1] == "<"


@dataclass(frozen=True)
class ImportFormat:
    name: str  # --format's value, the import report's key
    label: str  # Italian, in the CLI's import report
    # Extensions walked in folders. An extension of one format alone names
    # it when the content does not tell; one that two formats share (.xml:
    # a feed or a WordPress export) is walked, and left to the content.
    suffixes: tuple[str, ...]
    sniff: Callable[[Any], bool] | None  # the content test on the head (None: by extension only)
    sniffs: Sniffs
    reading: Reading
    parse: Callable[..., Any]
    column_map: bool = False  # `parse` also takes the --map columns (CSV)
    listed_at: int = 0  # place in FORMATS: --format's choices and the README's list

    def detects(self, head: Head) -> bool:
        if self.sniff is None:
            return False
        if self.sniffs == "bytes":
            return self.sniff(head.raw)
        if head.markup != (self.sniffs == "markup"):
            return False
        return self.sniff(head.text)

    def records(self, open_stream: Callable[..., Any], column_map: Mapping[str, str] | None) -> Iterable[Any]:
        """A "records" format's (location, item) pairs."""
        return self.parse(open_stream, column_map) if self.column_map else self.parse(open_stream)


# In the order detection tries them.
IMPORT_FORMATS: tuple[ImportFormat, ...] = (
    ImportFormat(
        "jsonl",
        "JSON Lines",
        suffixes=(".jsonl", ".ndjson"),
        sniff=looks_like_json_lines,
        sniffs="bytes",
        reading="records",
        parse=parse_json_lines_file,
        listed_at=2,
    ),
    ImportFormat(
        "json",
        "JSON",
        suffixes=(".json",),
        sniff=looks_like_json,
        sniffs="bytes",
        reading="records",
        parse=parse_json_document,
        listed_at=1,
    ),
    ImportFormat(
        "wxr",
        "WordPress (WXR)",
        suffixes=(".xml",),
        sniff=looks_like_wxr,
        sniffs="markup",
        reading="records",
        parse=parse_wxr,
        listed_at=5,
    ),
    ImportFormat(
        "rss",
        "feed RSS/Atom",
        suffixes=(".rss", ".atom", ".xml"),
        sniff=looks_like_feed,
        sniffs="markup",
        reading="records",
        parse=parse_feed,
        listed_at=4,
    ),
    ImportFormat(
        "html",
        "pagine HTML",
        suffixes=(".html", ".htm", ".xhtml"),
        sniff=looks_like_html,
        sniffs="markup",
        reading="page",
        parse=parse_html_page,
        listed_at=3,
    ),
    ImportFormat(
        "text",
        "testo",
        suffixes=(".txt", ".md"),
        sniff=looks_like_article_text,
        sniffs="text",
        reading="page",
        parse=parse_text_file,
        listed_at=0,
    ),
    ImportFormat(
        "csv",
        "CSV",
        suffixes=(".csv", ".tsv"),
        sniff=looks_like_csv,
        sniffs="text",
        reading="records",
        parse=parse_csv,
        column_map=True,
        listed_at=6,
    ),
)

FORMAT_BY_NAME = {f.name: f for f in IMPORT_FORMATS}
FORMATS = tuple(f.name for f in sorted(IMPORT_FORMATS, key=lambda f: f.listed_at))
# What a rejection is counted under when the file's format is not known.
UNKNOWN = "unknown"
LABELS = {f.name: f.label for f in IMPORT_FORMATS} | {UNKNOWN: "non riconosciuti"}
_CLAIMS = Counter(s for f in IMPORT_FORMATS for s in f.suffixes)
# Extensions picked up when walking a folder, and the format each suggests
# when the content does not tell (None: shared, the content decides).
KNOWN_SUFFIXES: dict[str, str | None] = {
    s: (f.name if _CLAIMS[s] == 1 else None) for f in IMPORT_FORMATS for s in f.suffixes
}


def sniff(raw: bytes) -> str | None:
    """The first format, in table order, that the head's content says."""
    head = Head(raw)
    for f in IMPORT_FORMATS:
        if f.detects(head):
            return f.name
    return None


__all__ = [
    "FORMATS",
    "FORMAT_BY_NAME",
    "IMPORT_FORMATS",
    "KNOWN_SUFFIXES",
    "LABELS",
    "UNKNOWN",
    "Head",
    "ImportFormat",
    "sniff",
]
