"""Backups, as an operator makes and restores them: `flask backup PATH` and `flask restore PATH`.

What a backup must give back is the site as it was: the very same feeds and pages, byte for byte, with
the same ETags (their version tokens live in the database), so that readers' stored ETags keep getting
304s from a restored server.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import pytest

from models import Article, Token, db
from syndication.backup import libpq_address
from syndication.importer import BATCH_SIZE

from .conftest import FIXTURES, POSTGRES_URL, import_paths, make_app

REPO = Path(__file__).resolve().parents[1]
FLASK = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi"]
WITHDRAWN = "2026-01-13-hostile"
LIVE = "NW202601100900000001"

# What the fixture posts' own feeds and pages are: an import of other posts (category and tag "wire")
# leaves every one of these as it was.
UNTOUCHED = [
    "/category/harbour.html",
    "/category/harbour.rss",
    "/category/harbour.atom",
    "/category/culture.json",
    "/tag/ferries.rss",
    "/tag/ferries+works.atom",
    f"/tag/{quote('夜市')}.json",
    f"/share/{LIVE}.html",
    f"/share/{WITHDRAWN}.html",  # 410 Gone
]
EVERYTHING = [
    "/",
    "/feed.rss",
    "/feed.atom",  # with the withdrawn article's tombstone
    "/feed.json",
    "/feed/2026-01.rss",
    "/feeds.opml",
    "/feeds.opml?format=json",
    "/tag/ferries.html",
    *UNTOUCHED,
]


def responses(app, addresses: list[str]) -> dict[str, tuple]:
    """Everything a reader gets from each address: status, validators, type and the exact bytes."""
    client = app.test_client()
    found = {}
    for address in addresses:
        r = client.get(address)
        found[address] = (
            r.status_code,
            r.headers.get("ETag"),
            r.headers.get("Last-Modified"),
            r.headers.get("Content-Type"),
            r.headers.get("Cache-Control"),
            r.get_data(),
        )
    return found


def assert_same_site(restored, before: dict[str, tuple]) -> None:
    after = responses(restored, list(before))
    for address, (status, etag, *_) in before.items():
        assert status in (200, 410), (address, status)
        assert after[address] == before[address], address
        if status == 200:
            # A reader that polled the site before the restore is told nothing changed.
            again = restored.test_client().get(address, headers={"If-None-Match": etag})
            assert again.status_code == 304, address


def publish_site(app) -> str:
    """The fixture posts, one withdrawn, and a write token; return the token's secret."""
    assert import_paths(app, FIXTURES / "good").counts["imported"] == 5
    with app.app_context():
        Article.withdraw([WITHDRAWN])
        secret = Token.issue("newsroom", "write", [])
        db.close()
    return secret


def backup(app, path: Path, *options: str):
    return app.test_cli_runner().invoke(args=["backup", str(path), *options])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def sqlite_path(app) -> Path:
    return Path(app.config["SYNDICATION_DATABASE_URL"].removeprefix("sqlite:///"))


