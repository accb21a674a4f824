"""How current an archive is, for monitoring (web.metrics, `archivio stats`):
how many times its searchable index has changed, and when the last import
finished. Both backends keep the same two events in their store, in a table
`archive_events` (kind, at, times), written by the writer that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass

# An import finished (whatever it changed; not a dry run).
IMPORTED = "import"
# The searchable index changed: an import that added or updated articles,
# a rebuild, a removal, a repair.
INDEX_CHANGED = "index"


@dataclass(frozen=True)
class Freshness:
    # Changes of the searchable index so far (0: never indexed). It only
    # grows: a monitor sees new content arrive, or notices it stopped.
    index_generation: int
    # When the last import finished, Unix seconds; None before the first.
    last_import: float | None

    @classmethod
    def of(cls, events: dict[str, tuple[float, int]]) -> Freshness:
        """From the store's events: kind -> (last time, how many times)."""
        imported = events.get(IMPORTED)
        return cls(
            index_generation=events.get(INDEX_CHANGED, (0.0, 0))[1],
            last_import=imported[0] if imported else None,
        )
