"""Command-line tools, through Flask's click integration: `flask --app wsgi <command> --help`."""

import functools
import sys
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from models import Article, Category, Source, Token, db, utc_now, valid_key
from models.schema import Runner, migrate, pending
from models.token import SCOPES

from .backup import backup_command, restore_command
from .database import UNAVAILABLE, failure_reason, location
from .export import export_static
from .importer import ImportReport, count_posts, import_posts, withdrawn_missing
from .metrics import IMPORTED
from .sources import Settings as SourceSettings
from .sources import poll_due
from .stats import stats_command


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


def _require_current_schema() -> None:
    """Commands that write articles refuse to run on tables older than the code."""
    if waiting := pending(db):
        raise click.ClickException(f"{len(waiting)} schema migration(s) pending: run `flask init-db` first.")


@click.command("import-posts")
@with_appcontext
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="Print only failures and the summary line.")
@click.option(
    "--sync", is_flag=True, help="Also withdraw the articles imported from these folders whose files are gone."
)
def import_posts_command(paths: tuple[Path, ...], quiet: bool, sync: bool) -> None:
    """Import Jekyll-style posts from PATHS (files, or folders searched recursively).

    Importing a post again updates it in place; an unchanged post is left alone; a withdrawn one comes
    back. A file that cannot be imported is reported with its reason and skipped; the exit status is 1
    if any failed.
    """
    _require_current_schema()
    zone = ZoneInfo(current_app.config["SYNDICATION_TIMEZONE"])
    report = ImportReport(track=sync)
    if sys.stdout.isatty() and not quiet:
        with click.progressbar(length=count_posts(paths), label="Importing", show_pos=True) as bar:
            import_posts(paths, zone, report, progress=bar.update)
    else:
        import_posts(paths, zone, report)
    for path, reason in report.failures:
        click.echo(f"{path}: {reason}", err=True)
    for outcome, count in report.counts.items():
        IMPORTED.labels(outcome).inc(count)
    summary = report.summary()
    if sync:
        # Only when every file could be read: a file that failed is not a file that is gone.
        if report.failures:
            click.echo("--sync withdrew nothing: some files failed to import.", err=True)
        else:
            gone = [a for folder in paths if folder.is_dir() for a in withdrawn_missing(folder, report)]
            summary += f", {len(gone)} withdrawn"
    click.echo(summary + _deliver_pings())
    if report.failures:
        sys.exit(1)


def _deliver_pings() -> str:
    """Tell the WebSub hub now, for a few seconds at most; what is left a server worker sends."""
    publisher = current_app.extensions.get("syndication.websub")
    if publisher is None:
        return ""
    sent, failed = publisher.sent, publisher.failed
    publisher.drain(seconds=10)
    sent, failed = publisher.sent - sent, publisher.failed - failed
    return f"; hub told of {sent} feed change(s)" + (f", {failed} to retry" if failed else "")


@click.command("delete-post")
@click.argument("article_ids", nargs=-1, required=True)
@with_appcontext
def delete_post_command(article_ids: tuple[str, ...]) -> None:
    """Withdraw articles by id: they leave every feed and page, their share pages answer 410 Gone, and
    Atom feeds announce them as deleted (RFC 6721) for SYNDICATION_TOMBSTONE_DAYS. Importing the post
    again brings it back, with the same id."""
    unknown = [a for a in article_ids if Article.find(a) is None]
    if unknown:
        raise click.ClickException(f"No article with id {', '.join(unknown)}; nothing was withdrawn.")
    withdrawn = Article.withdraw(list(article_ids))
    for article_id in article_ids:
        click.echo(f"{article_id}: {'withdrawn' if article_id in withdrawn else 'was already withdrawn'}")
    if note := _deliver_pings():
        click.echo(note.lstrip("; "))


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


@click.group("tokens")
def tokens_group() -> None:
    """Tokens for the write API (scope write) and for partners' full-content feeds (scope partner)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="write: API; partner: feeds; admin: /stats.")
@click.option("--categories", default="", help="Comma-separated category slugs a partner may read (default: all).")
@with_appcontext
def tokens_create(name: str, scope: str, categories: str) -> None:
    """Make a token NAME and print its secret: it is shown this once and stored only as a hash."""
    slugs = [c.strip() for c in categories.split(",") if c.strip()]
    unknown = [c for c in slugs if Category.find(c) is None]
    if unknown:
        raise click.ClickException(f"No category {', '.join(unknown)}.")
    try:
        secret = Token.issue(name, scope, slugs)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(secret)
    click.echo(f"Token {name!r} ({scope}) made. Keep the secret above: it cannot be shown again.", err=True)


@tokens_group.command("list")
@with_appcontext
def tokens_list() -> None:
    """Name, scope, categories and state of every token (never the secrets)."""
    for token in Token.select().order_by(Token.name):
        state = f"revoked {token.revoked:%Y-%m-%d %H:%M}Z" if token.revoked else "live"
        click.echo(f"{token.name}\t{token.scope}\t{token.categories or '*'}\t{state}")


@tokens_group.command("revoke")
@click.argument("name")
@with_appcontext
def tokens_revoke(name: str) -> None:
    """Revoke token NAME: refused on the very next request, by every worker."""
    if not Token.revoke(name):
        raise click.ClickException(f"No live token named {name!r}.")
    click.echo(f"Token {name!r} revoked.")


@click.group("sources")
def sources_group() -> None:
    """Partners' feeds (RSS, Atom, JSON Feed) whose entries this site republishes, attributed to them."""


