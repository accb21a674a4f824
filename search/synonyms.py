"""Query-time synonyms: groups of equivalent forms read from a text file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .analysis import exact_analyzer

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
        for n in range(min(self.longest, len(words) - start), 0, -1):
            variants = self.variants.get(tuple(words[start : start + n]))
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
    """The shipped list, re-read when the file changes."""
    return load(str(DEFAULT_FILE), DEFAULT_FILE.stat().st_mtime)
