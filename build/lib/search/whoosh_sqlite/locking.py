"""The archive's single-writer lock.

Imports, rebuilds and removals change the store and the index together, so
they take one exclusive lock. It is an OS-level `flock`: the kernel drops
it when the last descriptor of its open file is closed, so a killed writer
never leaves a stale lock behind.

`flock` belongs to the open file, which `fork` shares: a rebuild's worker
processes would keep the lock alive after their parent's death (the
adversarial run measured 1.3-54 s). Every forked child therefore closes its
copy at once (`os.register_at_fork`), and only the writer itself holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from ..errors import busy

# Lock descriptors held by this process, closed in any child it forks.
_HELD: set[int] = set()


def _forget_in_child() -> None:
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


class WriterLock:
    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._fd: int | None = None
        self._pid = 0

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
        _HELD.add(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd, self._pid = fd, os.getpid()
        return self

    def __exit__(self, *exc) -> None:
        fd, self._fd = self._fd, None
        # In a forked child the descriptor is already closed (and its number may be reused).
        if fd is not None and self._pid == os.getpid():
            _HELD.discard(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def lock_holder(path: str | Path) -> int | None:
    """The pid of the writer holding the lock at `path` (0 if it has not written
    it yet), or None when no writer holds it. Probes with a shared lock, taken
    and dropped at once: never creates the file, never waits."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
