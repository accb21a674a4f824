"""The seam between the faces and the engines: one factory for every backend.

    open_archive()                                   # whoosh + SQLite in ./data, ./index
    open_archive(backend="postgres", dsn="postgresql://archivio@db/archivio")

Arguments win over the environment (ARCHIVIO_BACKEND, ARCHIVIO_DSN,
ARCHIVIO_DSN_READ, ARCHIVIO_DATA, ARCHIVIO_INDEX). Both archives offer the
same methods with the same results; the CLI and the web app use only this.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .archive import Archive

if TYPE_CHECKING:
    from .pg import PostgresArchive

BACKENDS = ("whoosh", "postgres")


class UnknownBackend(ValueError):
    """A backend name that is not one of BACKENDS (the message is Italian)."""


def backend_name(backend: str | None = None) -> str:
    name = (backend or os.environ.get("ARCHIVIO_BACKEND") or "whoosh").strip().lower()
    if name in ("pg", "postgresql"):
        name = "postgres"
    if name not in BACKENDS:
        raise UnknownBackend(f"Backend sconosciuto: {name!r}. Usa uno tra: {', '.join(BACKENDS)}.")
    return name


def open_archive(
    backend: str | None = None,
    dsn: str | None = None,
    dsn_read: str | None = None,
    data_dir: str | os.PathLike | None = None,
    index_dir: str | os.PathLike | None = None,
    **options: Any,
) -> Archive | PostgresArchive:
    """The archive of `backend` ("whoosh", the default, or "postgres").

    `options` go to the archive's constructor (ranking, synonyms, lock_timeout).
    """
    if backend_name(backend) == "postgres":
        from .pg import PostgresArchive

        return PostgresArchive(dsn, dsn_read, **options)
    return Archive(data_dir, index_dir, **options)


__all__ = ["BACKENDS", "UnknownBackend", "backend_name", "open_archive"]
