"""What a server loads before it answers: the one-time costs of the first
searches, paid at start-up instead of by the first readers.

A new server's first search at 100k articles took 0.73 s where the next
took 55 ms: the whoosh engine built its bitmaps, facet codes and story map
(0.48 s: each story's articles looked up in the index), loaded the Italian
dictionary and the number words (0.17 s), read the thesaurus (0.14 s) and
imported the search code; the first misspelt word read the archive's
words (0.14 s). `warm` runs the searches that pay them, through
the backend's own `search`, so it loads what either backend would.
"""

from __future__ import annotations

import logging
import re

from .backend import ArchiveBackend
from .dates import DateError
from .errors import DatabaseUnavailable, IndexMissing
from .queryparse import QueryError
from .thesaurus import system_thesaurus

log = logging.getLogger(__name__)

# A word of a title, long enough to be neither a stop word nor a number.
_WORD = re.compile(r"[^\W\d_]{5,}")


def warm(archive: ArchiveBackend) -> str | None:
    """Runs the searches a server's first readers would otherwise wait on:
    every article with its facets (browsing), then one word of the newest
    article's title, as written and misspelt, and reads the thesaurus.
    Returns the word searched (None: no index, or nothing to search). An
    archive that cannot be searched (no index, database down) is left as
    it is: the site says so to its readers, as it would without the warm-up."""
    try:
        newest = archive.search("", per_page=1)
        word = None
        if newest.hits:
            found = _WORD.search(newest.hits[0].article.title)
            word = found.group() if found else None
        if word is not None:
            archive.search(word)
            # Misspelt (its last two letters swapped): the typo machinery reads
            # the archive's words (at 100k, 0.14 s for the `exact` field).
            archive.search(word[:-2] + word[-1] + word[-2])
        system_thesaurus()
        return word
    except (DatabaseUnavailable, QueryError, DateError) as e:  # first: DatabaseUnavailable is an IndexMissing
        log.warning("Preparazione della ricerca non riuscita: %s", e)
        return None
    except IndexMissing:
        return None  # `archivio serve` says so, and the site answers "in manutenzione"
