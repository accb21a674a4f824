"""The per-segment cache every search structure shares: bitmaps, postings,
positions, columns, lexicons, keyed by the segment (or the whole index
state) they were computed from.

A segment's files never change, so what is computed from it stays true
until the segment leaves its index (merged away by an import, replaced by
a rebuild): then `forget_segments` drops it. One byte-bounded LRU per
process, shared by all threads and searchers.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import OrderedDict

from ..settings import SettingError, env_int

# Bytes of per-segment data (bitmaps, postings, positions) kept per process,
# shared by all threads and searchers (ARCHIVIO_CACHE_MB). The 150 dev
# searches of a million-article archive need ~0.9 GB in turn (with the
# search page's filters and facets); with 512 MB the admission below keeps
# the part used most, and a search page's p50 is what it is with 2 GB.
CACHE_MB_DEFAULT = 512


def cache_mb() -> int:
    """ARCHIVIO_CACHE_MB, checked (SettingError names it)."""
    return env_int("ARCHIVIO_CACHE_MB", CACHE_MB_DEFAULT, minimum=1)


def _cache_bytes_at_import() -> int:
    # A bad value must not make `import search` a traceback: Archive() checks
    # it again and raises SettingError for the CLI to print.
    try:
        return cache_mb() * 1024 * 1024
    except SettingError:
        return CACHE_MB_DEFAULT * 1024 * 1024


CACHE_BYTES = _cache_bytes_at_import()


# The share of the budget that takes every new item (the rest is kept for
# the items used most): a search's own items must stay while it runs.
WINDOW_SHARE = 0.1
# Keys whose uses are counted; past it the counts are halved (older uses
# weigh less) and keys at zero forgotten. ~100 bytes a key: ~10 MB.
COUNTED_KEYS = 100_000


class _LRU:
    """A byte-bounded cache, safe to share between threads.

    New items enter a window (WINDOW_SHARE of the budget, least recently
    used out first); an item leaving the window joins the main part only
    if it was used more often than the main part's least recently used
    items it would push out (TinyLFU's admission). A plain LRU keeps
    nothing when a server's searches need more than the budget in turn:
    at a million articles the 150 dev searches put ~0.9 GB through 512 MB,
    and each search's postings had been pushed out before it came back
    (search page p50 86-92 ms; 19-21 ms this way, as with a 2 GB LRU).
    This way the items used most (a common word's postings, in many
    searches) stay, and the ones used once pass through the window.

    Pinned items (per-segment structures every query needs and that are
    slow to rebuild: facet bitmaps, sorted columns, field lengths, the
    lexicon) are kept outside the budget until their segment goes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.window_budget = max(1, int(budget * WINDOW_SHARE))
        self.used = 0  # both parts
        self.window: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self.window_used = 0
        self.items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()  # the main part
        self.uses: dict[tuple, int] = {}
        self.pinned: dict[tuple, object] = {}
        self.lock = threading.Lock()
        # Segments gone from their index: a searcher opened before they went
        # may still ask, but what it computes is not kept.
        self.gone: set[str] = set()

    def held(self) -> list[tuple]:
        """The keys held within the budget (not the pinned ones)."""
        with self.lock:
            return self._held()

    def _held(self) -> list[tuple]:  # under the lock
        return [*self.window, *self.items]

    def get(self, key: tuple) -> object | None:
        with self.lock:
            found = self.pinned.get(key)
            if found is not None:
                return found
            self._count(key)
            item = self.window.get(key)
            if item is not None:
                self.window.move_to_end(key)
                return item[0]
            item = self.items.get(key)
            if item is None:
                return None
            self.items.move_to_end(key)
            return item[0]

    def put(self, key: tuple, value: object, size: int, pinned: bool = False) -> None:
        with self.lock:
            if self.gone and not self.gone.isdisjoint(_segments_of(key)):
                return
            if pinned:
                self.pinned[key] = value
                return
            self._drop(key)
            self.window[key] = (value, size)
            self.window_used += size
            self.used += size
            while self.window_used > self.window_budget and len(self.window) > 1:
                old, (old_value, old_size) = self.window.popitem(last=False)
                self.window_used -= old_size
                self.used -= old_size
                self._admit(old, old_value, old_size)

    def _count(self, key: tuple) -> None:
        self.uses[key] = self.uses.get(key, 0) + 1
        if len(self.uses) > COUNTED_KEYS:
            # Halved until half the keys are left: then again only after
            # COUNTED_KEYS / 2 new keys, whatever the counts were.
            while len(self.uses) > COUNTED_KEYS // 2:
                self.uses = {k: n >> 1 for k, n in self.uses.items() if n > 1}

    def _admit(self, key: tuple, value: object, size: int) -> None:
        """The main part takes an item leaving the window, if it was used
        more often than every item it pushes out."""
        room = self.budget - self.window_budget
        if size > room:
            return
        need = (self.used - self.window_used) + size - room
        if need > 0:
            uses = self.uses.get(key, 0)
            out: list[tuple] = []
            for old, (_, old_size) in self.items.items():  # least recently used first
                if need <= 0:
                    break
                if self.uses.get(old, 0) >= uses:
                    return
                out.append(old)
                need -= old_size
            for old in out:
                self.used -= self.items.pop(old)[1]
        self.items[key] = (value, size)
        self.used += size

    def _drop(self, key: tuple) -> None:
        old = self.window.pop(key, None)
        if old is not None:
            self.window_used -= old[1]
            self.used -= old[1]
        old = self.items.pop(key, None)
        if old is not None:
            self.used -= old[1]

    def clear(self) -> None:
        with self.lock:
            self.window.clear()
            self.items.clear()
            self.pinned.clear()
            self.uses.clear()
            self.used = self.window_used = 0

    def forget(self, segment_ids: set[str]) -> None:
        with self.lock:
            if len(self.gone) > 100_000:
                self.gone.clear()
            self.gone |= segment_ids
            for key in [k for k in self._held() if not segment_ids.isdisjoint(_segments_of(k))]:
                self._drop(key)
            for key in [k for k in self.pinned if not segment_ids.isdisjoint(_segments_of(k))]:
                del self.pinned[key]

    def retire(self, owned: set[str], current: set[str]) -> None:
        """Drops what was computed for a whole index (keys naming all its
        segments) that named an earlier state of the index owning `owned`
        segments: its segments may all still be there, but no new searcher
        will ask for it again."""
        with self.lock:
            for key in [
                k
                for k in self._held()
                if isinstance(k[1], tuple) and not owned.isdisjoint(k[1]) and set(k[1]) != current
            ]:
                self._drop(key)


def _segments_of(key: tuple) -> tuple[str, ...]:
    """The segment ids a cache key depends on: keys are (kind, segment id, ...)
    or (kind, (segment ids of a whole index), ...)."""
    if len(key) < 2:
        return ()
    return key[1] if isinstance(key[1], tuple) else (key[1],)


cache = _LRU(CACHE_BYTES)


def clear_cache() -> None:
    cache.clear()


def retire_index_states(owned: set[str], current: set[str]) -> None:
    """Drops the cached whole-index data of earlier states of an index (see
    _LRU.retire): left in place, every import's commits would add a copy."""
    cache.retire(owned, current)


def forget_segments(segment_ids: set[str]) -> None:
    """Drops what is cached about segments gone from their index (merged
    away by an import, or replaced by a rebuild). Left in place they would
    sit in the cache until evicted, and the server's memory would grow with
    every import; the freed memory is handed back to the system."""
    if segment_ids:
        cache.forget(segment_ids)
        _trim_heap()


def _trim_heap() -> None:
    # glibc keeps freed memory in its arenas (one per thread that allocated):
    # malloc_trim returns the free pages at once. Elsewhere, nothing to do.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
