"""Faults: the database going away (PostgreSQL cut off by a proxy; SQLite locked, read-only), `kill -9`
of an import, and a full disk under an import or an export. What was rendered keeps being served
(stale-if-error), the rest is a 503 with Retry-After and a reason, /healthz says so, service comes back
by itself, and nothing is ever left half-written."""

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import jsonschema
import pytest

from models import Article, Token, db
from syndication.cache import FeedCache, Target, represent
from syndication.feeds import EPOCH
from syndication.importer import BATCH_SIZE

from .conftest import FIXTURES, PG_SCHEMA, POSTGRES_URL, fresh_schema, import_paths, make_app, postgres_unavailable
from .faults_helpers import (
    WAIT,
    CuttableProxy,
    chattr,
    chattr_works,
    fill,
    post_links,
    resize,
    serving,
    stored_consistently,
    tmpfs,
    write_posts,
)

REPO = Path(__file__).resolve().parents[1]
FERRY = "NW202601100900000001"
STALE_CACHE_CONTROL = "public, max-age=30, stale-if-error=86400"
ARTICLE = {"title": "Ferry strike called off", "date": "2026-02-01 08:00 +0800", "categories": ["harbour"]}


def write_token(app) -> dict[str, str]:
    with app.app_context():
        secret = Token.issue("newsroom", "write", [])
        db.close()
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def put_article(body: str = "<p>Talks went on all night.</p>") -> bytes:
    return json.dumps({**ARTICLE, "body": body}).encode()


def assert_503(status, headers, body: bytes, content_type: str, reason: str) -> None:
    assert status == 503, body[:300]
    assert headers["Retry-After"] == "30"
    assert headers["Content-Type"].startswith(content_type), headers["Content-Type"]
    assert b"Traceback" not in body and b'File "' not in body
    assert reason.encode() in body, body[:300]


# -- PostgreSQL cut off -------------------------------------------------------------------------------


def proxied_postgres_url(port: int) -> str:
    parts = urlsplit(POSTGRES_URL)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    separator = "&" if parts.query else ""
    query = f"{parts.query}{separator}options=-csearch_path%3D{PG_SCHEMA}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@pytest.fixture
