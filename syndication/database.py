"""Binding the models' database to the configured one, and one connection per request."""

import sqlite3
from pathlib import Path

from flask import Flask, request
from peewee import Database, DatabaseError, InterfaceError, InternalError, OperationalError, SqliteDatabase
from playhouse.db_url import connect
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase

from models import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the writer
    "foreign_keys": 1,
    "busy_timeout": 5000,  # ms a writer waits for another writer before "database is locked"
    "synchronous": "normal",  # safe with WAL; fsync at checkpoints only
}
CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL (unless the URL sets connect_timeout): a host that is down
# answers nothing, and without a bound every request would wait for TCP to give up


def _driver_errors() -> tuple[type[Exception], ...]:
    """The drivers' own classes of the same failures: SQL run on the driver's connection directly (the
    cache's PRAGMA data_version) raises them unwrapped by peewee."""
    errors: list[type[Exception]] = [sqlite3.OperationalError, sqlite3.InterfaceError, sqlite3.InternalError]
    try:
        import psycopg2
    except ImportError:  # PostgreSQL is optional
        return tuple(errors)
    return (*errors, psycopg2.OperationalError, psycopg2.InterfaceError, psycopg2.InternalError)


# The database failing rather than the query: unreachable, gone mid-query, locked, read-only, disk full, pool
# exhausted. Clients get a 503 and may retry; a bug (IntegrityError, ProgrammingError) stays a 500.
UNAVAILABLE = (OperationalError, InterfaceError, InternalError, MaxConnectionsExceeded, *_driver_errors())
FAILURE = "syndication.database_failure"  # WSGI environ key: the database was found down in this request


def database_url(app: Flask) -> str:
    url = app.config["SYNDICATION_DATABASE_URL"]
    if url:
        return url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'syndication.db'}"


def open_database(url: str) -> Database:
    if url.startswith("sqlite"):
        # Every transaction here writes. Begun IMMEDIATE, it takes the write lock first and waits its turn
        # (busy_timeout); begun DEFERRED, one that read before another connection committed fails at
        # its first write with "database is locked", at once, whatever the timeout.
        return connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        # Pooled: a request borrows a connection and gives it back, instead of opening one each time.
        options = {"max_connections": 32, "stale_timeout": 300, "timeout": 10}
        if "connect_timeout=" not in rest:
            options["connect_timeout"] = CONNECT_TIMEOUT
        return connect(f"postgresql+pool{sep}{rest}", **options)
    return connect(url)


def init_app(app: Flask) -> None:
    database = open_database(database_url(app))
    db.initialize(database)
    if isinstance(database, SqliteDatabase) and database.database != ":memory:":
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)

    @app.before_request
    def _connect() -> None:
        if FAILURE in request.environ:
            return  # the hot path found it down
        try:
            db.connect(reuse_if_open=True)
        except UNAVAILABLE as e:
            # Not raised here: a feed or page view first names its target, then raises it (syndication.http),
            # so that what was rendered before can be served stale. Other views query, and fail the same way.
            request.environ[FAILURE] = e

    @app.teardown_request
    def _release(exc) -> None:
        release()


def release() -> None:
    """After a request: a pooled connection goes back to its pool; a SQLite one stays open for the
    thread's next request (opening it, with its pragmas, costs more than a cached request)."""
    if not isinstance(db.obj, SqliteDatabase) and not db.is_closed():
        db.close()


def discard() -> None:
    """After the database failed: close this thread's connection instead of keeping it (it may be dead, or
    a SQLite connection opened read-only that would stay so), and on a pool every idle one (they died with
    the server), so that service resumes on fresh connections once the database is back."""
    try:
        if isinstance(db.obj, PooledDatabase):
            db.obj.close_idle()
            db.obj.manual_close()
        elif not db.is_closed():
            db.close()
    except Exception:  # closing a dead connection may fail too; it is gone either way
        db.obj._state.reset()


def failure_reason(error: Exception) -> str:
    """What clients are told: the kind of failure, never the driver's words (they name hosts and files)."""
    # Also the errors this one arose from: a failed rollback hides the disk that was full.
    causes, cause = [], error
    while cause is not None and len(causes) < 5:
        causes.append(str(cause).lower())
        cause = cause.__cause__ or cause.__context__
    text = "\n".join(causes)
    if "disk is full" in text or "no space left" in text:
        return "the database's disk is full (no space left on device)"
    if "locked" in text:
        return "the database is locked by another writer"
    if "readonly" in text or "read-only" in text:
        return "the database is read-only"
    if "i/o error" in text:
        return "the database cannot be written (disk I/O error)"
    if isinstance(error, MaxConnectionsExceeded):
        return "every database connection is busy"
    if "no such table" in text or "does not exist" in text:
        return "the database or its tables do not exist (run flask init-db)"
    return "the database cannot be reached"


def location() -> str:
    """The database as an operator names it: the SQLite file, or PostgreSQL's host and database (no secrets)."""
    database = db.obj
    if isinstance(database, SqliteDatabase):
        return str(database.database)
    params = database.connect_params
    return f"postgresql://{params.get('host', 'localhost')}:{params.get('port', 5432)}/{database.database}"


def unavailable() -> str:
    """Why the database cannot serve reads, or "" when it can. A read of a real table: on SQLite
    `SELECT 1` never touches the file."""
    try:
        db.execute_sql("SELECT 1 FROM feed_version LIMIT 1").fetchall()
        return ""
    except (*UNAVAILABLE, DatabaseError) as e:
        discard()
        return failure_reason(e)
