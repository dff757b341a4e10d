"""WebSub publishing: hub discovery (Link headers and in-document links) and publish pings to a hub the
test runs itself on 127.0.0.1.

PendingPing.enabled is set by every create_app: each test builds the app it tests last."""

import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from models import db
from models.websub import PendingPing
from syndication.config import ConfigError

from .conftest import FIXTURES, SITE_URL, fresh_schema, import_paths, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
FORMATS = ("rss", "atom", "json")
FERRY_POST = """---
title: Ferry crews call off the strike
date: 2026-02-01 07:30:00 +0800
categories: harbour
tags: ferries
---
<p>Ferries run to the usual timetable from this afternoon.</p>
"""
WORKS_POST = """---
title: Night works on the quay
date: 2026-02-02 22:00:00 +0800
categories: weather
tags: works
---
<p>The quay is closed to traffic at night for a week.</p>
"""


class Hub:
    """A WebSub hub that records each publish request's form body; 204, or 500 while `down`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.down = False
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with hub._lock:
                    hub.requests.append(
                        {"content_type": self.headers.get("Content-Type"), "form": dict(parse_qsl(body))}
                    )
                self.send_response(500 if hub.down else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def topics(self) -> list[str]:
        with self._lock:
            return [r["form"].get("hub.url") for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


@pytest.fixture
def hub():
    hub = Hub()
    hub.thread.start()
    yield hub
    hub.server.shutdown()
    hub.server.server_close()
    hub.thread.join(5)


@pytest.fixture
def hub_app(database_url, hub):
    """An app that advertises and pings the hub, with the good fixture posts and no ping pending."""
    app = make_app(database_url, SYNDICATION_WEBSUB_HUB=hub.url)
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    with app.app_context():
        PendingPing.delete().execute()
        db.close()
    yield app
    if not db.is_closed():
        db.close()


def feed_addresses(*bases: str) -> set[str]:
    return {f"{SITE_URL}{base}.{fmt}" for base in bases for fmt in FORMATS}


def pending(app) -> list[PendingPing]:
    with app.app_context():
        rows = list(PendingPing.select().order_by(PendingPing.key))
        db.close()
    return rows


def import_post(app, tmp_path, text: str, name: str):
    post = tmp_path / "posts" / name
    post.parent.mkdir(exist_ok=True)
    post.write_text(text)
    return app.test_cli_runner().invoke(args=["import-posts", str(post)])


def links(response) -> list[str]:
    return response.headers.getlist("Link")


# -- discovery -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/feed.rss", "/feed.atom", "/feed.json", "/category/harbour.atom", "/tag/ferries.json", "/feed.rss?limit=5"],
)
def test_feeds_name_the_hub_and_themselves_in_link_headers(hub, hub_app, path):
    client = hub_app.test_client()
    expected = {f'<{hub.url}>; rel="hub"', f'<{SITE_URL}{path}>; rel="self"'}
    first = client.get(path)  # Flask renders it
    second = client.get(path)  # the hot path serves it from memory
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})  # the hot path's 304
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == second.status_code == zipped.status_code == 200
    assert again.status_code == 304
    for response in (first, second, again, zipped):
        assert set(links(response)) == expected, (path, response.status_code, links(response))


def test_flask_answers_carry_the_link_headers_on_200_and_304(hub, hub_app):
    """Combined and filtered feeds are always answered by Flask, never by the hot path."""
    client = hub_app.test_client()
    for path in ("/tag/ferries+works.rss", "/feed.atom?content=summary", "/category/harbour.json?tag=ferries"):
        expected = {f'<{hub.url}>; rel="hub"', f'<{SITE_URL}{path}>; rel="self"'}
        full = client.get(path)
        assert full.status_code == 200, path
        again = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304, path
        for response in (full, again):
            assert set(links(response)) == expected, (path, response.status_code, links(response))


def test_documents_name_the_hub(hub, hub_app):
    client = hub_app.test_client()
    atom = ET.fromstring(client.get("/feed.atom").data)
    assert [li.get("href") for li in atom.findall(f"{ATOM}link") if li.get("rel") == "hub"] == [hub.url]
    channel = ET.fromstring(client.get("/category/harbour.rss").data).find("channel")
    assert [li.get("href") for li in channel.findall(f"{ATOM}link") if li.get("rel") == "hub"] == [hub.url]
    document = json.loads(client.get("/tag/ferries.json").data)
    assert document["hubs"] == [{"type": "WebSub", "url": hub.url}]
    # Where the self link points, the hub is told to look: the same address.
    self_links = [li.get("href") for li in atom.findall(f"{ATOM}link") if li.get("rel") == "self"]
    assert self_links == [f"{SITE_URL}/feed.atom"]


# -- publishing ----------------------------------------------------------------------------------


def test_an_import_pings_the_hub_for_every_feed_it_changes(hub, hub_app, tmp_path):
    result = import_post(hub_app, tmp_path, FERRY_POST, "2026-02-01-strike.md")
    assert result.exit_code == 0, result.output

    expected = feed_addresses("/feed", "/category/harbour", "/tag/ferries")
    assert set(hub.topics()) == expected
    assert len(hub.topics()) == len(expected)  # once each
    for request in hub.requests:
        assert request["form"]["hub.mode"] == "publish"
        assert request["content_type"] == "application/x-www-form-urlencoded"
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 imported, 0 updated, 0 unchanged, 0 failed"), summary
    assert re.search(r"hub.*\b9\b", summary), summary
    assert "retry" not in summary
    assert pending(hub_app) == []

    # An import that changes nothing tells the hub nothing.
    hub.clear()
    unchanged = import_post(hub_app, tmp_path, FERRY_POST, "2026-02-01-strike.md")
    assert unchanged.exit_code == 0, unchanged.output
    assert hub.topics() == []


def test_a_delete_pings_the_hub_too(hub, hub_app):
    result = hub_app.test_cli_runner().invoke(args=["delete-post", "NW202601100900000001"])
    assert result.exit_code == 0, result.output
    assert set(hub.topics()) == feed_addresses("/feed", "/category/harbour", "/tag/ferries")
    assert "hub" in result.stdout


def test_a_combined_feed_fetched_before_is_pinged_when_one_of_its_tags_changes(hub, hub_app, tmp_path):
    client = hub_app.test_client()
    assert client.get("/tag/ferries+works.rss").status_code == 200
    assert client.get("/tag/ferries+works.rss").status_code == 200

    result = import_post(hub_app, tmp_path, WORKS_POST, "2026-02-02-night-works.md")
    assert result.exit_code == 0, result.output

    topics = set(hub.topics())
    assert f"{SITE_URL}/tag/ferries+works.rss" in topics
    assert feed_addresses("/feed", "/category/weather", "/tag/works") <= topics
    assert not {t for t in topics if "/category/harbour" in t or t.startswith(f"{SITE_URL}/tag/ferries.")}


def test_pings_the_hub_refuses_wait_and_are_delivered_later(hub, hub_app, tmp_path):
    hub.down = True
    before = datetime.now(UTC)
    result = import_post(hub_app, tmp_path, FERRY_POST, "2026-02-01-strike.md")
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 imported, 0 updated, 0 unchanged, 0 failed"), summary
    assert "retry" in summary, summary
    assert hub.requests, "the hub was never asked"

    waiting = pending(hub_app)
    assert {p.key for p in waiting} == {"site", "category:harbour", "tag:ferries"}
    for ping in waiting:
        assert ping.attempts == 1, ping.key
        assert ping.due > before, ping.key
        assert ping.due > datetime.now(UTC), ping.key  # later, not at once
    assert "2026-02-01-strike" in hub_app.test_client().get("/feed.json").get_data(as_text=True)

    hub.down = False
    hub.clear()
    publisher = hub_app.extensions["syndication.websub"]
    with hub_app.app_context():
        publisher.drain(5)  # nothing is due yet: nothing is sent
        assert hub.topics() == []
        PendingPing.update(due=datetime.now(UTC)).execute()
        publisher.drain(5)
        db.close()
    expected = feed_addresses("/feed", "/category/harbour", "/tag/ferries")
    assert set(hub.topics()) == expected and len(hub.topics()) == len(expected)
    assert pending(hub_app) == []


def test_without_a_hub_nothing_is_recorded_or_advertised(database_url, tmp_path):
    app = make_app(database_url)
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    result = import_post(app, tmp_path, FERRY_POST, "2026-02-01-strike.md")
    assert result.exit_code == 0, result.output
    assert "hub" not in result.stdout
    deleted = app.test_cli_runner().invoke(args=["delete-post", "harbour-dredging-2026"])
    assert deleted.exit_code == 0, deleted.output
    assert pending(app) == []
    assert "syndication.websub" not in app.extensions

    client = app.test_client()
    for path in ("/feed.rss", "/feed.atom", "/feed.json", "/tag/ferries+works.rss", "/category/harbour.atom"):
        first, second = client.get(path), client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        for response in (first, second, again):
            assert links(response) == [], path
        assert b'rel="hub"' not in first.data, path
    assert "hubs" not in json.loads(client.get("/feed.json").data)


@pytest.mark.parametrize("hub_url", ["ftp://hub.example/", "hub.example/publish", "https://", "mailto:hub@example.org"])
def test_a_hub_that_is_not_http_is_refused(tmp_path, hub_url):
    with pytest.raises(ConfigError, match="SYNDICATION_WEBSUB_HUB"):
        make_app(f"sqlite:///{tmp_path / 'x.db'}", SYNDICATION_WEBSUB_HUB=hub_url)


def test_a_hub_needs_the_site_url(tmp_path):
    with pytest.raises(ConfigError, match="SYNDICATION_SITE_URL"):
        make_app(
            f"sqlite:///{tmp_path / 'x.db'}", SYNDICATION_WEBSUB_HUB="https://hub.example/", SYNDICATION_SITE_URL=""
        )