def proxy():
    if reason := postgres_unavailable():
        pytest.skip(reason)
    parts = urlsplit(POSTGRES_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield proxy
    proxy.close()


def test_postgresql_cut_off_serves_stale_then_503_and_recovers_by_itself(proxy):
    app = make_app(proxied_postgres_url(proxy.port))
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    headers = write_token(app)
    rendered = [
        "/feed.rss",
        "/feed.atom",
        "/category/harbour.rss",
        "/",
        "/category/harbour.html",
        f"/share/{FERRY}.html",
        "/feeds.opml?format=json",  # answered by Flask, not the hot path
        "/tag/ferries.rss?content=summary",  # likewise
    ]
    with serving(app) as server:
        before = {}
        for path in rendered:
            status, got, body = server.request(path)
            assert status == 200, (path, body[:300])
            assert got["Cache-Control"].endswith("stale-if-error=86400"), got["Cache-Control"]
            before[path] = (got["ETag"], body)
        status, _, gzipped_before = server.request("/feed.rss", headers={"Accept-Encoding": "gzip"})
        assert status == 200
        assert server.request("/healthz")[0] == 200

        proxy.cut()
        # What this process rendered is served as it was, from the hot path and from Flask alike.
        for path in rendered:
            status, got, body = server.request(path)
            assert status == 200, (path, body[:300])
            assert (got["ETag"], body) == before[path], path
            assert got["Cache-Control"] == STALE_CACHE_CONTROL, path
            assert "Retry-After" not in got
        status, got, body = server.request("/feed.rss", headers={"If-None-Match": before["/feed.rss"][0]})
        assert (status, body) == (304, b"")
        assert got["Cache-Control"] == STALE_CACHE_CONTROL
        status, got, body = server.request("/feed.rss", headers={"Accept-Encoding": "gzip"})
        assert status == 200 and got["Content-Encoding"] == "gzip" and body == gzipped_before
        assert gzip.decompress(body) == before["/feed.rss"][1]
        status, got, body = server.request("/feed.rss", method="HEAD")
        assert (status, body, got["Content-Length"]) == (200, b"", str(len(before["/feed.rss"][1])))

        # The rest: 503 with Retry-After and one line of reason, in the form the route answers errors.
        reason = "The database cannot be reached; try again shortly."
        assert_503(*server.request("/feed.json"), "text/plain", reason)
        assert_503(*server.request("/tag/ferries.html"), "text/html", reason)
        assert_503(*server.request("/share/harbour-dredging-2026.html"), "text/html", reason)
        assert_503(*server.request("/feed.rss?limit=5"), "text/plain", reason)
        assert_503(*server.request("/html_News/NewsShare.html?infoCode=x1"), "text/html", reason)
        status, got, body = server.request("/api/v1/articles/strike-0201", "PUT", headers, put_article())
        assert_503(status, got, body, "application/json", "")
        assert json.loads(body)["error"] == reason
        status, got, body = server.request("/healthz")
        assert_503(status, got, body, "application/json", "")
        assert json.loads(body) == {
            "status": "unavailable",
            "database": "unreachable",
            "reason": "the database cannot be reached",
        }
        assert got["Cache-Control"] == "no-store"

        proxy.restore()
        deadline = time.monotonic() + WAIT
        while server.request("/healthz")[0] != 200:
            assert time.monotonic() < deadline, "/healthz did not recover"
            time.sleep(0.1)
        # Every later request is served normally: no dead pooled connection is handed out again.
        for _ in range(3):
            for path in [*rendered, "/feed.json", "/tag/ferries.html"]:
                status, got, body = server.request(path)
                assert status == 200, (path, body[:300])
                assert got["Cache-Control"] != STALE_CACHE_CONTROL
        status, _, body = server.request("/api/v1/articles/strike-0201", "PUT", headers, put_article())
        assert status == 201, body
        status, got, body = server.request("/feed.rss", headers={"If-None-Match": before["/feed.rss"][0]})
        assert status == 200 and b"Ferry strike called off" in body  # current, not the stale copy


def test_postgresql_cut_under_a_pool_of_connections(proxy):
    """Several threads hold pooled connections when the server goes: each is discarded, none is reused."""
    app = make_app(proxied_postgres_url(proxy.port))
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    with serving(app) as server:
        import concurrent.futures

        def poll(path):
            return server.request(path)[0]

        paths = ["/feed.rss", "/feed.atom", "/category/harbour.html", "/feed.json"] * 6
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(poll, paths)) == {200}
            opened = proxy.accepted
            assert opened >= 2, "the test needs several pooled connections"
            proxy.cut()
            # Rendered: stale 200; never: 503. Never a 500.
            assert set(pool.map(poll, ["/feed.rss", "/feed.atom", "/tag/ferries.atom"] * 4)) == {200, 503}
            proxy.restore()
            deadline = time.monotonic() + WAIT
            while server.request("/healthz")[0] != 200:
                assert time.monotonic() < deadline, "/healthz did not recover"
                time.sleep(0.1)
            assert set(pool.map(poll, paths * 2)) == {200}


# -- SQLite locked, read-only ---------------------------------------------------------------------


def sqlite_app(tmp_path):
    path = tmp_path / "site.db"
    app = make_app(f"sqlite:///{path}")
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    return app, path


