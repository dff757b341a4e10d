"""The two baselines the server is measured against, under the same gunicorn settings.

Both answer every request with the very bytes and headers the server sent for one address (captured
by bench/run.py into BENCH_CAPTURE, a JSON file), and with the same 304 for the same If-None-Match:

- `raw`: a bare WSGI callable, no framework at all: the most gunicorn allows;
- `flask`: a bare Flask app with one route: what routing a request through Flask costs.
"""

import json
import os

from flask import Flask, Response, request

with open(os.environ["BENCH_CAPTURE"], encoding="utf-8") as f:
    _CAPTURED = json.load(f)
BODY = _CAPTURED["body"].encode("latin-1")
HEADERS = [tuple(h) for h in _CAPTURED["headers"]]
NOT_MODIFIED = [h for h in HEADERS if h[0] not in ("Content-Type", "Content-Length")]
ETAG = dict(HEADERS)["ETag"]


def raw(environ, start_response):
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 Not Modified", NOT_MODIFIED)
        return []
    start_response("200 OK", HEADERS)
    return [BODY]


flask = Flask(__name__)


@flask.get("/<path:anything>")
def endpoint(anything):
    if request.headers.get("If-None-Match") == ETAG:
        return Response(status=304, headers=NOT_MODIFIED)
    return Response(BODY, headers=HEADERS)
