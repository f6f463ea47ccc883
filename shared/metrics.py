"""Prometheus metrics, correct across gunicorn worker processes."""

import os

from flask import Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# With PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it), every worker writes
# its samples to files there and /metrics adds them up, whichever worker answers.
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Request latency by route and status",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "cache_lookups_total", "Cache lookups by result (hit, miss, error, skipped)",
    ["service", "cache", "result"],
)


# Any token is a valid HTTP method: made-up ones share a label, so a client cannot grow
# the series (and the multiprocess files) without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Each series' child, looked up once: labels() takes a lock and builds its key every call.
_children: dict[tuple, object] = {}


def _child(metric, *labels: str):
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    _child(REQUEST_SECONDS, service, method, route, str(status)).observe(seconds)


def count_cache(service: str, cache: str, result: str) -> None:
    _child(CACHE_LOOKUPS, service, cache, result).inc()


def render_metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def register_metrics(app: Flask) -> None:
    app.add_url_rule("/metrics", "metrics", render_metrics)