def run_flask(*args: str, url: str, prefix: tuple[str, ...] = (), **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYNDICATION_DATABASE_URL": url}
    return subprocess.run(
        [*prefix, *FLASK, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, **kwargs
    )


def needs_pg_tools() -> None:
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")


# -- the round trip, on both databases ------------------------------------------------------------


def test_a_restored_backup_serves_identical_feeds_pages_and_tokens(app, tmp_path):
    url = app.config["SYNDICATION_DATABASE_URL"]
    if url.startswith("postgresql"):
        needs_pg_tools()
    secret = publish_site(app)
    before = responses(app, EVERYTHING)
    path = tmp_path / "site.backup"

    result = backup(app, path)
    assert result.exit_code == 0, result.output
    assert re.search(r"site\.backup: 5 articles \(1 withdrawn\), [\d.]+ MB \([\d,]+ bytes\)", result.output)
    assert leftovers(tmp_path) == []

    if url.startswith("sqlite"):
        assert "integrity check ok" in result.output
        restored = make_app(f"sqlite:///{tmp_path / 'restored.db'}")
        done = restored.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
        assert done.exit_code == 0, done.output
        assert "Restored 5 articles (1 withdrawn)" in done.output
        check_restored(restored, before, secret)
    else:
        assert "pg_restore reads it back" in result.output
        with scratch_database(url) as restored_url:
            loaded = subprocess.run(
                ["pg_restore", "--no-owner", f"--dbname={restored_url}", str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert loaded.returncode == 0, loaded.stderr
            restored = make_app(restored_url)
            try:
                check_restored(restored, before, secret)
            finally:
                db.close_all()


def check_restored(restored, before: dict[str, tuple], secret: str) -> None:
    assert_same_site(restored, before)
    api = restored.test_client().get(f"/api/v1/articles/{LIVE}", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200  # tokens come back with the content


class scratch_database:
    """A PostgreSQL database of its own to restore into, dropped afterwards whatever happens. Its URL is
    the test run's with the database name changed: pg_restore recreates the schema the dump was made
    from, and the search_path still names it."""

    def __init__(self, url: str):
        self.name = f"syndication_restore_{os.getpid()}"
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def _admin(self, sql: str) -> None:
        conn = psycopg2.connect(POSTGRES_URL, connect_timeout=5)
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def __enter__(self) -> str:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")
        return self.url

    def __exit__(self, *exc) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# -- SQLite: online, while an import writes --------------------------------------------------------


def write_wire_posts(folder: Path, count: int) -> None:
    folder.mkdir()
    for n in range(count):
        (folder / f"wire-{n:05d}.md").write_text(
            f'---\ntitle: "Wire report {n}"\ndate: 2025-06-01 08:00:00 +0000\nid: wire-{n:05d}\n'
            f"categories: wire\ntags: [wire]\n---\n<p>Report {n} from the wire service, "
            + "with a paragraph of news. " * 20
            + "</p>\n"
        )


def article_count(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM article").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backup_taken_while_an_import_writes_is_one_consistent_moment(app, tmp_path):
    publish_site(app)
    source = sqlite_path(app)
    before = responses(app, UNTOUCHED)
    posts = tmp_path / "wire"
    write_wire_posts(posts, 6 * BATCH_SIZE)
    path = tmp_path / "during-import.db"

    writer = subprocess.Popen(
        [*FLASK, "import-posts", "--quiet", str(posts)],
        cwd=REPO,
        env={**os.environ, "SYNDICATION_DATABASE_URL": app.config["SYNDICATION_DATABASE_URL"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while article_count(source) == 5:  # the import's first transaction has not committed yet
            assert writer.poll() is None and time.monotonic() < deadline, "the import never wrote"
            time.sleep(0.01)
        result = backup(app, path)
        importing_after = writer.poll() is None
        output, _ = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert result.exit_code == 0, result.output
    assert writer.returncode == 0 and f"{6 * BATCH_SIZE} imported" in output, output
    copied = article_count(path)
    # Taken in the middle of the import, and of its transactions none in part: whole batches only.
    assert importing_after and 5 < copied < 5 + 6 * BATCH_SIZE, copied
    assert (copied - 5) % BATCH_SIZE == 0, copied
    assert f"{copied:,} articles" in result.output
    assert article_count(source) == 5 + 6 * BATCH_SIZE  # the import was not disturbed
    assert responses(app, UNTOUCHED) == before  # (what makes the comparison below a fair one)

    restored = make_app(f"sqlite:///{path}")  # a fresh server on the backup file itself
    assert_same_site(restored, before)
    client = restored.test_client()
    wire = client.get("/category/wire.json?limit=100").get_json()
    assert len(wire["items"]) == 100  # the imported part is served like the rest
    with restored.app_context():
        # Every article's category links were copied with it (they were written in its transaction).
        orphans = db.execute_sql(
            "SELECT count(*) FROM article WHERE id NOT IN (SELECT article_id FROM article_category)"
        ).fetchone()[0]
        db.close()
    assert orphans == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restore_replaces_the_content_under_a_running_server(app, tmp_path):
    """Another process restores while this app holds its connection open, with rendered feeds cached:
    its very next requests serve the backup's site."""
    publish_site(app)
    before = responses(app, EVERYTHING)
    path = tmp_path / "before-edits.db"
    assert backup(app, path).exit_code == 0
    with app.app_context():
        Article.withdraw([LIVE])
        db.close()
    import_paths(app, FIXTURES / "good")  # brings the withdrawn article back
    assert responses(app, EVERYTHING) != before
    app.test_client().get("/feed.rss")  # the connection stays open, as a worker's does

    done = run_flask("restore", "--yes", str(path), url=app.config["SYNDICATION_DATABASE_URL"])
    assert done.returncode == 0, done.stderr
    assert_same_site(app, before)
    app.extensions["syndication.cache"].clear()  # and rendered again, from the restored rows
    assert_same_site(app, before)
    conn = sqlite3.connect(sqlite_path(app))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as the server keeps it
    conn.close()


# -- what is refused, and why -----------------------------------------------------------------------


def test_an_existing_file_is_kept_unless_forced(app, tmp_path):
    if app.config["SYNDICATION_DATABASE_URL"].startswith("postgresql"):
        needs_pg_tools()
    publish_site(app)
    path = tmp_path / "site.backup"
    path.write_bytes(b"last week's backup")

    refused = backup(app, path)
    assert refused.exit_code == 1
    assert f"{path} exists: refusing to overwrite it (--force replaces it)" in refused.output
    assert path.read_bytes() == b"last week's backup"
    assert leftovers(tmp_path) == []

    forced = backup(app, path, "--force")
    assert forced.exit_code == 0, forced.output
    assert "5 articles" in forced.output and path.read_bytes() != b"last week's backup"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unusable_paths_are_refused_with_the_reason(app, tmp_path):
    publish_site(app)
    live = sqlite_path(app)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    cases = {
        tmp_path / "missing" / "site.db": f"The folder {tmp_path / 'missing'} does not exist",
        tmp_path: f"{tmp_path} is a folder: name the backup file",
        a_file / "site.db": f"{a_file} is not a folder",
        live: "is the live database",
        Path(f"{live}-wal"): "is the live database (or one of its files)",
    }
    for path, reason in cases.items():
        result = backup(app, path, "--force")
        assert result.exit_code == 1, path
        assert reason in result.output, result.output
        assert "Traceback" not in result.output
    assert article_count(live) == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_folder_it_cannot_write_is_refused_with_the_reason(app, tmp_path):
    publish_site(app)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root writes anywhere: take that power away from the command
        if not shutil.which("setpriv"):
            pytest.skip("running as root, and setpriv (util-linux) is not there to drop the privilege")
        prefix = ("setpriv", "--bounding-set=-dac_override")
    try:
        result = run_flask("backup", str(locked / "site.db"), url=app.config["SYNDICATION_DATABASE_URL"], prefix=prefix)
        assert result.returncode == 1
        assert f"Cannot write in {locked}: Permission denied." in result.stderr
        assert "Traceback" not in result.stderr
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_full_disk_leaves_nothing_half_written(app, tmp_path):
    publish_site(app)
    assert sqlite_path(app).stat().st_size > 100 * 1024
    out = tmp_path / "out"
    out.mkdir()
    # Files may grow to 50 KB (the database is larger): what a full disk does to the copy. SIGXFSZ is
    # ignored so that the write fails with an error instead of killing the process.
    command = 'trap "" XFSZ; ulimit -f 100; exec "$@"'
    result = run_flask(
        "backup", str(out / "site.db"), url=app.config["SYNDICATION_DATABASE_URL"], prefix=("sh", "-c", command, "sh")
    )
    assert result.returncode == 1
    assert "The backup failed" in result.stderr and f"nothing was written to {out / 'site.db'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restore_refuses_what_is_not_a_good_backup(app, tmp_path):
    publish_site(app)
    runner = app.test_cli_runner()
    good = tmp_path / "good.db"
    assert backup(app, good).exit_code == 0
    newer = tmp_path / "newer.db"
    shutil.copy(good, newer)
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO schema_migration (name, applied) VALUES ('9999_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    cases = {
        tmp_path / "absent.db": "There is no backup file at",
        garbage: "is not an SQLite database",
        empty: "is not this server's database (it has no article table)",
        newer: "was made by a newer release (migrations 9999_from_the_future)",
    }
    before = responses(app, EVERYTHING)
    for path, reason in cases.items():
        result = runner.invoke(args=["restore", "--yes", str(path)])
        assert result.exit_code == 1, path
        assert reason in result.output, result.output
    declined = runner.invoke(args=["restore", str(good)], input="n\n")
    assert declined.exit_code == 1 and "Replace everything in" in declined.output
    assert responses(app, EVERYTHING) == before


# -- PostgreSQL without its tools ------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_without_pg_dump_explains_how_to_back_up(app, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # a machine without postgresql-client
    path = tmp_path / "site.dump"
    result = backup(app, path)
    assert result.exit_code == 1
    assert 'pg_dump --format=custom --file=PATH "$SYNDICATION_DATABASE_URL"' in result.output
    assert "pg_restore --no-owner" in result.output
    assert not path.exists()

    restore = app.test_cli_runner().invoke(args=["restore", "--yes", str(path)])
    assert restore.exit_code == 1
    assert "pg_restore --no-owner --dbname=" in restore.output and "createdb" in restore.output


def test_postgresql_backup_keeps_the_password_off_the_command_line():
    address, env = libpq_address("postgresql+pool://news:s%3Acret@db.internal:5433/news?sslmode=require&timeout=10")
    assert address == "postgresql://news@db.internal:5433/news?sslmode=require"
    assert env == {"PGPASSWORD": "s:cret"}
