"""Query-time synonyms: groups of equivalent forms read from a text file."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from functools import lru_cache
from pathlib import Path

from .analysis import exact_analyzer
from .settings import SettingError

DEFAULT_FILE = Path(__file__).parent / "data" / "sinonimi.txt"

Words = tuple[str, ...]


class Synonyms:
    """Maps a word sequence (folded, unstemmed) to its equivalent sequences."""

    def __init__(self, groups: list[list[Words]]) -> None:
        self.groups = groups
        self.variants: dict[Words, list[Words]] = {}
        for group in groups:
            for form in group:
                self.variants.setdefault(form, [])
                self.variants[form] += [other for other in group if other != form]
        self.longest = max((len(f) for f in self.variants), default=0)
        # The same table keyed by stems, per stemmer (see match_stems).
        self._by_stem: dict[Hashable, dict[Words, list[Words]]] = {}

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_FILE) -> Synonyms:
        groups = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            forms = [form_of(form) for form in line.split(",")]
            groups.append([f for f in forms if f])
        return cls(groups)

    def match(self, words: list[str], start: int) -> tuple[int, list[Words]]:
        """Longest synonym form starting at words[start]: (length, variants)."""
        return _longest(self.variants, self.longest, words, start)

    def match_stems(
        self, stems: list[str], start: int, stem: Callable[[str], str | None], key: Hashable
    ) -> tuple[int, list[Words]]:
        """Longest synonym form whose words have the stems starting at
        stems[start] (a stop word as written), by `stem` (the index's
        stemmer, named by `key`): "pontefici" meets "pontefice"'s group
        without each inflection written in the file."""
        table = self._by_stem.get(key)
        if table is None:
            table = {}
            for form, variants in self.variants.items():
                stemmed = tuple(stem(w) or w for w in form)
                table.setdefault(stemmed, [])
                # The listed form too: typed otherwise, it is a variant ("vigili
                # del fuoco" for "vigile del fuoco", a phrase of other words).
                table[stemmed] += [v for v in (form, *variants) if v not in table[stemmed]]
            self._by_stem[key] = table
        return _longest(table, self.longest, stems, start)


def _longest(
    table: dict[Words, list[Words]], longest: int, words: list[str], start: int
) -> tuple[int, list[Words]]:
    for n in range(min(longest, len(words) - start), 0, -1):
        variants = table.get(tuple(words[start : start + n]))
        if variants:
            return n, variants
    return 0, []


def form_of(text: str) -> Words:
    """A synonym form as a query reads it: folded words, a compound
    ("covid-19") as its joined form."""
    return tuple(t.text for t in _exact()(text, mode="query"))


@lru_cache(maxsize=1)
def _exact():  # noqa: ANN202 - whoosh's analyzer type
    return exact_analyzer()


@lru_cache(maxsize=4)
def load(path: str = str(DEFAULT_FILE), mtime: float = 0.0) -> Synonyms:
    return Synonyms.from_file(path)


def default_synonyms() -> Synonyms:
    """ARCHIVIO_SYNONYMS (a file of the user's, outside the package: edits
    survive upgrades), else the shipped list; re-read when the file changes."""
    path = Path(os.environ.get("ARCHIVIO_SYNONYMS") or DEFAULT_FILE)
    try:
        return load(str(path), path.stat().st_mtime)
    except (OSError, UnicodeDecodeError) as e:
        raise SettingError(
            f"ARCHIVIO_SYNONYMS: file dei sinonimi non leggibile: {path} ({e.__class__.__name__})"
        ) from None
