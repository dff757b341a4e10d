"""One poll of a partner's feed over HTTP: conditional, bounded in time and size, polite about waiting.

requests does the protocol (redirects, TLS, gzip); this module adds what a poller owes the sites it
polls and itself: the validators the source sent last, a deadline for the whole exchange (a server that
drips a byte a second never holds us), a cap on the decoded size (a gzip bomb stops at the cap), and
the source's own word on when to come back (Retry-After).
"""

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_REDIRECTS = 5
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


class FetchError(Exception):
    """The poll failed before there was a response to read; the message says why, in one line."""


@dataclass
class Fetched:
    status: int
    url: str  # where the body came from, after redirects
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    retry_after: timedelta | None = None
    moved_to: str = ""  # the new address, when every redirect on the way was permanent


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    user_agent: str,
    timeout: float,
    max_bytes: int,
    now: datetime,
) -> Fetched:
    headers = {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.max_redirects = MAX_REDIRECTS
    try:
        with session.get(url, headers=headers, timeout=(timeout, timeout), stream=True) as response:
            fetched = Fetched(
                status=response.status_code,
                url=response.url,
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
                retry_after=retry_after(response.headers.get("Retry-After", ""), now),
            )
            if response.history and all(r.status_code in (301, 308) for r in response.history):
                fetched.moved_to = response.url
            if response.status_code == 200:
                fetched.body = _read(response, deadline, timeout, max_bytes)
            return fetched
    except requests.exceptions.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except requests.exceptions.Timeout:
        raise FetchError(f"no answer within {timeout:g} s") from None
    except requests.exceptions.ConnectionError as e:
        raise FetchError(f"cannot connect: {_reason(e)}") from None
    except requests.exceptions.RequestException as e:
        raise FetchError(f"request failed: {_reason(e)}") from None
    finally:
        session.close()


def _read(response: requests.Response, deadline: float, timeout: float, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"the feed is {int(declared):,} bytes, more than the {max_bytes:,} bytes allowed")
    chunks, size = [], 0
    # read1 returns what one read of the socket gave (decoded): the deadline is checked between reads,
    # and each read waits at most `timeout`.
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the feed is more than the {max_bytes:,} bytes allowed")
        if time.monotonic() > deadline:
            raise FetchError(f"the feed took more than {timeout:g} s to arrive")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(value: str, now: datetime) -> timedelta | None:
    """RFC 9110 §10.2.3: a number of seconds, or an HTTP date; None if absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10**7))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def _reason(error: Exception) -> str:
    """The operating system's words when there are some ("[Errno 111] Connection refused"), not
    urllib3's nest of object representations."""
    text = str(error)
    return m.group(0) if (m := _ERRNO.search(text)) else text[:200]