def test_sqlite_locked_by_another_writer(tmp_path):
    """In WAL mode a writer never blocks readers: feeds are served fresh; writes wait for the lock
    (busy_timeout, 5 s), then get a JSON 503; once the lock is released they succeed."""
    app, path = sqlite_app(tmp_path)
    headers = write_token(app)
    client = app.test_client()
    assert client.get("/feed.rss").status_code == 200
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        locker.execute("UPDATE article SET title = title")
        response = client.get("/category/harbour.rss")
        assert response.status_code == 200 and response.headers["Cache-Control"] != STALE_CACHE_CONTROL
        assert client.get("/healthz").status_code == 200  # it serves: reads work
        started = time.monotonic()
        response = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
        assert time.monotonic() - started < WAIT
        assert response.status_code == 503, response.data
        assert response.headers["Retry-After"] == "30"
        assert response.get_json()["error"] == "The database is locked by another writer; try again shortly."
        documented = client.get("/api/v1/openapi.json").get_json()  # the API's description says so too
        assert "503" in documented["paths"]["/articles/{article_id}"]["put"]["responses"]
        jsonschema.validate(response.get_json(), documented["components"]["schemas"]["Error"])
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    response = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
    assert response.status_code == 201, response.data


def test_sqlite_made_read_only_then_writable_again(tmp_path):
    """chattr +i makes the files read-only even for root: the connection in use fails to write, a new
    one opens read-only (and would stay so); each is discarded when a write fails on it, so writes
    succeed once the files are writable again."""
    app, path = sqlite_app(tmp_path)
    headers = write_token(app)
    client = app.test_client()  # one thread: one SQLite connection kept from request to request
    if reason := chattr_works(path):
        pytest.skip(reason)
    rendered = client.get("/feed.rss")
    assert rendered.status_code == 200
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    chattr("+i", *files)
    try:
        first = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
        again = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
        for response in (first, again):
            assert response.status_code == 503, response.data
            assert response.headers["Retry-After"] == "30"
        assert first.get_json()["error"] == "The database cannot be written (disk I/O error); try again shortly."
        assert again.get_json()["error"] == "The database is read-only; try again shortly."
        assert client.get("/feed.rss").data == rendered.data  # reads go on
        assert client.get("/healthz").status_code == 200
    finally:
        chattr("-i", *files)
    # The connection the reads above opened is read-only, and SQLite cannot say so until a write fails on
    # it: that write is a 503, the connection is discarded, and the next one is writable.
    response = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
    assert response.status_code == 503, response.data
    assert response.get_json()["error"] == "The database is read-only; try again shortly."
    response = client.put("/api/v1/articles/strike-0201", data=put_article(), headers=headers)
    assert response.status_code == 201, response.data
    assert b"Ferry strike called off" in client.get("/feed.rss").data


def test_sqlite_file_gone_from_a_new_worker(tmp_path):
    """A database file that cannot be opened at all (here: a folder where the file was): 503 and
    /healthz says so; stale copies are served; service resumes when it is back."""
    app, path = sqlite_app(tmp_path)
    client = app.test_client()
    rendered = client.get("/feed.rss")
    with app.app_context():
        db.close()  # as a new worker: it has no connection yet
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("site.db", "site.db-wal", "site.db-shm"):
        if (tmp_path / name).exists():
            (tmp_path / name).rename(aside / name)
    path.mkdir()  # nothing can open it, and nothing creates an empty database in its place
    try:
        response = client.get("/feed.rss")
        assert response.status_code == 200 and response.data == rendered.data
        assert response.headers["Cache-Control"] == STALE_CACHE_CONTROL
        response = client.get("/feed.json")
        assert_503(response.status_code, response.headers, response.data, "text/plain", "cannot be reached")
        response = client.get("/healthz")
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert response.get_json()["reason"] == "the database cannot be reached"
    finally:
        path.rmdir()
        for moved in aside.iterdir():
            moved.rename(tmp_path / moved.name)
    assert client.get("/healthz").status_code == 200
    assert client.get("/feed.json").status_code == 200


