"""Versioned caching: 304s and hits without feed queries, one rendering per version, coherence between
processes, and the hot path answering exactly as Flask does."""

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from models import db

from .conftest import FIXTURES, import_paths, make_app

REPO = Path(__file__).resolve().parents[1]


class QueryLog(logging.Handler):
    """Counts the SQL statements peewee runs (it logs each one at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []
        self.params: list[tuple] = []  # (sql, parameters)

    def emit(self, record):
        if isinstance(record.msg, tuple):  # (sql, params); the pool logs other things too
            self.statements.append(record.msg[0])
            self.params.append(record.msg)

    def __enter__(self):
        logger = logging.getLogger("peewee")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        logger = logging.getLogger("peewee")
        logger.removeHandler(self)
        logger.setLevel(self._level)


def feed_queries(statements):
    return [s for s in statements if "feed_version" not in s and not s.startswith("PRAGMA")]


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.rss"])
def test_a_cold_feed_costs_a_small_constant_number_of_queries(client, good_posts, path):
    with QueryLog() as log:
        assert client.get(path).status_code == 200
    cold_statements = log.statements
    # versions, the feed's own row (category/tag), the items, their categories, their tags, and for
    # Atom the tombstones of withdrawn articles
    assert len(cold_statements) <= 6, cold_statements
    with QueryLog() as log:
        assert client.get(path + "?limit=100").status_code == 200
    # More items, the same queries: no N+1 (the versions may come from memory this time).
    assert len(feed_queries(log.statements)) == len(feed_queries(cold_statements))


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/", "/share/NW202601100900000001.html"])
def test_hits_and_304s_run_no_feed_query(client, good_posts, path):
    first = client.get(path)
    with QueryLog() as log:
        hit = client.get(path)
        not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert hit.status_code == 200 and hit.data == first.data
    assert not_modified.status_code == 304
    assert feed_queries(log.statements) == [], log.statements
    # At most one indexed read of the versions per request (none at all on SQLite while nothing changed).
    assert len(log.statements) <= 2


def test_each_version_is_rendered_once_per_process(app, client, good_posts, monkeypatch):
    from syndication.views import feeds as feed_views

    renders = []
    real = feed_views.render_feed
    monkeypatch.setattr(feed_views, "render_feed", lambda *a: renders.append(a) or real(*a))
    for _ in range(3):
        client.get("/feed.atom")
        client.get("/feed.atom", headers={"Accept-Encoding": "gzip"})
    assert len(renders) == 1
    cache = app.extensions["syndication.cache"]
    assert cache.hits >= 5


def test_a_write_changes_the_etag_of_exactly_the_feeds_it_touches(app, client, good_posts, tmp_path):
    paths = ["/feed.rss", "/category/harbour.rss", "/tag/ferries.rss", "/tag/budget.rss", "/category/weather.rss"]
    before = {p: client.get(p).headers["ETag"] for p in paths}
    post = tmp_path / "2026-01-10-offset-html.md"
    shutil.copy(FIXTURES / "good" / "2026-01-10-offset-html.md", post)
    post.write_text(post.read_text().replace("every 40 minutes", "every 25 minutes"))
    assert import_paths(app, post).counts["updated"] == 1
    after = {p: client.get(p).headers["ETag"] for p in paths}
    changed = {p for p in paths if before[p] != after[p]}
    assert changed == {"/feed.rss", "/category/harbour.rss", "/tag/ferries.rss"}


def test_moving_an_article_changes_the_feed_it_left(app, client, tmp_path):
    post = tmp_path / "p.md"
    post.write_text("---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: old\ntags: x\n---\nBody.\n")
    import_paths(app, post)
    old = client.get("/category/old.rss")
    post.write_text("---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: new\ntags: y\n---\nBody.\n")
    import_paths(app, post)
    left = client.get("/category/old.rss", headers={"If-None-Match": old.headers["ETag"]})
    assert left.status_code == 200 and b"<item>" not in left.data
    assert client.get("/tag/x.rss").data.count(b"<item>") == 0


def test_a_category_rename_reaches_every_feed_that_shows_it(app, client, tmp_path):
    post = tmp_path / "p.md"
    nav = "\n[返回{}](//finews.withounder.com/category/harbour.html)｜[返回首页](//finews.withounder.com/)\n"
    text = "---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: harbour\ntags: x\n---\nBody.\n"
    post.write_text(text + nav.format("港口"))
    import_paths(app, post)
    etag = client.get("/tag/x.rss").headers["ETag"]
    post.write_text(text + nav.format("港口新闻"))
    assert import_paths(app, post).summary() == "0 imported, 0 updated, 1 unchanged, 0 failed"
    renamed = client.get("/tag/x.rss", headers={"If-None-Match": etag})
    assert renamed.status_code == 200
    assert "港口新闻".encode() in renamed.data


def test_a_write_from_another_process_is_seen_at_once(app, client, good_posts, tmp_path, database_url):
    """Two workers (here: this test and a `flask import-posts` process) share one database; the reader's
    cache is warm, and the writer's commit shows on the very next request."""
    warm = client.get("/feed.rss")
    assert client.get("/feed.rss", headers={"If-None-Match": warm.headers["ETag"]}).status_code == 304
    post = tmp_path / "2026-03-01-late-news.md"
    post.write_text(
        "---\ntitle: Late news from another process\ndate: 2026-03-01 09:00\ncategories: harbour\n---\nB.\n"
    )
    env = {
        "SYNDICATION_DATABASE_URL": database_url,
        "SYNDICATION_SITE_URL": "https://news.example",
        "PATH": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "import-posts", str(post)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    after = client.get("/feed.rss", headers={"If-None-Match": warm.headers["ETag"]})
    assert after.status_code == 200
    assert b"Late news from another process" in after.data


def test_hot_path_and_flask_answer_alike(client, good_posts):
    """The first request is rendered by Flask; the second is served by the hot path: same bytes, same
    headers."""
    for path in ["/feed.rss", "/tag/%E5%A4%9C%E5%B8%82.atom", "/", "/category/harbour.html", "/feeds.opml"]:
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            first, second = client.get(path, headers=headers), client.get(path, headers=headers)
            assert first.status_code == second.status_code == 200
            assert first.data == second.data
            assert sorted(first.headers.items()) == sorted(second.headers.items()), path


def test_a_304_says_what_the_200_would_say(client, good_posts):
    full = client.get("/feed.atom", headers={"Accept-Encoding": "gzip"})
    again = client.get("/feed.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert again.headers[name] == full.headers[name]
    assert "Content-Type" not in again.headers


def test_the_cache_keeps_to_its_byte_budget(database_url):
    app = make_app(database_url, SYNDICATION_CACHE_BYTES=60_000)
    from .conftest import fresh_schema

    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    client = app.test_client()
    for path in ["/feed.rss", "/feed.atom", "/category/harbour.rss", "/category/harbour.atom", "/tag/ferries.rss"]:
        assert client.get(path).status_code == 200
    cache = app.extensions["syndication.cache"]
    assert 0 < cache._bytes <= 60_000
    with app.app_context():
        db.close()


def test_settings_are_part_of_the_etag(database_url):
    from .conftest import fresh_schema

    one = make_app(database_url, SYNDICATION_SITE_TITLE="One")
    fresh_schema(one)
    import_paths(one, FIXTURES / "good")
    two = make_app(database_url, SYNDICATION_SITE_TITLE="Two")
    assert one.test_client().get("/feed.rss").headers["ETag"] != two.test_client().get("/feed.rss").headers["ETag"]


def test_settings_that_shape_no_output_leave_the_etag_alone(database_url):
    """Rate limits, statistics and polling partners decide whether or how work is done, not what a
    response says: changing them must not make every aggregator download everything again."""
    from .conftest import fresh_schema

    one = make_app(database_url)
    fresh_schema(one)
    import_paths(one, FIXTURES / "good")
    two = make_app(
        database_url,
        SYNDICATION_RATELIMIT_FEEDS="",
        SYNDICATION_RATELIMIT_API="5/minute",
        SYNDICATION_STATS="off",
        SYNDICATION_SOURCE_TIMEOUT=3,
        SYNDICATION_SOURCE_BACKOFF=60,
    )
    assert one.test_client().get("/feed.rss").headers["ETag"] == two.test_client().get("/feed.rss").headers["ETag"]


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json", "/feed.atom"])
def test_listing_queries_walk_an_index_instead_of_sorting(app, client, good_posts, path):
    """A cold feed reads its items in index order: a sort of the whole selection ("TEMP B-TREE FOR ORDER
    BY") would grow with the archive. SQLite tells with EXPLAIN QUERY PLAN."""
    if "sqlite" not in app.config["SYNDICATION_DATABASE_URL"]:
        pytest.skip("the query plan check reads SQLite's EXPLAIN QUERY PLAN")
    with QueryLog() as log:
        assert client.get(path).status_code == 200
    with app.app_context():
        for sql in log.params:
            if sql[0].startswith("SELECT") and "ORDER BY" in sql[0] and '"article"' in sql[0]:
                plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql[0], sql[1]))
                assert "TEMP B-TREE FOR ORDER BY" not in plan, (sql[0], plan)
        db.close()
