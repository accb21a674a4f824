"""The whoosh backend: the articles in a SQLite store (`store`), a whoosh
index derived from it (`indexer`, written by `indexing`, read by `ranking`),
and the `Archive` that keeps the two in step and answers searches."""

from __future__ import annotations

import sys

from . import formats
from .archive import Archive

# whoosh pickles an index's schema and segments with the classes of their
# formats and codec, by module path: indexes written before the engine moved
# into this package (2026-12) name them `search.formats`. Unpickling finds
# a module in sys.modules before importing it, so such indexes keep opening
# (tests/test_architecture.py writes one as the code before the move did, and opens it).
sys.modules.setdefault("search.formats", formats)

__all__ = ["Archive"]