def test_stale_copy_is_the_newest_and_goes_with_its_representation():
    cache = FeedCache("settings", max_bytes=4000)
    target = Target(("site",), "feed|/feed.rss|https://news.example||")
    older, newer = EPOCH.replace(year=2020), EPOCH.replace(year=2021)
    cache.put("v2", represent(b"new" * 100, "application/rss+xml", "v2", newer, 300), target.variant, newer)
    cache.put("v1", represent(b"old" * 100, "application/rss+xml", "v1", older, 300), target.variant, older)
    assert cache.stale(target)[0] == "v2"  # a slower request rendering an older version does not win
    other = Target(("site",), "feed|/feed.atom|https://news.example||")
    cache.put("a1", represent(b"x" * 1900, "application/atom+xml", "a1", newer, 300), other.variant, newer)
    assert cache.stale(target) is None  # v2 was dropped to make room: nothing stale is promised
    assert cache.stale(other)[0] == "a1"
    assert len(cache._latest) == 1  # forgotten with the representation: memory stays bounded


# -- kill -9 of an import -------------------------------------------------------------------------


def flask_command(database_url: str, tmp_path: Path, *args: str, **popen) -> subprocess.Popen:
    env = {
        **os.environ,
        "SYNDICATION_DATABASE_URL": database_url,
        "SYNDICATION_INSTANCE_PATH": str(tmp_path / "instance"),  # no instance/config.py of the checkout
    }
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen(
        [flask, "--app", "wsgi", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its reader processes too can be cleaned up as a group
        **popen,
    )


def article_count(app) -> int:
    with app.app_context():
        try:
            return Article.select().count()
        finally:
            db.close()


def test_kill_9_of_an_import_leaves_the_database_whole(app, database_url, tmp_path):
    total = 4000
    expected = write_posts(tmp_path / "posts", total)
    seed = int.from_bytes(os.urandom(4), "big")
    chance = random.Random(seed)
    importer = flask_command(database_url, tmp_path, "import-posts", "--quiet", str(tmp_path / "posts"))
    try:
        # Wait for two batches to be committed (how long one takes, here and now), then kill at a random
        # point of the next three: while posts are read, or while a batch is written.
        deadline, seen = time.monotonic() + 120, []
        while len(seen) < 2:
            assert time.monotonic() < deadline and importer.poll() is None, importer.communicate(timeout=WAIT)
            count = article_count(app)
            if count >= BATCH_SIZE * (len(seen) + 1):
                seen.append(time.monotonic())
            time.sleep(0.02)
        time.sleep(chance.uniform(0, 3 * (seen[1] - seen[0])))
        assert importer.poll() is None, f"the import finished before the kill (seed {seed})"
        importer.send_signal(signal.SIGKILL)
        assert importer.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        with suppress(ProcessLookupError):
            os.killpg(importer.pid, signal.SIGKILL)  # its reader processes, orphaned by the kill
        importer.wait(timeout=WAIT)
        importer.stdout.close()
        importer.stderr.close()

    stored = stored_consistently(app, expected)
    assert 2 * BATCH_SIZE <= stored < total, f"seed {seed}"
    assert stored % BATCH_SIZE == 0, f"a batch was half applied: {stored} articles (seed {seed})"
    with app.app_context():
        ids = sorted(a.id for a in Article.select(Article.id))
        db.close()
    assert ids == sorted(expected)[:stored]  # whole batches, in the order of the files

    again = flask_command(database_url, tmp_path, "import-posts", "--quiet", str(tmp_path / "posts"))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert out.strip() == f"{total - stored} imported, 0 updated, {stored} unchanged, 0 failed"
    assert stored_consistently(app, expected) == total
    newest = app.test_client().get("/feed.json").get_json()["items"][0]
    assert newest["title"] == f"Generated report {total - 1}"


# -- a full disk ----------------------------------------------------------------------------------


def test_full_disk_during_an_import_stops_it_cleanly(tmp_path):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        url = f"sqlite:///{disk / 'site.db'}"
        app = make_app(url)
        fresh_schema(app)
        headers = write_token(app)
        total = 1500
        expected = write_posts(tmp_path / "posts", total, body_bytes=2000)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["import-posts", "--quiet", str(tmp_path / "posts")])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        stop = [line for line in result.stderr.splitlines() if line.startswith(str(disk / "site.db"))]
        assert len(stop) == 1, result.stderr
        assert "no space left on device" in stop[0] and "the import stopped" in stop[0], stop[0]
        assert len(result.stderr.splitlines()) == 1, "one line for the database, not one per post"
        stored = stored_consistently(app, expected)
        assert stored % BATCH_SIZE == 0 and stored < total, stored

        # The server meanwhile: reads go on, a write that needs room is a JSON 503 that says why.
        filler = fill(disk)
        client = app.test_client()
        assert client.get("/feed.rss").status_code == 200
        # The last post, sent early through the API, long (the WAL must grow), filed as the post files it.
        last = f"gen-{total - 1:05d}"
        categories, tags = post_links(total - 1)
        long_read = json.dumps(
            {**ARTICLE, "categories": categories, "tags": tags, "body": "<p>" + "Talks went on. " * 40000 + "</p>"}
        )
        response = client.put(f"/api/v1/articles/{last}", data=long_read, headers=headers)
        assert response.status_code == 503, response.data
        assert response.headers["Retry-After"] == "30"
        assert response.get_json()["error"] == (
            "The database's disk is full (no space left on device); try again shortly."
        )

        # Room is made: writes succeed again, and the import completes.
        filler.unlink()
        resize(disk, "64m")
        response = client.put(f"/api/v1/articles/{last}", data=long_read, headers=headers)
        assert response.status_code == 201, response.data
        result = runner.invoke(args=["import-posts", "--quiet", str(tmp_path / "posts")])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"{total - stored - 1} imported, 1 updated, {stored} unchanged, 0 failed"
        assert stored_consistently(app, expected) == total
        with app.app_context():
            db.close()


