"""WebSub publishing (W3C Recommendation, §4 discovery, §7 publishing): tell the hub which feeds changed.

Writes record the version keys they change (models.websub.PendingPing, in the same transaction). A
Publisher turns each key into the addresses of the feeds it stands for (all three formats, and the
combined feeds readers have asked for) and sends the hub one publish notification per address. Failures
are retried with exponential backoff; nothing here ever blocks or fails a write. gunicorn workers run it
in a background thread; `flask import-posts` and `flask delete-post` deliver before they exit, for a few
seconds at most.
"""

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from flask import Flask

from models import db
from models.version import SITE
from models.websub import KnownFeed, PendingPing

from .feeds import FORMATS
from .site import feed_path

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 12  # attempts: with backoff doubling from 5 s, about 3 hours of trying


def addresses(key: str) -> list[str]:
    """Site-relative addresses of the feeds a version key stands for."""
    kind, _, name = key.partition(":")
    if key == SITE:
        kind, names = "site", ()
    elif kind in ("category", "tag"):
        names = (name,)
    else:
        return []
    return [feed_path(kind, names, fmt) for fmt in FORMATS] + KnownFeed.depending_on(key)


class Publisher:
    def __init__(self, hub: str, site_url: str, timeout: float = 10.0):
        self.hub = hub
        self.site_url = site_url.rstrip("/")
        self.timeout = timeout
        self.sent = self.failed = 0
        self._wake = threading.Event()

    def notify(self, topic: str) -> bool:
        """One publish notification (the hub.mode=publish form most hubs accept)."""
        data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
        request = urllib.request.Request(self.hub, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError, ValueError) as e:
            log.warning("WebSub hub %s refused or unreachable for %s: %s", self.hub, topic, e)
            return False

    def deliver_due(self) -> int:
        """Send what is due now; return how many keys were handled (sent or rescheduled)."""
        pings = PendingPing.claim()
        for ping in pings:
            topics = [self.site_url + address for address in addresses(ping.key)]
            if all(self.notify(topic) for topic in topics):
                ping.done()
                self.sent += len(topics)
            else:
                self.failed += 1
                ping.retry(timedelta(seconds=min(5 * 2**ping.attempts, 3600)), GIVE_UP_AFTER)
        return len(pings)

    def drain(self, seconds: float) -> None:
        """Deliver until nothing is due, or `seconds` have passed (what is left waits for a worker)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.deliver_due():
            pass

    def run_forever(self, interval: float = 2.0) -> None:
        while True:
            try:
                db.connect(reuse_if_open=True)
                self.deliver_due()
            except Exception:  # a database or network hiccup must not kill the thread
                log.exception("WebSub delivery failed; trying again")
            finally:
                if not db.is_closed():
                    db.close()
            self._wake.wait(interval)
            self._wake.clear()


def init_app(app: Flask) -> None:
    hub = app.config["SYNDICATION_WEBSUB_HUB"]
    PendingPing.enabled = bool(hub)
    if hub:
        app.extensions["syndication.websub"] = Publisher(hub, app.config["SYNDICATION_SITE_URL"])


def start_background(app: Flask) -> None:
    """In a server process: deliver pings as they fall due, in a daemon thread."""
    publisher = app.extensions.get("syndication.websub")
    if publisher:
        threading.Thread(target=publisher.run_forever, name="websub", daemon=True).start()
