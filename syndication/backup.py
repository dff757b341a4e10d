"""Backups: `flask backup PATH` and `flask restore PATH`.

SQLite: an online copy through SQLite's backup API, consistent while workers serve and an import writes,
checked with `PRAGMA integrity_check` before it is put in place; a restore copies it back the same way,
into the live database, in one transaction. PostgreSQL: `pg_dump --format=custom` of the configured
database when pg_dump is installed (restores go through pg_restore, by hand: see README.md "Backups").

A backup is written to a temporary file beside PATH, flushed to disk and then renamed, so PATH only ever
holds a complete, verified backup, or nothing.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import pathname2url

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import PostgresqlDatabase, SqliteDatabase

from models import db
from models.schema import MIGRATIONS_DIR, pending

from .database import database_url

BUSY_SECONDS = 30  # how long a restore waits for the writer in progress (an import's batch) to commit

POSTGRES_HELP = """\
This site's database is PostgreSQL, which is backed up with PostgreSQL's own tools, and pg_dump is not
installed here (Debian: apt install postgresql-client, of the server's major version or newer). With it:

    pg_dump --format=custom --file=PATH "$SYNDICATION_DATABASE_URL"

(or run `flask backup PATH` again). To restore, into a new, empty database, then point
SYNDICATION_DATABASE_URL at it and restart the workers:

    createdb news_restored
    pg_restore --no-owner --dbname=postgresql://USER@HOST:5432/news_restored PATH"""

POSTGRES_RESTORE_HELP = """\
This site's database is PostgreSQL: restore a backup made with `flask backup` (or pg_dump) with
pg_restore, into a new, empty database, then point SYNDICATION_DATABASE_URL at it and restart the workers:

    createdb news_restored
    pg_restore --no-owner --dbname=postgresql://USER@HOST:5432/news_restored PATH

(restoring over the live database would drop tables under the running workers; `flask restore` does
that only for SQLite, where it is one transaction)."""

# Query parameters peewee's db_url reads for itself: libpq (pg_dump) refuses them.
PEEWEE_ONLY = {"max_connections", "stale_timeout", "timeout", "autorollback", "autoconnect", "register_hstore"}


class BackupError(Exception):
    """A backup or restore that cannot be made, with the reason in words an operator can act on."""


@dataclass
class Summary:
    path: Path
    articles: int
    withdrawn: int
    check: str  # what verified the copy

    def line(self) -> str:
        size = self.path.stat().st_size
        return (
            f"{self.path}: {self.articles:,} articles ({self.withdrawn:,} withdrawn), "
            f"{size / 1_000_000:,.1f} MB ({size:,} bytes); {self.check}."
        )


# -- where a backup goes ---------------------------------------------------------------------------


def _check_target(path: Path, force: bool, live: Path | None = None) -> None:
    if path.is_dir():
        raise BackupError(f"{path} is a folder: name the backup file, e.g. {path / 'syndication-backup.db'}")
    folder = path.absolute().parent
    if not folder.exists():
        raise BackupError(f"The folder {folder} does not exist: create it first.")
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder.")
    if live is not None:
        own = {Path(f"{live.resolve()}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")}
        if path.resolve() in own:
            raise BackupError(f"{path} is the live database (or one of its files): choose another name.")
    if path.exists() and not force:
        raise BackupError(f"{path} exists: refusing to overwrite it (--force replaces it).")


def _temporary_beside(path: Path) -> Path:
    folder = path.absolute().parent
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise BackupError(f"Cannot write in {folder}: {e.strerror}.") from None
    os.close(fd)
    return Path(name)


def _remove(temporary: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{temporary}{suffix}").unlink(missing_ok=True)


def _publish(temporary: Path, path: Path, force: bool) -> None:
    """Flush the finished copy to disk, then rename it into place: PATH is the whole backup or absent."""
    with open(temporary, "rb+") as f:
        os.fsync(f.fileno())
    if path.exists() and not force:  # made by someone else while the copy ran
        raise BackupError(f"{path} appeared while the backup ran: refusing to overwrite it (--force replaces it).")
    os.replace(temporary, path)
    folder = os.open(path.absolute().parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself must survive a power cut
    finally:
        os.close(folder)


# -- SQLite ----------------------------------------------------------------------------------------


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that can never write to (or create) the file it opens."""
    return sqlite3.connect(f"file:{pathname2url(str(path.absolute()))}?mode=ro", uri=True, timeout=BUSY_SECONDS)


def _verify(conn: sqlite3.Connection, what: str) -> tuple[int, int]:
    """Check a copy page by page and that it is this server's database; return its article counts."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{what} failed its integrity check: {'; '.join(problems[:3])}")
    try:
        return conn.execute("SELECT count(*), count(withdrawn) FROM article").fetchone()
    except sqlite3.OperationalError:
        raise BackupError(f"{what} is not this server's database (it has no article table).") from None


def backup_sqlite(source: Path, path: Path, force: bool) -> Summary:
    if not source.exists():
        raise BackupError(f"There is no database at {source}: nothing to back up.")
    _check_target(path, force, live=source)
    temporary = _temporary_beside(path)
    try:
        src, copy = _read_only(source), sqlite3.connect(temporary)
        try:
            # In one step: the copy reads one snapshot, in one read transaction, which WAL lets run beside
            # the writers. Copied a few pages at a time, every commit by another connection would restart
            # it, and a busy site might never let it finish.
            src.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            articles, withdrawn = _verify(copy, "The copy")
        finally:
            src.close()
            copy.close()
        _publish(temporary, path, force)
    except (sqlite3.Error, OSError) as e:
        raise BackupError(f"The backup failed ({e}); nothing was written to {path}.") from None
    finally:
        _remove(temporary)
    return Summary(path, articles, withdrawn, "integrity check ok")


def _migrations_in(conn: sqlite3.Connection) -> set[str]:
    try:
        return {name for (name,) in conn.execute("SELECT name FROM schema_migration")}
    except sqlite3.OperationalError:
        return set()


def restore_sqlite(path: Path, live: Path, confirm) -> tuple[int, int]:
    """Replace the live database's content with the backup's, in one transaction, while it is in use:
    readers see the old content until the copy commits, then the backup's (every worker notices at its
    next request, as it notices any other write)."""
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    if live.exists() and path.resolve() == live.resolve():
        raise BackupError(f"{path} is the live database itself.")
    try:
        backup = _read_only(path)
    except sqlite3.Error as e:
        raise BackupError(f"Cannot open {path}: {e}.") from None
    try:
        try:
            articles, withdrawn = _verify(backup, str(path))
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{path} is not an SQLite database ({e}).") from None
        newer = _migrations_in(backup) - {p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")}
        if newer:
            raise BackupError(
                f"{path} was made by a newer release (migrations {', '.join(sorted(newer))}): restore it with that one."
            )
        confirm(f"Replace everything in {live} with the backup's {articles:,} articles?")
        target = sqlite3.connect(live, timeout=BUSY_SECONDS)
        try:
            target.execute("PRAGMA journal_mode=WAL")  # as the server keeps it (a new file would not be)
            backup.backup(target)
        except sqlite3.Error as e:
            raise BackupError(f"The restore failed ({e}); {live} is as it was.") from None
        finally:
            target.close()
    finally:
        backup.close()
    return articles, withdrawn


# -- PostgreSQL ------------------------------------------------------------------------------------


def libpq_address(url: str) -> tuple[str, dict[str, str]]:
    """The database URL as libpq (pg_dump, psycopg2) reads it, and the environment to run it with: the
    password goes in PGPASSWORD, never on a command line that every user of the machine can read."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in PEEWEE_ONLY]
    address = urlunsplit(("postgresql", f"{user}@{hostport}" if at else hostport, parts.path, urlencode(query), ""))
    return address, ({"PGPASSWORD": unquote(password)} if password else {})


def backup_postgres(url: str, path: Path, force: bool) -> Summary:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(POSTGRES_HELP)
    _check_target(path, force)
    address, secret = libpq_address(url)
    environment = {**os.environ, **secret}

    import psycopg2  # only PostgreSQL sites need it

    temporary = _temporary_beside(path)
    try:
        # pg_dump reads the snapshot this transaction exported, so the counts printed are those of the
        # very state dumped, however much is written meanwhile.
        conn = psycopg2.connect(address, connect_timeout=10, **({"password": secret["PGPASSWORD"]} if secret else {}))
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot(), current_schema()")
                snapshot, schema = cursor.fetchone()
                try:
                    cursor.execute("SELECT count(*), count(withdrawn) FROM article")
                except psycopg2.errors.UndefinedTable:
                    raise BackupError("This database has no article table: run `flask init-db` first.") from None
                articles, withdrawn = cursor.fetchone()
            # A site kept in a schema of its own (search_path) is dumped alone; in public, the database.
            only = ["--schema", schema] if schema and schema != "public" else []
            command = [pg_dump, "--format=custom", f"--file={temporary}", f"--snapshot={snapshot}", *only]
            dumped = subprocess.run([*command, address], env=environment, capture_output=True, text=True)
        finally:
            conn.close()
        if dumped.returncode:
            raise BackupError(f"pg_dump failed: {dumped.stderr.strip()}; nothing was written to {path}.")
        check = "not verified (pg_restore is not installed)"
        if pg_restore := shutil.which("pg_restore"):
            listed = subprocess.run([pg_restore, "--list", temporary], capture_output=True, text=True)
            if listed.returncode or not any(
                "TABLE DATA" in line and " article " in line for line in listed.stdout.splitlines()
            ):
                raise BackupError(f"The dump cannot be read back ({listed.stderr.strip() or 'no article data'}).")
            check = "pg_restore reads it back"
        _publish(temporary, path, force)
    except psycopg2.Error as e:
        raise BackupError(f"Cannot read the database: {str(e).strip()}") from None
    except OSError as e:
        raise BackupError(f"The backup failed ({e}); nothing was written to {path}.") from None
    finally:
        temporary.unlink(missing_ok=True)
    return Summary(path, articles, withdrawn, f"pg_dump custom format, {check}")


# -- commands --------------------------------------------------------------------------------------


def _sqlite_file() -> Path | None:
    database = db.obj
    if isinstance(database, SqliteDatabase):
        if database.database == ":memory:":
            raise BackupError("An in-memory database cannot be backed up or restored.")
        return Path(database.database)
    if not isinstance(database, PostgresqlDatabase):
        raise BackupError("Backups are made for SQLite and PostgreSQL databases only.")
    return None


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Back up the database to the file PATH, while the site keeps serving and importing.

    SQLite: a consistent online copy (SQLite's backup API), checked with PRAGMA integrity_check.
    PostgreSQL: pg_dump's custom format (restore with pg_restore; see README.md "Backups").
    PATH is written only once the whole backup is made and checked; an existing PATH is kept unless
    --force is given.
    """
    try:
        source = _sqlite_file()
        if source is not None:
            summary = backup_sqlite(source, path, force)
        else:
            summary = backup_postgres(database_url(current_app), path, force)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(summary.line())


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's content.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database's whole content with the backup at PATH (made by `flask backup`).

    Safe while the server runs: the copy is one transaction, and every worker serves the restored
    content from its next request on. For PostgreSQL, prints the pg_restore commands to use instead.
    """

    def confirm(question: str) -> None:
        if not yes:
            click.confirm(question, abort=True)

    try:
        live = _sqlite_file()
        if live is None:
            raise BackupError(POSTGRES_RESTORE_HELP)
        articles, withdrawn = restore_sqlite(path, live, confirm)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    db.close()  # this connection read the database before it was replaced
    click.echo(f"Restored {articles:,} articles ({withdrawn:,} withdrawn) from {path} into {live}.")
    if waiting := pending(db):
        click.echo(f"The backup predates {len(waiting)} schema migration(s): run `flask migrate` now.")
