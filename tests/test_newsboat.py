"""End to end with a real feed reader: newsboat subscribes over HTTP (to the OPML index, or to the site
feed's addresses), reloads, and must have read every feed without an error and count each article once."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import urllib.request
from contextlib import closing
from pathlib import Path

import feedparser
import listparser
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from models import db

from .conftest import FIXTURES, fresh_schema, import_paths, make_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed (apt install newsboat)"),
]
# Never through a proxy: the server is on the loopback interface.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # errors are still logged
        pass


@pytest.fixture
def live_site(tmp_path):
    """The app with the good fixture posts, served on a free loopback port; yields its address."""
    served = {}  # the app, once it knows its own address

    def site(environ, start_response):
        return served["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, site, threaded=True, request_handler=QuietHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    # The public address is the live one, so that the OPML and the feeds' links lead back to this server.
    app = make_app(f"sqlite:///{tmp_path / 'site.db'}", SYNDICATION_SITE_URL=base)
    fresh_schema(app)
    assert import_paths(app, FIXTURES / "good").counts["imported"] == 5
    served["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="live-site", daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        if not db.is_closed():
            db.close()


def fetch(url: str) -> bytes:
    with closing(NO_PROXY.open(url, timeout=30)) as response:
        assert response.status == 200, url
        return response.read()


def guids_of(url: str) -> set[str]:
    """The item ids a feed holds, read from the feed itself (feedparser for XML; it does not read JSON Feed)."""
    data = fetch(url)
    if url.split("?")[0].endswith(".json"):
        return {item["id"] for item in json.loads(data)["items"]}
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, (url, parsed.get("bozo_exception"))
    return {entry.id for entry in parsed.entries}


def run_newsboat(home: Path, *commands: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        LANG="C.UTF-8",  # its messages in English, for print-unread's "N unread articles"
        LC_ALL="C.UTF-8",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    files = ["-C", home / "config", "-c", home / "cache.db", "-u", home / "urls"]
    result = subprocess.run(
        ["newsboat", *map(str, files), "-x", *commands],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (commands, result.stdout, result.stderr)
    return result


@pytest.mark.parametrize("source", ["opml", "urls"])
def test_newsboat_reads_every_feed_and_counts_each_article_once(live_site, tmp_path, source):
    home = tmp_path / "reader"
    home.mkdir()
    error_log = home / "error.log"
    config = [f'error-log "{error_log}"']
    if source == "opml":
        opml = listparser.parse(fetch(f"{live_site}/feeds.opml"))
        assert not opml.bozo, opml.get("bozo_exception")
        feeds = [feed.url for feed in opml.feeds]
        assert len(feeds) == 10 and all(url.startswith(live_site + "/") for url in feeds), feeds
        config += ['urls-source "opml"', f'opml-url "{live_site}/feeds.opml"']
        (home / "urls").write_text("")
    else:
        feeds = [f"{live_site}/feed.{fmt}" for fmt in ("rss", "atom", "json")]
        (home / "urls").write_text("".join(f"{url}\n" for url in feeds))
    (home / "config").write_text("\n".join(config) + "\n")

    run_newsboat(home, "reload")
    unread = run_newsboat(home, "print-unread").stdout.strip()

    errors = error_log.read_text(encoding="utf-8").splitlines() if error_log.exists() else []
    with closing(sqlite3.connect(f"file:{home / 'cache.db'}?mode=ro", uri=True)) as cache:
        titles = dict(cache.execute("SELECT rssurl, title FROM rss_feed"))
        stored = {guid for (guid,) in cache.execute("SELECT guid FROM rss_item WHERE deleted = 0")}
    # newsboat does not read JSON Feed (newsboat/newsboat#426): it parses it as XML and says so. The JSON
    # document itself is checked against the JSON Feed schema in test_validation.
    unreadable = [
        url
        for url in feeds
        if url not in titles and url.endswith(".json") and any(url in line and "XML" in line for line in errors)
    ]
    read = [url for url in feeds if url not in unreadable]
    # Every feed was fetched and parsed: it has its title in newsboat's cache.
    assert {url: bool(titles.get(url)) for url in read} == dict.fromkeys(read, True), titles
    assert [line for line in errors if not any(url in line for url in unreadable)] == []

    # The feeds hold the same five articles many times over; newsboat keys items by guid, so each is one
    # unread article however many feeds carry it (the guids are the article's, not the feed's).
    per_feed = {url: guids_of(url) for url in read}
    distinct = set().union(*per_feed.values())
    assert len(distinct) == 5, distinct
    assert stored == distinct
    match = re.fullmatch(r"(\d+) unread articles?", unread)
    assert match, unread
    assert int(match.group(1)) == len(distinct), {url: len(ids) for url, ids in per_feed.items()}