@sources_group.command("add")
@click.argument("url")
@click.option("--category", required=True, help="Category slug its articles go in (made if new).")
@click.option("--tags", default="", help="Comma-separated tag names its articles get.")
@click.option("--name", default="", help="Short name (letters, digits, '.', '_', '-'; default: the host name).")
@click.option("--title", default="", help="Attribution shown with its articles (default: the feed's own title).")
@with_appcontext
def sources_add(url: str, category: str, tags: str, name: str, title: str) -> None:
    """Poll the feed at URL from now on (`flask sources fetch` polls it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(f"{url!r} is not an http(s) address.")
    name = name or parts.hostname
    tag_names = [t.strip() for t in tags.split(",") if t.strip()]
    for what, key in [("name", name), ("category", category), *(("tag", t) for t in tag_names)]:
        if not valid_key(key) or (what == "name" and len(key) > 60):
            raise click.ClickException(f"Unusable {what} {key!r} (letters, digits, '.', '_', '-').")
    if clash := Source.get_or_none((Source.name == name) | (Source.url == url)):
        raise click.ClickException(f"Source {clash.name!r} already polls {clash.url}.")
    Source.create(name=name, url=url, category=category, tags=",".join(tag_names), title=title.strip())
    click.echo(
        f"Source {name!r} added: {url} -> category {category}" + (f", tags {', '.join(tag_names)}" if tag_names else "")
    )


@sources_group.command("list")
@with_appcontext
def sources_list() -> None:
    """Every source: name, address, category and tags, and what its last poll did."""
    for s in Source.select().order_by(Source.name):
        when = f"{s.last_fetched:%Y-%m-%d %H:%M}Z" if s.last_fetched else "never polled"
        wait = f", next not before {s.next_fetch:%Y-%m-%d %H:%M}Z" if s.next_fetch else ""
        click.echo(f"{s.name}\t{s.url}\t{s.category}\t{s.tags or '-'}\t{when}: {s.last_status or '-'}{wait}")


@sources_group.command("remove")
@click.argument("name")
@click.option("--withdraw", is_flag=True, help="Also withdraw every article it brought (410 Gone, tombstones).")
@with_appcontext
def sources_remove(name: str, withdraw: bool) -> None:
    """Stop polling source NAME. Its articles stay published unless --withdraw."""
    source = Source.get_or_none(Source.name == name)
    if source is None:
        raise click.ClickException(f"No source named {name!r}.")
    withdrawn = Article.withdraw(Article.ids_from_source(name)) if withdraw else []
    source.delete_instance()
    click.echo(f"Source {name!r} removed" + (f"; {len(withdrawn)} article(s) withdrawn" if withdraw else "") + ".")
    if withdrawn and (note := _deliver_pings()):
        click.echo(note.lstrip("; "))


@sources_group.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Poll even sources that are backing off or asked us to wait.")
@click.option("--quiet", is_flag=True, help="Print only failures and the summary line.")
@with_appcontext
def sources_fetch(names: tuple[str, ...], force: bool, quiet: bool) -> None:
    """Poll the sources that are due (or NAMES): new and edited entries become articles. Run it from
    cron or a systemd timer. Exit status 1 if a source failed; it is retried later, backing off."""
    _require_current_schema()
    unknown = [n for n in names if Source.get_or_none(Source.name == n) is None]
    if unknown:
        raise click.ClickException(f"No source named {', '.join(map(repr, unknown))}.")
    zone = ZoneInfo(current_app.config["SYNDICATION_TIMEZONE"])
    polls = poll_due(SourceSettings.from_config(current_app.config, zone), utc_now(), names, force)
    for poll in polls:
        if poll.outcome == "failed" or not quiet:
            click.echo(f"{poll.source.name}: {poll.message}", err=poll.outcome == "failed")
        for where, reason in poll.failures:
            click.echo(f"  {where}: {reason}", err=True)
    failed = sum(p.outcome == "failed" for p in polls)
    click.echo(f"{len(polls)} source(s) polled, {failed} failed" + _deliver_pings())
    if failed:
        sys.exit(1)


def _reporting_database_failures(command: click.Command) -> click.Command:
    """Every command (and subcommand) answers a database that is down, locked, read-only or full with one
    line naming it and why, and exit status 1, instead of a traceback."""
    for sub in getattr(command, "commands", {}).values():
        _reporting_database_failures(sub)
    callback = command.callback
    if callback is None or getattr(callback, "reports_database_failures", False):
        return command  # the commands are module-level: every app made registers them again

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except UNAVAILABLE as e:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise click.ClickException(f"The database {location()} failed: {failure_reason(e)} ({detail}).") from None

    run.reports_database_failures = True
    command.callback = run
    return command


def init_app(app: Flask) -> None:
    for command in (
        init_db_command,
        migrate_command,
        import_posts_command,
        delete_post_command,
        export_static_command,
        tokens_group,
        stats_command,
        backup_command,
        restore_command,
        sources_group,
    ):
        app.cli.add_command(_reporting_database_failures(command))
