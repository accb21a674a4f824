"""A general Italian thesaurus as low-weight ranking hints, never as matches.

Debian's `mythes-it` (OpenOffice's Italian thesaurus: 25,851 headwords,
GPL-3+ data) is read where the system installs it, never copied into the
project: `apt-get install mythes-it`, or ARCHIVIO_THESAURUS naming another
file in the same MyThes format. Without it nothing changes.

How it is used (search.queryparse, Ranking.thesaurus_weight): in the
fallback only (no article holds every word), an article holding a
thesaurus synonym of a query word gets a small bonus (its score at that
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
    """Headword (lower case, accents kept) -> its one-word synonyms, in order."""

    def __init__(self, entries: dict[str, list[str]]) -> None:
        self.entries = entries
        self._heads = sorted((fold(h), h) for h in entries)

    @classmethod
    def from_file(cls, path: Path) -> Thesaurus:
        """MyThes' .dat: an encoding line, then `headword|n` followed by n
        lines `(part of speech)|synonym|synonym...`."""
        entries: dict[str, list[str]] = {}
        with open(path, encoding="utf-8", errors="replace") as f:
            f.readline()
            head: str | None = None
            for line in f:
                fields = line.rstrip("\n").split("|")
                if not line.startswith("("):
                    head = fields[0].strip().lower()
                    continue
                if head is None or " " in head or is_stopword(head):
                    continue
                words = entries.setdefault(head, [])
                for word in (w.strip().lower() for w in fields[1:]):
                    one_word = word and " " not in word and not is_stopword(word)
                    if one_word and word != head and word not in words:
                        words.append(word)
        return cls({h: w for h, w in entries.items() if w})

    def synonyms(self, stem: str, stem_of: Callable[[str], str | None]) -> list[str]:
        """The synonyms of the headwords whose stem is `stem` (by `stem_of`,
        the index's stemmer): headwords start with their stem, so only those
        beginning with it are stemmed."""
        out: list[str] = []
        start = bisect_left(self._heads, (stem, ""))
        for folded, head in self._heads[start:]:
            if not folded.startswith(stem):
                break
            if stem_of(head) == stem:
                out += [w for w in self.entries[head] if w not in out]
        return out


@lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> Thesaurus:
    return Thesaurus.from_file(Path(path))


def system_thesaurus() -> Thesaurus | None:
    """The installed thesaurus (ARCHIVIO_THESAURUS, else Debian's mythes-it),
    read once per process and again when the file changes; None without one."""
    path = Path(os.environ.get("ARCHIVIO_THESAURUS") or DEFAULT_PATH)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return _load(str(path), mtime)
