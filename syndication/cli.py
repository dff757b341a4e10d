"""Command-line tools, through Flask's click integration: `flask --app wsgi <command> --help`."""

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from models import db
from models.schema import Runner, migrate, pending

from .export import export_static
from .importer import ImportReport, count_posts, import_posts


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables (applies every migration; safe to run again)."""
    applied = migrate(db)
    click.echo(f"Database ready ({len(applied)} migration(s) applied).")


@click.command("migrate")
@with_appcontext
@click.option("--status", is_flag=True, help="List migrations and whether each is applied; change nothing.")
def migrate_command(status: bool) -> None:
    """Apply pending schema migrations, in order, each once."""
    if status:
        for m in Runner(db).status():
            click.echo(f"{'applied' if m.applied else 'pending'}  {m.name}")
        return
    applied = migrate(db)
    click.echo("\n".join(f"applied  {name}" for name in applied) or "Nothing to apply.")


@click.command("import-posts")
@with_appcontext
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="Print only failures and the summary line.")
def import_posts_command(paths: tuple[Path, ...], quiet: bool) -> None:
    """Import Jekyll-style posts from PATHS (files, or folders searched recursively).

    Importing a post again updates it in place; an unchanged post is left alone. A file that cannot
    be imported is reported with its reason and skipped; the exit status is 1 if any failed.
    """
    if waiting := pending(db):
        raise click.ClickException(f"{len(waiting)} schema migration(s) pending: run `flask init-db` first.")
    zone = ZoneInfo(current_app.config["SYNDICATION_TIMEZONE"])
    report = ImportReport()
    if sys.stdout.isatty() and not quiet:
        with click.progressbar(length=count_posts(paths), label="Importing", show_pos=True) as bar:
            import_posts(paths, zone, report, progress=bar.update)
    else:
        import_posts(paths, zone, report)
    for path, reason in report.failures:
        click.echo(f"{path}: {reason}", err=True)
    click.echo(report.summary())
    if report.failures:
        sys.exit(1)


@click.command("export-static")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_static_command(folder: Path) -> None:
    """Write every feed, the OPML index and every page into FOLDER (with .gz beside each), for nginx or a
    CDN. Run it again after an import: only what changed is rendered and written again. Needs
    SYNDICATION_SITE_URL, the address the files will be served from."""
    try:
        counts = export_static(current_app._get_current_object(), folder)
    except (ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{counts['written']} written, {counts['unchanged']} unchanged")


def init_app(app: Flask) -> None:
    for command in (init_db_command, migrate_command, import_posts_command, export_static_command):
        app.cli.add_command(command)
