"""Which documents tell the same story (search.stories), as arrays over the
index's document numbers: the distinct stories among a search's matches,
and each ranked document's story, for folding copies (search.folding).

The store knows stories by article id; the index numbers documents. Only
articles in stories of two or more need a number (6% of the dev corpus):
each is looked up in the id field's term dictionary (~30 µs; ~40 ms for
the dev corpus's 1,238), or, in a segment with fewer documents than ids
sought, found by reading the segment's stored ids; remembered per segment
(a segment's documents never change), so after an import only the new
copies are looked up. A
map is made once per searcher: a new story appears only with an import,
which commits the index after the store, so a newer searcher follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh.reading import SegmentReader, TermNotFound

from ..segcache import cache
from ..store import Store
from .docsets import DocSets, from_ids, member_array

_MISSING = -1


@dataclass(frozen=True)
class StoryMap:
    """The documents that share their story with another, by document
    number (ascending), each with its story's number."""

    docnums: np.ndarray
    stories: np.ndarray
    bits: int

    def distinct(self, matches: int, total: int) -> int:
        """How many stories the `total` documents of bitmap `matches` tell."""
        shared = matches & self.bits
        if not shared:
            return total
        docs = member_array(shared)
        told = self.stories[np.searchsorted(self.docnums, docs)]
        return total - len(docs) + len(np.unique(told))

    def story_of(self, docnums: list[int]) -> dict[int, int]:
        """The story number of each of `docnums` that shares its story; a
        document alone is its own story (absent here)."""
        if not len(self.docnums) or not docnums:
            return {}
        wanted = np.asarray(docnums, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.docnums, wanted), len(self.docnums) - 1)
        found = self.docnums[at] == wanted
        return dict(zip(wanted[found].tolist(), self.stories[at[found]].tolist(), strict=True))


def story_map(ds: DocSets, store: Store) -> StoryMap:
    """The searcher's StoryMap, made once per searcher."""
    found = ds._local.get(("stories",))
    if found is None:
        found = _build(ds, store)
        ds._local[("stories",)] = found  # type: ignore[assignment]
    return found  # type: ignore[return-value]


def _build(ds: DocSets, store: Store) -> StoryMap:
    numbers: dict[str, int] = {}
    docnums: list[int] = []
    stories: list[int] = []
    rows = store.shared_stories()
    for reader, offset in ds.leaves:
        local = _local_numbers(reader, [article_id for article_id, _ in rows])
        for (_, story), d in zip(rows, local, strict=True):
            if d != _MISSING and ds.live >> (offset + d) & 1:
                docnums.append(offset + d)
                stories.append(numbers.setdefault(story, len(numbers)))
    order = np.argsort(np.asarray(docnums, dtype=np.int64), kind="stable")
    sorted_docs = np.asarray(docnums, dtype=np.int64)[order]
    return StoryMap(sorted_docs, np.asarray(stories, dtype=np.int64)[order], from_ids(docnums, ds.nbits))


def _local_numbers(reader: SegmentReader, ids: list[str]) -> list[int]:
    """The segment's document number of each id (deleted ones included;
    _MISSING: not in this segment), remembered for the segment's life."""
    key = ("story-docnums", reader.segment().segment_id())
    known: dict[str, int] | None = cache.get(key)  # type: ignore[assignment]
    if known is None:
        known = {}
    missing = [i for i in ids if i not in known]
    if missing:
        # A segment smaller than the ids sought (an import's) is read whole:
        # every id of the 100k benchmark's stories was looked up in each of
        # its four segments, 24,780 lookups, 0.96 s of a new server's first search.
        if reader.doc_count_all() <= len(missing):
            known.update(_numbers_by_reading(reader, missing))
        else:
            known.update(_numbers_by_lookup(reader, missing))
        cache.put(key, known, 100 * len(known) + 64)
    return [known[i] for i in ids]


def _numbers_by_lookup(reader: SegmentReader, ids: list[str]) -> dict[str, int]:
    """Each id's document number from the id field's term dictionary (~30 µs each)."""
    found = {}
    for article_id in ids:
        try:
            found[article_id] = reader.term_info("id", article_id).min_id()
        except TermNotFound:
            found[article_id] = _MISSING
    return found


def _numbers_by_reading(reader: SegmentReader, ids: list[str]) -> dict[str, int]:
    """Each id's document number from the stored ids of every document of
    the segment, deleted ones included (~15 µs a document)."""
    stored = {}
    for docnum in range(reader.doc_count_all()):
        article_id = reader.stored_fields(docnum).get("id")
        if article_id is not None:
            stored.setdefault(article_id, docnum)
    return {article_id: stored.get(article_id, _MISSING) for article_id in ids}
