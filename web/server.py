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
import errno
import logging
import os
import resource
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask

from .limits import MAX_BODY_BYTES

# glibc's M_ARENA_MAX: by default every thread that allocates may get its
# own malloc arena (up to 8 per core), each keeping freed memory of its own;
# with two, the soak test's server grew 8-10 % instead of 11 % (bench/soak.py).
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS)


# waitress's limits (README, "Limits"). Its defaults let 110 sockets that
# send a header line every 5 s fill all 100 connections (issue 14): its
# channel_timeout only sees silence, never a request that trickles in.
SERVER_LIMITS = {
    # Connections open at once (waitress: 100); more wait in the kernel's queue.
    "connection_limit": 1000,
    # poll() rather than select(), which fails on descriptors past 1024.
    "asyncore_use_poll": True,
    # A connection that sends nothing (between keep-alive requests, or never
    # a first byte) is closed after 10 s (waitress: 120).
    "channel_timeout": 10,
    # How often, in seconds, connections are checked against these timeouts (waitress: 30).
    "cleanup_interval": 1,
    # Request line and headers (waitress: 256 KiB); larger gets a 431 from
    # the server, in Italian (web.servererrors).
    # The app's own bound on the query string is half of this (web.limits).
    "max_request_header_size": 32_768,
    # No route reads a body (waitress: 1 GiB, buffered before the app sees it).
    "max_request_body_size": MAX_BODY_BYTES,
}
# Seconds a request has to arrive whole, headers and body, from the moment
# the server first sees it partly read, however steadily it trickles.
REQUEST_ARRIVAL_TIMEOUT = 10
# Descriptors kept free of connections: index files, SQLite, PostgreSQL, logs.
SPARE_DESCRIPTORS = 100


def serve(make_app: Callable[[], Flask], host: str, port: int, threads: int, workers: int = 1) -> None:
    """Serves the app made by `make_app` until interrupted."""
    limit_malloc_arenas()
    if workers <= 1:
        run_waitress(make_app(), host=host, port=port, threads=threads)
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
                    run_waitress(make_app(), sockets=[own], threads=threads)
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


def run_waitress(app: Flask, **options: Any) -> None:
    """waitress.serve with SERVER_LIMITS and the arrival deadline; `options`
    are waitress's (host and port, or sockets; threads)."""
    from waitress.server import create_server

    logging.basicConfig()  # as waitress.serve: its warnings reach stderr
    from .accesslog import to_stderr

    to_stderr()
    limits = dict(SERVER_LIMITS, connection_limit=connection_limit(int(SERVER_LIMITS["connection_limit"])))
    from .servererrors import answer_errors_in_italian

    server = create_server(app, ident="archivio", **limits, **options)
    for listener in _listeners(server):
        answer_errors_in_italian(listener)
        close_slow_requests(listener, REQUEST_ARRIVAL_TIMEOUT)
    server.print_listen("Serving on http://{}:{}")
    server.run()


def connection_limit(wanted: int) -> int:
    """`wanted`, or less if the process may not open that many descriptors:
    past the limit accept() fails and waitress would retry it in a busy loop.
    The soft limit is raised towards the hard one first (often 1024 of 4096+)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - SPARE_DESCRIPTORS))


def _listeners(server: Any) -> list[Any]:
    """The listening servers behind what create_server returned (one, or a
    MultiSocketServer when the host has several addresses)."""
    from waitress.server import BaseWSGIServer

    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def close_slow_requests(server: Any, timeout: float) -> None:
    """Adds to the server's periodic maintenance (every cleanup_interval) the
    closing of connections whose request has been partly read for `timeout`
    seconds or more. A request is the same while its parser object is."""
    first_seen: dict[int, tuple[object, float]] = {}
    original = server.maintenance

    def maintenance(now: float) -> None:
        original(now)
        still: dict[int, tuple[object, float]] = {}
        for fd, channel in list(server.active_channels.items()):
            parser = channel.request
            if parser is None or parser.completed or channel.requests:
                continue  # idle (channel_timeout's job), or a request being answered
            seen = first_seen.get(fd)
            since = seen[1] if seen is not None and seen[0] is parser else now
            still[fd] = (parser, since)
            if now - since >= timeout:
                channel.will_close = True
        first_seen.clear()
        first_seen.update(still)

    server.maintenance = maintenance


def _die_with_parent() -> None:
    # Linux's PR_SET_PDEATHSIG: a worker whose parent was killed outright
    # (kill -9) stops too, instead of holding the port.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def port_taken(host: str, port: int) -> bool:
    """Whether another program listens on the port: asked before the site
    says where it is (other errors, a bad host, are the server's to report)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _socket(host: str, port: int, listen: bool) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(1024)
    return sock
