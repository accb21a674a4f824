"""The whoosh backend: the articles in a SQLite store (`store`), a whoosh
index derived from it (`indexer`, written by `indexing`, read by `ranking`),
and the `Archive` that keeps the two in step and answers searches."""

from __future__ import annotations

from .archive import Archive

__all__ = ["Archive"]
