"""Prometheus metrics at /metrics (prometheus-client): requests and their
latency per route, searches and those without results, the archive's
articles and indexed articles, its index generation and the time of the
last import (search.freshness; read when scraped).

With several server processes (`archivio serve --workers N`) the command
sets PROMETHEUS_MULTIPROC_DIR to a folder of its own before prometheus-client
is first imported (it chooses how to keep values then); each process writes
its counts there and any of them answers for all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TypeVar

from flask import Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .accesslog import request_seconds

T = TypeVar("T")

# Seconds: a search is ~10-100 ms; a refused request under 1 ms; an export seconds.
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One app's metrics (their own registry: two apps in one process,
    as in the tests, count apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "archivio_http_requests", "Richieste HTTP", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "archivio_http_request_duration_seconds",
            "Durata delle richieste",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.searches = Counter(
            "archivio_searches", "Ricerche nuove (la prima pagina)", registry=self.registry
        )
        self.zero = Counter(
            "archivio_zero_result_searches", "Ricerche senza risultati", registry=self.registry
        )


def install(app: Flask) -> None:
    metrics = app.extensions["archivio_metrics"] = Metrics()
    app.add_url_rule("/metrics", "metrics", lambda: _scrape(metrics))
    # Timed by the access log's clock (web.accesslog.install, called first).
    app.after_request(lambda response: _count(metrics, response))


def count_search(results: int) -> None:
    """A new search and its result count."""
    metrics = current_app.extensions.get("archivio_metrics")
    if metrics is not None:
        metrics.searches.inc()
        if not results:
            metrics.zero.inc()


def _count(metrics: Metrics, response: Response) -> Response:
    # The route's rule, not the path: ids and typos must not make new series.
    route = request.url_rule.rule if request.url_rule is not None else "other"
    metrics.requests.labels(route, request.method, str(response.status_code)).inc()
    seconds = request_seconds()
    if seconds is not None:
        metrics.latency.labels(route).observe(seconds)
    return response


class _ArchiveCollector:
    """The archive's sizes, read when scraped (any process reads the same archive)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        archive = current_app.extensions["archivio"]
        # Each read on its own: an archive without an index yet still has
        # articles and a last import to give.
        articles = _read(archive.article_count)
        if articles is not None:
            yield GaugeMetricFamily("archivio_articles", "Articoli nell'archivio", value=articles)
        indexed = _read(archive.indexed_count)
        if indexed is not None:
            yield GaugeMetricFamily("archivio_indexed_articles", "Articoli nell'indice", value=indexed)
        fresh = _read(archive.freshness)
        if fresh is None:
            return
        yield GaugeMetricFamily(
            "archivio_index_generation",
            "Modifiche dell'indice di ricerca finora (importazioni, ricostruzioni, rimozioni)",
            value=fresh.index_generation,
        )
        if fresh.last_import is not None:
            yield GaugeMetricFamily(
                "archivio_last_import_timestamp_seconds",
                "Fine dell'ultima importazione (secondi Unix)",
                value=fresh.last_import,
            )


def _read(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception:  # noqa: BLE001 - what cannot be read now is left out of this scrape
        return None


def _scrape(metrics: Metrics) -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(metrics.registry))
    registry.register(_ArchiveCollector())
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


class _Forward:
    """This app's own metrics inside a scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator:
        yield from self.registry.collect()
