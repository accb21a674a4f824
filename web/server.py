"""Serving the site: waitress, in one process or in several sharing one port.

Python runs one thread at a time, so one process answers searches on one
core at most. With `workers` > 1 the parent forks that many processes,
each with its own archive (its own SQLite connection and index readers:
nothing opened is shared across the fork), its own waitress threads and its
own socket on the same port (SO_REUSEPORT); the kernel hands each
connection to one of them. A worker that dies is replaced; SIGTERM or
Ctrl+C stops them all.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable

from flask import Flask

# glibc's M_ARENA_MAX: by default every thread that allocates may get its
# own malloc arena (up to 8 per core), each keeping freed memory of its own;
# with two, the soak test's server grew 8-10 % instead of 11 % (bench/soak.py).
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS)


def serve(make_app: Callable[[], Flask], host: str, port: int, threads: int, workers: int = 1) -> None:
    """Serves the app made by `make_app` until interrupted."""
    from waitress import serve as waitress_serve

    limit_malloc_arenas()
    if workers <= 1:
        waitress_serve(make_app(), host=host, port=port, threads=threads, ident="archivio")
        return
    # The parent's socket, bound but not listening, holds the port (and
    # reports a busy one at once); each worker listens on its own socket
    # bound to the same port with SO_REUSEPORT, so that the kernel spreads
    # the connections evenly. (With one shared socket, the first worker to
    # wake takes every keep-alive connection of a burst; the others idle.)
    sock = _socket(host, port, listen=False)

    children: set[int] = set()
    stopping = False
    stop_signals = {signal.SIGTERM, signal.SIGINT}

    def start_worker() -> None:
        # Signals wait until the new worker is in `children`, so that a stop
        # arriving during the fork reaches it too.
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            pid = os.fork()
            if pid == 0:  # the worker
                for signum in stop_signals:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
                _die_with_parent()
                code = 0
                try:
                    own = _socket(host, port, listen=True)
                    waitress_serve(make_app(), sockets=[own], threads=threads, ident="archivio")
                except BaseException:  # noqa: BLE001 - a worker reports and exits, the parent replaces it
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            children.add(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in stop_signals:
        signal.signal(signum, stop)
    for _ in range(workers):
        start_worker()
    try:
        while children:
            pid, _ = os.wait()
            children.discard(pid)
            if not stopping:
                print(f"Processo {pid} terminato: lo sostituisco.", file=sys.stderr)
                time.sleep(0.5)  # a worker failing at start must not spin
                if not stopping:
                    start_worker()
    finally:
        sock.close()


def _die_with_parent() -> None:
    # Linux's PR_SET_PDEATHSIG: a worker whose parent was killed outright
    # (kill -9) stops too, instead of holding the port.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _socket(host: str, port: int, listen: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(1024)
    return sock
