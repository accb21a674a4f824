"""A small cache of recent search results, invalidated by any index change.

The same searches come back often (the first page of a popular query, the
page reloaded, the facet links); a hit answers in microseconds. Results are
keyed by the index's segments and their deletions (search.whoosh_sqlite.ranking.docsets.
index_version), so an import, a removal or a rebuild makes every entry
unreachable at once. Size from ARCHIVIO_RESULT_CACHE (entries; 0 turns it
off, as the speed benchmark does to measure the engine itself).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from ..settings import env_int

DEFAULT_SIZE = 256


class ResultCache:
    """A thread-safe LRU of search results."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._version: object = None
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            # Keys start with the index version: results of an older version
            # can never be asked for again, so they are not kept either.
            version = key[0] if isinstance(key, tuple) and key else None
            if version != self._version:
                self._items.clear()
                self._version = version
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def from_environment() -> ResultCache | None:
    """The cache ARCHIVIO_RESULT_CACHE asks for (None when 0)."""
    size = env_int("ARCHIVIO_RESULT_CACHE", DEFAULT_SIZE)
    return ResultCache(size) if size > 0 else None
