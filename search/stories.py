"""Stories, not copies: the same news item from several outlets (wire
copies, syndicated articles, a rewrite of the same agency text) found at
import time and kept as one story.

Each article gets a MinHash signature (rensa's RMinHash, in Rust: ~8 µs a
signature and 0.03 s to import, where datasketch took ~0.3 ms and 0.85 s,
scipy included, in every importing process) of the 3-word shingles of its
folded title and opening (400 words); locality-sensitive hashing
over 16 bands of 4 values finds the earlier articles that may be copies
(pairs with a Jaccard similarity of ~0.5 share a band with probability
~0.65, of 0.8 with ~1.0), and `same_story` decides: an estimated
similarity of at least SIMILARITY, dates at most MAX_DAYS apart, and, from
the same outlet (or from none named), at least SAME_SOURCE_SIMILARITY (an outlet's daily
bulletins share their template, its roundups their boilerplate, not their
news; hiding a different event under another is worse than showing one
outlet's two versions of a story). An article joins the
story of its most similar earlier article, else starts its own: a story is
named by the id of its first article.

Measured on the dev corpus (19,902 articles, 37 outlets; bench/stories.py):
599 stories of 2 to 5 articles hold 1,239 articles; 50 random pairs read
by hand were all the same news item (two of them borderline: a national
operation and its local part, two reports of one press release); +0.43 ms
an article at import.

Both backends keep the signatures and band keys in their store
(`stories`, `story_bands`) through the StoryStore protocol.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple, Protocol

from rensa import RMinHash

from .article import Article

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
SHINGLE_WORDS = 3
# Words of title and body read: copies differ most at their ends (credits,
# "leggi anche", a paragraph added); 400 words keep the cost per article
# at ~0.3 ms.
MAX_WORDS = 400
SIMILARITY = 0.5
MAX_DAYS = 3
SAME_SOURCE_SIMILARITY = 0.9

_WORD = re.compile(r"\w+")
_MARKS = re.compile("[\u0300-\u036f]+")
SEED = 1
_VALUES = struct.Struct(f"<{PERMUTATIONS}I")


@dataclass(frozen=True)
class Candidate:
    """What `same_story` needs of an article already stored."""

    id: str
    story: str
    signature: bytes
    date: date | None
    source: str


# A band key an article holds, and the span of dates its copies may have
# (MAX_DAYS each way; None, None: any, for an undated article).
Wanted = tuple[int, date | None, date | None]


class StoryRow(NamedTuple):
    """What the store keeps of an article's story: its band keys are
    stored with its date, so that asking for a span of days reads the
    bands alone (joined to every holder's article for its date, 70% of a
    1M import went there)."""

    id: str
    story: str
    signature: bytes
    keys: list[int]
    date: date | None


class StoryStore(Protocol):
    """The store side of story detection, one per backend: one read and one
    write per import batch (per article, the statements were half of the
    0.7 ms that grouping cost)."""

    def story_candidates(self, wanted: list[Wanted], exclude: list[str]) -> list[tuple[int, Candidate]]:
        """(band key, stored article) for every stored article holding one of
        the wanted keys and dated within its span (or undated), but those of
        `exclude`; by key, then by id."""
        ...

    def save_stories(self, rows: list[StoryRow]) -> None:
        """Records each row, replacing any of the same id."""
        ...


def _folded_words(article: Article) -> list[str]:
    text = f"{article.title} {article.body}"[: MAX_WORDS * 12].lower()
    # Accents off: decomposed, then the combining marks removed by one regex
    # (a per-character test in Python took 60% of a signature's time).
    plain = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _WORD.findall(plain)[:MAX_WORDS]


def signature(article: Article) -> bytes:
    """The article's MinHash signature, PERMUTATIONS 32-bit values."""
    words = _folded_words(article)
    width = min(SHINGLE_WORDS, len(words)) or 1
    shingles = {" ".join(words[i : i + width]) for i in range(max(1, len(words) - width + 1))}
    minhash = RMinHash(num_perm=PERMUTATIONS, seed=SEED)
    minhash.update(list(shingles))
    return _VALUES.pack(*minhash.digest())


def band_keys(sig: bytes) -> list[int]:
    """One key per band: the band's number and its ROWS values, hashed to a
    signed 64-bit integer (an indexed column in either store)."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = zlib.crc32(chunk, band) << 32 | zlib.adler32(chunk, band)
        keys.append(struct.unpack("<q", struct.pack("<Q", digest))[0])
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of two signatures' shingle sets."""
    return sum(x == y for x, y in zip(_VALUES.unpack(a), _VALUES.unpack(b), strict=True)) / PERMUTATIONS


def _span(day: date | None) -> tuple[date | None, date | None]:
    """The dates a copy of an article of `day` may have (None, None: any)."""
    if day is None:
        return None, None
    return day - timedelta(days=MAX_DAYS), day + timedelta(days=MAX_DAYS)


def same_story(article: Article, sig: bytes, other: Candidate) -> float | None:
    """The similarity with `other` when the two tell the same story, else None."""
    when = article.date
    days = abs((when - other.date).days) if when and other.date else 0
    if days > MAX_DAYS:
        return None
    score = similarity(sig, other.signature)
    # No outlet named (an archive of one newspaper) counts as one outlet.
    same_source = (article.source or "") == other.source
    needed = SAME_SOURCE_SIMILARITY if same_source else SIMILARITY
    return score if score >= needed else None


def assign_stories(store: StoryStore, articles: Iterable[Article]) -> dict[str, str]:
    """Each article's story (the id of the story's first article), found
    among the stored ones and those before it in `articles`; saved in the
    store. Returns id -> story."""
    articles = list(articles)
    if not articles:
        return {}
    signatures = [signature(a) for a in articles]
    keys = [band_keys(sig) for sig in signatures]
    ids = list(dict.fromkeys(a.id for a in articles))
    by_key: dict[int, list[Candidate]] = {}
    # Only articles a few days apart tell one story (same_story): asking
    # for those alone keeps an archive's many older copies of a text out
    # (at 403,500 articles of a corpus copied 20 times, a batch of 500
    # fetched 160,189 candidates in 2.6 s, 2 in 0.8 s this way).
    spans = {(k, *_span(a.date)) for a, held in zip(articles, keys, strict=True) for k in held}
    wanted = sorted(spans, key=lambda w: w[0])
    for key, candidate in store.story_candidates(wanted, ids):
        by_key.setdefault(key, []).append(candidate)
    assigned: dict[str, str] = {}
    rows: dict[str, StoryRow] = {}  # the last version of an id wins
    for article, sig, article_keys in zip(articles, signatures, keys, strict=True):
        best, story = 0.0, article.id
        seen: set[str] = set()
        for key in article_keys:
            for other in by_key.get(key, ()):
                if other.id in seen or other.id == article.id:
                    continue
                seen.add(other.id)
                score = same_story(article, sig, other)
                if score is not None and score > best:
                    best, story = score, other.story
        assigned[article.id] = story
        rows[article.id] = StoryRow(article.id, story, sig, article_keys, article.date)
        # Later articles of the batch may be its copies.
        mine = Candidate(article.id, story, sig, article.date, article.source or "")
        for key in article_keys:
            by_key.setdefault(key, []).append(mine)
    store.save_stories(list(rows.values()))
    return assigned
