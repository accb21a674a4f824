"""The archive's single-writer lock.

Imports, rebuilds and removals change the store and the index together, so
they take one exclusive lock. It is an OS-level `flock`: the kernel drops
it when the holding process dies, so a killed writer never leaves a stale
lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class WriterBusy(RuntimeError):
    """Another process is writing to the archive."""


def busy(timeout: float) -> WriterBusy:
    """The error of a writer that waited `timeout` seconds for another one."""
    return WriterBusy(
        f"L'archivio è occupato da un'altra operazione di scrittura "
        f"(attesi {timeout:g} s). Riprova quando è terminata."
    )


class WriterLock:
    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise busy(self.timeout) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
