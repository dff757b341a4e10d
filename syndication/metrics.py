"""Prometheus metrics, served at /metrics in the text exposition format.

Under gunicorn every worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py
sets it), prometheus_client keeps each worker's values in files there and /metrics adds them up, so any
worker answers for all. Without it (tests, `flask run`), the values are this process's.

The 304 ratio is a query on the request counter:
    sum(rate(syndication_requests_total{status="304"}[5m])) / sum(rate(syndication_requests_total[5m]))
"""

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter("syndication_requests", "Requests answered, by route and status", ["route", "status"])
CACHE = Counter("syndication_cache_lookups", "Rendered-representation cache lookups", ["result"])
RENDER = Histogram(
    "syndication_render_seconds",
    "Time to render a feed or page (a cache miss)",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
IMPORTED = Counter("syndication_import_posts", "Posts through flask import-posts, by outcome", ["outcome"])
SOURCE_POLLS = Counter(
    "syndication_source_polls", "Polls of partners' feeds (flask sources fetch), by outcome", ["outcome"]
)
SOURCE_ENTRIES = Counter("syndication_source_entries", "Entries of partners' feeds, by outcome", ["outcome"])


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
