"""The PostgreSQL backend: the same Archive API over one shared database.

`PostgresArchive` keeps the articles, their weighted search vectors and the
vocabulary in PostgreSQL (see `migrations`); query parsing, synonyms, typo
correction, snippets and the result shape are the engine's shared ones.
"""

from __future__ import annotations

from .archive import PostgresArchive

__all__ = ["PostgresArchive"]
