"""Stories, not copies: the same news item from several outlets (wire
copies, syndicated articles, a rewrite of the same agency text) found at
import time and kept as one story.

Each article gets a MinHash signature (datasketch) of the 3-word shingles
of its folded title and opening (400 words); locality-sensitive hashing
over 16 bands of 4 values finds the earlier articles that may be copies
(pairs with a Jaccard similarity of ~0.5 share a band with probability
~0.65, of 0.8 with ~1.0), and `same_story` decides: an estimated
similarity of at least SIMILARITY, dates at most MAX_DAYS apart, and, from
the same outlet, at least SAME_SOURCE_SIMILARITY (an outlet's daily
bulletins share their template, its roundups their boilerplate, not their
news; hiding a different event under another is worse than showing one
outlet's two versions of a story). An article joins the
story of its most similar earlier article, else starts its own: a story is
named by the id of its first article.

Measured on the dev corpus (19,902 articles, 37 outlets; bench/stories.py):
622 stories of 2 to 5 articles hold 1,286 articles; of 50 random pairs read
by hand, 47 were the same news item (the three others: two bulletins of
one outlet, one live-blog roundup).

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
from datetime import date
from functools import cache
from typing import Protocol

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
# datasketch's 32-bit scheme, named: stored signatures must keep meaning
# the same whatever a later datasketch's default.
SCHEME = "affine32"
_VALUES = struct.Struct(f"<{PERMUTATIONS}I")


@dataclass(frozen=True)
class Candidate:
    """What `same_story` needs of an article already stored."""

    id: str
    story: str
    signature: bytes
    date: date | None
    source: str


class StoryStore(Protocol):
    """The store side of story detection, one per backend."""

    def story_candidates(self, keys: list[int], exclude: str) -> list[Candidate]:
        """The stored articles sharing any of the band `keys`, but `exclude`."""
        ...

    def save_story(self, article_id: str, story: str, signature: bytes, keys: list[int]) -> None:
        """Records the article's story, signature and band keys (replacing any)."""
        ...


def _folded_words(article: Article) -> list[str]:
    text = f"{article.title} {article.body}"[: MAX_WORDS * 12].lower()
    # Accents off: decomposed, then the combining marks removed by one regex
    # (a per-character test in Python took 60% of a signature's time).
    plain = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _WORD.findall(plain)[:MAX_WORDS]


@cache
def _permutations():
    """One set of permutations for every signature (datasketch draws them
    from its seed). Loaded on first use: datasketch brings numpy and scipy,
    which a PostgreSQL web server that only searches never needs."""
    from datasketch import MinHash

    return MinHash(num_perm=PERMUTATIONS, seed=1, scheme=SCHEME).permutations


def signature(article: Article) -> bytes:
    """The article's MinHash signature, PERMUTATIONS 32-bit values."""
    from datasketch import MinHash

    words = _folded_words(article)
    width = min(SHINGLE_WORDS, len(words)) or 1
    shingles = {" ".join(words[i : i + width]).encode() for i in range(max(1, len(words) - width + 1))}
    minhash = MinHash(num_perm=PERMUTATIONS, hashfunc=zlib.crc32, permutations=_permutations(), scheme=SCHEME)
    minhash.update_batch(shingles)
    return minhash.hashvalues.astype("<u4").tobytes()


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


def same_story(article: Article, sig: bytes, other: Candidate) -> float | None:
    """The similarity with `other` when the two tell the same story, else None."""
    when = article.date
    days = abs((when - other.date).days) if when and other.date else 0
    if days > MAX_DAYS:
        return None
    score = similarity(sig, other.signature)
    same_source = bool(article.source) and article.source == other.source
    needed = SAME_SOURCE_SIMILARITY if same_source else SIMILARITY
    return score if score >= needed else None


def assign_stories(store: StoryStore, articles: Iterable[Article]) -> dict[str, str]:
    """Each article's story (the id of the story's first article), found
    among the stored ones and those before it in `articles`; saved in the
    store. Returns id -> story."""
    assigned: dict[str, str] = {}
    for article in articles:
        sig = signature(article)
        keys = band_keys(sig)
        best, story = 0.0, article.id
        for other in store.story_candidates(keys, article.id):
            score = same_story(article, sig, other)
            if score is not None and score > best:
                best, story = score, other.story
        store.save_story(article.id, story, sig, keys)
        assigned[article.id] = story
    return assigned
