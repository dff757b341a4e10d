"""HTTP for feeds and pages: validators, conditional GET (RFC 9110 §13), caching and compression."""

import gzip
import hashlib
from datetime import datetime

from flask import Response, current_app, request

from .dates import http_date

GZIP_SUFFIX = "-gz"  # the gzip-coded representation is a different one, so its strong ETag differs
MIN_GZIP_SIZE = 512  # below this, gzip's header costs more than it saves


def entity_tag(body: bytes) -> str:
    """A strong validator: a digest of the exact bytes, so it changes exactly when they do."""
    return hashlib.sha256(body).hexdigest()[:32]


def not_modified(etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match, when sent, decides alone; only without it If-Modified-Since."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.if_none_match:
        # §13.1.2: weak comparison; either coding of the same content is the same content to a client.
        return request.if_none_match.contains_weak(etag) or request.if_none_match.contains_weak(etag + GZIP_SUFFIX)
    since = request.if_modified_since  # None when absent or not a valid HTTP date (§13.1.3: ignore it)
    return since is not None and last_modified.replace(microsecond=0) <= since


def cacheable_response(body: bytes, mimetype: str, last_modified: datetime) -> Response:
    """A 200 with validators and cache hints, or a body-less 304 when the client's copy is current."""
    etag = entity_tag(body)
    headers = {
        "Cache-Control": f"public, max-age={current_app.config['SYNDICATION_CACHE_MAX_AGE']}",
        "Last-Modified": http_date(last_modified),
        "Vary": "Accept-Encoding",
    }
    use_gzip = len(body) >= MIN_GZIP_SIZE and request.accept_encodings.quality("gzip") > 0
    if use_gzip:
        etag += GZIP_SUFFIX
    if not_modified(etag.removesuffix(GZIP_SUFFIX), last_modified):
        response = Response(status=304, headers=headers)
        del response.headers["Content-Type"]  # a 304 has no content to describe
        response.set_etag(etag)
        return response
    if use_gzip:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    response = Response(body, headers=headers, content_type=f"{mimetype}; charset=utf-8")
    response.set_etag(etag)
    return response