def exported(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_full_disk_during_an_export_leaves_old_files_whole(app, client, runner, good_posts, tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        out = disk / "site"
        first = runner.invoke(args=["export-static", str(out)])
        assert first.exit_code == 0, first.output
        old = exported(out)
        edited = tmp_path / "posts"
        edited.mkdir()
        for post in (FIXTURES / "good").iterdir():
            text = post.read_text(encoding="utf-8").replace("every 40 minutes", "every 35 minutes")
            (edited / post.name).write_text(text.replace("title: ", "title: Updated ", 1), encoding="utf-8")
        assert import_paths(app, edited).counts["updated"] == 5

        filler = fill(disk, leave=8192)  # room for the first few files (two pages each), not for all
        result = runner.invoke(args=["export-static", str(out)])
        filler.unlink()
        assert result.exit_code != 0
        assert "Traceback" not in result.output
        message = result.output.strip()
        assert message.startswith(f"Error: cannot write {out}/") and message.endswith(": no space left on device")

        now = exported(out)
        assert [name for name in now if Path(name).name.startswith(".") and name != ".export-manifest.json"] == []
        assert set(now) == set(old)  # nothing new half-made, nothing lost
        assert now[".export-manifest.json"] == old[".export-manifest.json"]
        for name, data in now.items():
            if name.endswith(".gz") or name.startswith("."):
                continue
            current = client.get(quote("/" + name.removesuffix("index.html"))).data
            assert data in (old[name], current), f"{name} is neither the old file nor the new one"
            assert gzip.decompress(now[f"{name}.gz"]) == data, f"{name} and its .gz disagree"
        failed = message.removeprefix(f"Error: cannot write {out}/").removesuffix(": no space left on device")
        assert now[failed.removesuffix(".gz")] == old[failed.removesuffix(".gz")], "the file that failed is the old one"

        result = runner.invoke(args=["export-static", str(out)])
        assert result.exit_code == 0, result.output
        for name, data in exported(out).items():
            if not name.endswith(".gz") and not name.startswith("."):
                assert data == client.get(quote("/" + name.removesuffix("index.html"))).data, name
