"""Fixtures: an app on a fresh database (SQLite, and PostgreSQL when reachable), a client, a CLI runner."""

import json
import os
import re
from pathlib import Path

import feedparser
import pytest

from app import create_app
from models import db
from models.schema import migrate
from syndication.importer import ImportReport, import_posts

FIXTURES = Path(__file__).parent / "fixtures" / "posts"
# CI lays shared/ beside the checkout; elsewhere point SYNDICATION_SHARED_DIR at it.
SHARED = Path(os.environ.get("SYNDICATION_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
POSTGRES_URL = os.environ.get("SYNDICATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SITE_URL = "https://news.example"

# Each test run works in a schema of its own, so runs side by side never drop each other's tables.
PG_SCHEMA = f"syndication_test_{os.getpid()}"
_postgres_problem: list[str] = []


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can (asked once per run)."""
    if not _postgres_problem:
        try:
            import psycopg2

            with psycopg2.connect(POSTGRES_URL, connect_timeout=3) as conn, conn.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
            conn.close()
            _postgres_problem.append("")
        except Exception as e:  # any failure to connect means: skip, and say why
            _postgres_problem.append(f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(e).strip()}")
    return _postgres_problem[0] or None


def pytest_sessionfinish(session):
    if _postgres_problem == [""]:
        import psycopg2

        with psycopg2.connect(POSTGRES_URL) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    if reason := postgres_unavailable():
        if os.environ.get("SYNDICATION_TEST_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason} (SYNDICATION_TEST_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{PG_SCHEMA}"


def make_app(database_url: str, **settings):
    config = {
        "TESTING": True,
        "SYNDICATION_DATABASE_URL": database_url,
        "SYNDICATION_SITE_URL": SITE_URL,
        "SYNDICATION_SITE_TITLE": "Harbour Gazette",
        "SYNDICATION_TIMEZONE": "Asia/Shanghai",
    }
    config.update(settings)
    return create_app(config)


def drop_tables(app) -> None:
    """Leave the app's database with no tables at all: what a new installation starts from."""
    cascade = " CASCADE" if "postgres" in app.config["SYNDICATION_DATABASE_URL"] else ""
    with app.app_context():
        for table in db.get_tables():
            db.execute_sql(f'DROP TABLE IF EXISTS "{table}"{cascade}')
        db.close()


def fresh_schema(app) -> None:
    """Drop every table and migrate from nothing: a clean slate on a shared PostgreSQL database."""
    drop_tables(app)
    with app.app_context():
        migrate(db)
        db.close()


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    fresh_schema(app)
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def import_paths(app, *paths: Path) -> ImportReport:
    """Import posts the way `flask import-posts` does, and return its report."""
    from zoneinfo import ZoneInfo

    report = ImportReport()
    with app.app_context():
        import_posts(paths, ZoneInfo(app.config["SYNDICATION_TIMEZONE"]), report)
        db.close()
    return report


@pytest.fixture
def good_posts(app) -> ImportReport:
    """The five good fixture posts, imported."""
    report = import_paths(app, FIXTURES / "good")
    assert report.counts["imported"] == 5, report.failures
    return report


def article_ids(data: bytes, fmt: str) -> list[str]:
    """The articles of a feed document, in document order, by their share page address."""
    if fmt == "json":
        urls = [item["url"] for item in json.loads(data)["items"]]
    else:
        feed = feedparser.parse(data)
        assert feed.bozo == 0, feed.bozo_exception
        urls = [entry.link for entry in feed.entries]
    return [re.fullmatch(rf"{re.escape(SITE_URL)}/share/(.+)\.html", url).group(1) for url in urls]
