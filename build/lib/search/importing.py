"""An import's shared parts, for every backend: the report of what it did
with each record, and the batches the articles are stored in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from .article import Article
from .importers import UNKNOWN, Rejection, Skipped
from .upserts import ADDED, DUPLICATE, UNCHANGED, UPDATED

STORE_BATCH = 500


# ... or sooner, once a batch holds this many characters of text: 500
# articles at the 1,000,000-character cap took an import to 1,369 MB
# (bench/bombs.py long-articles). Real articles (~2,500 characters) never
# reach it.
BATCH_CHARS = 16_000_000


# Skipped records kept in an ImportReport's list (all are counted).
SKIPPED_LISTED = 1000


_STATUS_KEYS = {ADDED: "added", UPDATED: "updated", UNCHANGED: "unchanged", DUPLICATE: "duplicates"}


@dataclass
class FormatCounts:
    """What an import did with the records of one format."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    elapsed: float = 0.0
    # Records left out on purpose (WordPress drafts, pages, attachments): the
    # first SKIPPED_LISTED of them; skipped_count and skipped_reasons() count all.
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: int = 0
    # The same counts per format ("html", "rss", "wxr"...), in the order met.
    formats: dict[str, FormatCounts] = field(default_factory=dict)
    # The index lagged the store (an interrupted writer) and was brought back in step...
    repaired: bool = False
    # ...by re-indexing this many articles (None: by a full rebuild).
    reindexed: int | None = None
    _reasons: Counter = field(default_factory=Counter, repr=False)

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def articles_found(self) -> int:
        """Articles read, whatever became of them (stored, unchanged, duplicates)."""
        return self.added + self.updated + self.unchanged + self.duplicates

    def count(self, status: str, fmt: str | None = None) -> None:
        key = _STATUS_KEYS[status]
        setattr(self, key, getattr(self, key) + 1)
        if fmt is not None:
            counts = self.formats.setdefault(fmt, FormatCounts())
            setattr(counts, key, getattr(counts, key) + 1)

    def reject(self, rejection: Rejection, fmt: str = UNKNOWN) -> None:
        self.rejected.append(rejection)
        self.formats.setdefault(fmt, FormatCounts()).rejected += 1

    def skip(self, skipped: Skipped, fmt: str) -> None:
        # A WordPress export of 500 MB can hold 9 million drafts: count them, list a few.
        if len(self.skipped) < SKIPPED_LISTED:
            self.skipped.append(skipped)
        self.skipped_count += 1
        self._reasons[skipped.reason] += 1
        self.formats.setdefault(fmt, FormatCounts()).skipped += 1

    def skipped_reasons(self) -> dict[str, int]:
        """How many records were skipped for each reason ("bozza": 2, "pagina": 1)."""
        return dict(self._reasons)

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "rejected": [{"path": r.path, "location": r.location, "reason": r.reason} for r in self.rejected],
            "skipped": self.skipped_count,
            "skipped_reasons": self.skipped_reasons(),
            "formats": {name: counts.to_dict() for name, counts in self.formats.items()},
        }


def count_dry_run(items: Iterable[tuple[str, Article | Rejection | Skipped]], report: ImportReport) -> None:
    """An import that writes nothing: what would be added, rejected, skipped."""
    for item_fmt, item in items:
        if isinstance(item, Rejection):
            report.reject(item, item_fmt)
        elif isinstance(item, Skipped):
            report.skip(item, item_fmt)
        else:
            report.count(ADDED, item_fmt)


def article_batches(
    items: Iterable[tuple[str, Article | Rejection | Skipped]], report: ImportReport, size: int
) -> Iterator[tuple[list[Article], list[str]]]:
    """The articles of an import in batches of `size` (or of BATCH_CHARS
    characters of text), with each one's format;
    rejections and skipped records are counted on `report` on the way. The
    last batch (possibly empty) always comes."""
    batch: list[Article] = []
    formats: list[str] = []
    chars = 0
    for item_fmt, item in items:
        if isinstance(item, Rejection):
            report.reject(item, item_fmt)
            continue
        if isinstance(item, Skipped):
            report.skip(item, item_fmt)
            continue
        batch.append(item)
        formats.append(item_fmt)
        chars += article_chars(item)
        if len(batch) >= size or chars >= BATCH_CHARS:
            yield batch, formats
            batch, formats, chars = [], [], 0
    yield batch, formats


def article_chars(article: Article) -> int:
    """Characters of an article's text fields, for the batches' memory bound."""
    return len(article.title) + len(article.body) + len(article.subtitle or "")
