"""A general Italian thesaurus as low-weight ranking hints, never as matches.

Debian's `mythes-it` (OpenOffice's Italian thesaurus: 25,851 headwords,
GPL-3+ data) is read where the system installs it, never copied into the
project: `apt-get install mythes-it`, or ARCHIVIO_THESAURUS naming another
file in the same MyThes format. Without it nothing changes.

How it is used (search.queryparse, Ranking.thesaurus_weight): only where
articles holding some of the words are ranked (fewer than FILL_BELOW hold
them all), an article holding a thesaurus synonym of a query word gets a
small bonus (its score at that
weight, the best synonym of each word only); it never makes an article a
match nor counts as a word it holds. Headwords are met by stem ("pontefici"
reaches "pontefice": papa). A study on another hard set: +0.015 to +0.021
this way; as plain equivalences it cost 0.13 and made queries 3-5x slower.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .analysis import fold, is_stopword

DEFAULT_PATH = Path("/usr/share/mythes/th_it_IT_v2.dat")
# Synonyms of one word given a bonus: the first ones the thesaurus lists
# (its most common meaning first).
MAX_PER_WORD = 6


class Thesaurus:
    """A MyThes thesaurus read where it lies: its index (.idx: each headword
    and the byte offset of its entry in the .dat) is loaded, sorted by the
    folded headword (65 ms for mythes-it's 25,851); an entry is read from
    the .dat when a query first asks for it, then kept. Reading the whole
    .dat up front cost every process 0.5 s and 17 MB."""

    def __init__(self, dat: Path, heads: list[tuple[str, str, int]]) -> None:
        self.dat = dat
        self._heads = sorted(heads)  # (folded headword, headword, offset)
        self._entries: dict[int, list[str]] = {}

    @classmethod
    def from_file(cls, dat: Path) -> Thesaurus:
        """The thesaurus of `dat`, through its .idx beside it (or, without
        one, the offsets found by reading the .dat once)."""
        idx = dat.with_suffix(".idx")
        heads: list[tuple[str, str, int]] = []
        if idx.is_file():
            for line in idx.read_text(encoding="utf-8", errors="replace").splitlines()[2:]:
                head, _, offset = line.rpartition("|")
                if head and offset.isdigit():
                    heads.append(_head(head, int(offset)))
        else:
            with open(dat, "rb") as f:
                f.readline()
                offset = f.tell()
                for raw in iter(f.readline, b""):
                    if not raw.startswith(b"("):
                        heads.append(_head(raw.decode("utf-8", "replace").split("|")[0], offset))
                    offset = f.tell()
        return cls(dat, [h for h in heads if " " not in h[1] and not is_stopword(h[1])])

    def synonyms(self, stem: str, stem_of: Callable[[str], str | None]) -> list[str]:
        """The one-word synonyms of the headwords whose stem is `stem` (by
        `stem_of`, the index's stemmer): headwords start with their stem, so
        only those beginning with it are stemmed."""
        out: dict[str, None] = {}  # in order, once each (a list's `in` was ~2% of a search)
        heads = self._heads
        # By index: a slice would copy the rest of the 26k headwords, per stem.
        for i in range(bisect_left(heads, (stem, "", -1)), len(heads)):
            folded, head, offset = heads[i]
            if not folded.startswith(stem):
                break
            if stem_of(head) == stem:
                out.update(dict.fromkeys(self._entry(head, offset)))
        return list(out)

    def _entry(self, head: str, offset: int) -> list[str]:
        """The entry at `offset`: `headword|n`, then n lines `(part of
        speech)|synonym|synonym...`; its one-word synonyms, in order."""
        words = self._entries.get(offset)
        if words is None:
            words = []
            try:
                with open(self.dat, "rb") as f:
                    f.seek(offset)
                    first = f.readline().decode("utf-8", "replace").rstrip("\n").split("|")
                    count = int(first[1]) if len(first) > 1 and first[1].strip().isdigit() else 0
                    for _ in range(min(count, 100)):
                        meaning = f.readline().decode("utf-8", "replace").rstrip("\n").split("|")[1:]
                        for word in (w.strip().lower() for w in meaning):
                            if (
                                word
                                and " " not in word
                                and word != head
                                and not is_stopword(word)
                                and word not in words
                            ):
                                words.append(word)
            except (OSError, ValueError):
                words = []
            self._entries[offset] = words
        return words


def _head(head: str, offset: int) -> tuple[str, str, int]:
    head = head.strip().lower()
    return fold(head), head, offset


@lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> Thesaurus:
    return Thesaurus.from_file(Path(path))


def thesaurus_state() -> tuple[str, float] | None:
    """The installed thesaurus's file and time (a result cache's key: it can
    change apart from the index), without reading it; None without one."""
    path = Path(os.environ.get("ARCHIVIO_THESAURUS") or DEFAULT_PATH)
    try:
        return str(path), path.stat().st_mtime
    except OSError:
        return None


def system_thesaurus() -> Thesaurus | None:
    """The installed thesaurus (ARCHIVIO_THESAURUS, else Debian's mythes-it),
    read once per process and again when the file changes; None without one."""
    state = thesaurus_state()
    return _load(*state) if state else None
