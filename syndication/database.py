"""Binding the models' database to the configured one, and one connection per request."""

from pathlib import Path

from flask import Flask
from peewee import Database, SqliteDatabase
from playhouse.db_url import connect

from models import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the writer
    "foreign_keys": 1,
    "busy_timeout": 5000,  # ms a writer waits for another writer before "database is locked"
    "synchronous": "normal",  # safe with WAL; fsync at checkpoints only
}


def database_url(app: Flask) -> str:
    url = app.config["SYNDICATION_DATABASE_URL"]
    if url:
        return url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'syndication.db'}"


def open_database(url: str) -> Database:
    if url.startswith("sqlite"):
        return connect(url, pragmas=SQLITE_PRAGMAS)
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        # Pooled: a request borrows a connection and gives it back, instead of opening one each time.
        return connect(f"postgresql+pool{sep}{rest}", max_connections=32, stale_timeout=300, timeout=10)
    return connect(url)


def init_app(app: Flask) -> None:
    database = open_database(database_url(app))
    db.initialize(database)
    if isinstance(database, SqliteDatabase) and database.database != ":memory:":
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)

    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _release(exc) -> None:
        release()


def release() -> None:
    """After a request: a pooled connection goes back to its pool; a SQLite one stays open for the
    thread's next request (opening it, with its pragmas, costs more than a cached request)."""
    if not isinstance(db.obj, SqliteDatabase) and not db.is_closed():
        db.close()


def reachable() -> bool:
    try:
        db.execute_sql("SELECT 1")
        return True
    except Exception:  # any driver's "cannot reach" is an answer here, not an error
        return False
