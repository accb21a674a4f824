"""A search's results, all of them, for a spreadsheet or a program: CSV
(UTF-8 with BOM, which spreadsheets need to read accents) and JSON Lines,
streamed a page at a time through the backend's own `search`, so every
face and backend exports the same list in the same order.

Bounded like paging: the first MAX_DEPTH results (`Export.complete` says
whether that was all of them).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .results import MAX_DEPTH, MAX_PER_PAGE, Hit, SearchRequest

if TYPE_CHECKING:
    from .backend import ArchiveBackend

FORMATS = ("csv", "jsonl")
# The columns of the CSV, in Italian for the spreadsheet's reader: the
# JSON keys of a result (Hit.to_dict) they come from.
CSV_COLUMNS = {
    "id": "id",
    "data": "date",
    "titolo": "title",
    "sottotitolo": "subtitle",
    "autore": "author",
    "categoria": "category",
    "fonte": "source",
    "url": "url",
    "tutte_le_parole": "all_words",
    "estratto": "snippet",
}
# A cell starting with one of these is a formula to a spreadsheet (CSV
# injection): it is written after an apostrophe, shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Export:
    """The results of one search, page after page; `total` is the search's
    count and `complete` whether every result was listed (MAX_DEPTH)."""

    hits: Iterator[Hit]
    total: int

    @property
    def complete(self) -> bool:
        return self.total <= MAX_DEPTH

    @property
    def listed(self) -> int:
        return min(self.total, MAX_DEPTH)


def export_search(archive: ArchiveBackend, request: SearchRequest) -> Export:
    """Every result of `request` (its words, filters and sort; not its page),
    read from `archive` (an ArchiveBackend) MAX_PER_PAGE at a time. The
    first page is read at once, so a bad request raises here."""
    first = archive.search(replace(request, page=1, per_page=MAX_PER_PAGE, facets=False))

    def pages() -> Iterator[Hit]:
        yield from first.hits
        last = min(first.pages, -(-MAX_DEPTH // MAX_PER_PAGE))
        for page in range(2, last + 1):
            yield from archive.search(replace(request, page=page, per_page=MAX_PER_PAGE, facets=False)).hits

    return Export(pages(), first.total)


def csv_lines(hits: Iterator[Hit]) -> Iterator[str]:
    """The CSV, a line at a time: the BOM and the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(row: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield "\ufeff" + line(list(CSV_COLUMNS))
    for hit in hits:
        data = hit.to_dict()
        data["snippet"] = hit.snippet_text
        data["all_words"] = "sì" if hit.all_words else "no"
        yield line([_cell(data[key]) for key in CSV_COLUMNS.values()])


def jsonl_lines(hits: Iterator[Hit]) -> Iterator[str]:
    """JSON Lines: each result as the JSON API writes it (Hit.to_dict)."""
    for hit in hits:
        yield json.dumps(hit.to_dict(), ensure_ascii=False) + "\n"


def export_lines(fmt: str, hits: Iterator[Hit]) -> Iterator[str]:
    return csv_lines(hits) if fmt == "csv" else jsonl_lines(hits)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
