"""What the engine raises to its callers, for every backend: the faces catch
these and show their Italian messages.
"""

from __future__ import annotations

import errno
import sqlite3


class IndexMissing(RuntimeError):
    """There is no usable index; the message says to run `rebuild`."""


class DatabaseUnavailable(IndexMissing):
    """PostgreSQL cannot be reached (or no DSN was given): the archive is not usable."""


class WriterBusy(RuntimeError):
    """Another process is writing to the archive."""


class WriteFailed(RuntimeError):
    """A write stopped part-way (a worker died, the disk is full): the message,
    in Italian, says what happened and what stayed as it was."""


def busy(timeout: float) -> WriterBusy:
    """The error of a writer that waited `timeout` seconds for another one."""
    return WriterBusy(
        f"L'archivio è occupato da un'altra operazione di scrittura "
        f"(attesi {timeout:g} s). Riprova quando è terminata."
    )


def out_of_space(error: BaseException) -> bool:
    """A full disk or quota (ENOSPC, EDQUOT), a file over the size limit
    (EFBIG), or SQLite's SQLITE_FULL."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(error)


def megabytes(size: int) -> str:
    """Bytes as Italian megabytes: "20,2 MB"."""
    return f"{size / 1e6:.1f} MB".replace(".", ",")


class SemanticUnavailable(RuntimeError):
    """The semantic extra (search.semantic) is not installed; the message
    says how to install it, in Italian."""
