"""/metrics in the Prometheus text format, and JSON access logs, in process and under gunicorn."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client import REGISTRY

from .conftest import FIXTURES, fresh_schema, import_paths, make_app

REPO = Path(__file__).resolve().parents[1]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_cache_and_renders_are_counted(client, good_posts):
    before = {
        "flask_200": sample("syndication_requests_total", route="feeds.site_feed", status="200"),
        "hot_200": sample("syndication_requests_total", route="hot:feed", status="200"),
        "hot_304": sample("syndication_requests_total", route="hot:feed", status="304"),
        "miss": sample("syndication_cache_lookups_total", result="miss"),
        "hit": sample("syndication_cache_lookups_total", result="hit"),
        "renders": sample("syndication_render_seconds_count", kind="feed"),
        "404": sample("syndication_requests_total", route="feeds.category_feed", status="404"),
    }
    first = client.get("/feed.rss")  # Flask renders it (a cache miss)
    client.get("/feed.rss")  # the hot path serves it (a hit)
    client.get("/feed.rss", headers={"If-None-Match": first.headers["ETag"]})  # a 304
    client.get("/category/nowhere.rss")
    assert sample("syndication_requests_total", route="feeds.site_feed", status="200") == before["flask_200"] + 1
    assert sample("syndication_requests_total", route="hot:feed", status="200") == before["hot_200"] + 1
    assert sample("syndication_requests_total", route="hot:feed", status="304") == before["hot_304"] + 1
    assert sample("syndication_requests_total", route="feeds.category_feed", status="404") == before["404"] + 1
    assert sample("syndication_cache_lookups_total", result="miss") == before["miss"] + 1
    assert sample("syndication_cache_lookups_total", result="hit") == before["hit"] + 1
    assert sample("syndication_render_seconds_count", kind="feed") == before["renders"] + 1

    exposed = client.get("/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["Content-Type"].startswith("text/plain; version=")
    assert exposed.headers["Cache-Control"] == "no-store"
    text = exposed.get_data(as_text=True)
    assert 'syndication_requests_total{route="hot:feed",status="304"}' in text
    assert "syndication_render_seconds_bucket" in text


def test_imports_are_counted(runner, app):
    before = sample("syndication_import_posts_total", outcome="imported")
    failed = sample("syndication_import_posts_total", outcome="failed")
    result = runner.invoke(args=["import-posts", str(FIXTURES)])
    assert result.exit_code == 1  # the bad fixtures
    assert sample("syndication_import_posts_total", outcome="imported") == before + 5
    assert sample("syndication_import_posts_total", outcome="failed") == failed + 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_adds_up_workers_metrics_and_logs_json(tmp_path):
    url = f"sqlite:///{tmp_path / 'site.db'}"
    app = make_app(url)
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    port = free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "SYNDICATION_DATABASE_URL": url,
        "SYNDICATION_SITE_URL": f"http://127.0.0.1:{port}",
        "SYNDICATION_BIND": f"127.0.0.1:{port}",
        "SYNDICATION_WORKERS": "2",
        "SYNDICATION_ACCESS_LOG": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "--access-logfile", str(log), "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        agent = 'Feedly/1.0 (+http://www.feedly.com/fetcher.html; 3 subscribers; "quoted")'
        for _ in range(12):
            request = urllib.request.Request(base + "/feed.rss", headers={"User-Agent": agent})
            urllib.request.urlopen(request, timeout=5).read()
        text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("syndication_requests_total{") and 'status="200"' in line and "feed" in line
        )
        assert counted == 12, text  # every worker's requests, whichever worker answered /metrics
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    feeds = [line for line in lines if line["path"] == "/feed.rss"]
    assert len(feeds) == 12
    assert feeds[0]["status"] == 200 and feeds[0]["method"] == "GET" and feeds[0]["bytes"] > 0
    assert feeds[0]["agent"] == agent  # quotes and all: a JSON string, not a broken line
    assert not list((tmp_path / "metrics").glob("*.db"))  # cleared at exit
