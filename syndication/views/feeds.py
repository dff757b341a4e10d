"""Feed addresses: the site, category and tag feeds (one tag or several), their pages and archives (by
month, day, or part of a day), and the OPML index. Thin: read the parameters, name the target, say how to
render it, let syndication.http answer."""

from datetime import UTC, datetime
from urllib.parse import unquote, urlencode

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.exceptions import BadRequest, Forbidden

from models import Article, Selection, Tag, Token
from models.websub import KnownFeed

from .. import feeds
from ..auth import presented_secret, require_token
from ..cache import feed_target, opml_target, websub_links
from ..feeds import EPOCH, Split, parse_period
from ..http import versioned_response
from ..opml import render_opml
from ..params import FeedParams, feed_params
from ..render import MIMETYPES, render_feed
from ..site import archive_path, current_site, feed_path, opml_path

bp = Blueprint("feeds", __name__)

FORMAT = "<any(rss, atom, json):fmt>"


def _selection(kind: str, names: tuple[str, ...], params: FeedParams) -> Selection:
    return Selection(
        category=names[0] if kind == "category" else "",
        all_tags=params.tags if kind == "category" else names if kind == "tag" else (),
        any_tags=params.any_tags,
        exclude=params.exclude,
    )


def _lookup(kind: str, names: tuple[str, ...], selection: Selection, content: str, default_content: str):
    site = current_site()
    options = {
        "content": content,
        "default_content": default_content,
        "media_root": current_app.config["SYNDICATION_MEDIA_ROOT"],
    }
    narrowing = selection.all_tags if kind == "category" else ()
    for name in (*selection.any_tags, *selection.exclude, *narrowing):
        if Tag.find(name) is None:
            raise BadRequest(f"There is no tag {name!r}.")
    if kind == "site":
        return feeds.site_feed(site, selection, **options)
    if kind == "category":
        return feeds.category_feed(site, names[0], selection, **options)
    return feeds.tag_feed(site, names, selection, **options)


def _partner(kind: str, names: tuple[str, ...]) -> Token | None:
    """The partner token the request presents (403 for an unknown, revoked or out-of-bounds one)."""
    if presented_secret() is None:
        return None
    token = require_token("partner")
    if not token.may_read([names[0]] if kind == "category" else []):
        raise Forbidden(f"This token reads the feeds of {', '.join(token.category_list)} only.")
    return token


def _feed(kind: str, names: tuple[str, ...], fmt: str, period: str | None = None):
    archive = parse_period(period) if period else None
    params = feed_params(kind, archive=archive is not None)
    selection = _selection(kind, names, params)
    site = current_site()
    config = current_app.config
    token = _partner(kind, names)
    # Public feeds may carry summaries only (SYNDICATION_PUBLIC_CONTENT); a partner token unlocks full.
    default_content = "summary" if config["SYNDICATION_PUBLIC_CONTENT"] == "summary" and not token else "full"
    if default_content == "summary" and params.content == "full":
        raise Forbidden("Full content is for partners: send a partner token (Authorization: Bearer, or ?key=).")
    content = params.content or default_content
    shown = content if content != default_content else ""
    # The canonical address: tags in one order, parameters in one order, defaults left out.
    if archive:
        address = archive_path(kind, names, archive, fmt, feeds.canonical_query(kind, selection, shown))
    else:
        paging = {"limit": str(params.limit)} if params.limit != config["SYNDICATION_FEED_LIMIT"] else {}
        cursor = {"before": params.before.encode()} if params.before else {}
        cursor |= {"after": params.after.encode()} if params.after else {}
        address = feed_path(kind, names, fmt, feeds.canonical_query(kind, selection, shown, **paging, **cursor))
    asked = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "key"], safe=",~")
    if unquote(request.path + (f"?{asked}" if asked else "")) != unquote(address):
        return redirect(_with_key(address, params.key), code=301)

    first_page = archive is None and params.before is None and params.after is None
    day = datetime.now(UTC).date().isoformat() if fmt == "atom" and first_page else ""
    target = feed_target(selection, address, site.base_url, day, partner=token.name if token else "")

    def render() -> bytes:
        feed = _lookup(kind, names, selection, content, default_content)
        combined = len(names) > 1 or selection.any_tags or selection.exclude or params.tags
        if combined and first_page and config["SYNDICATION_WEBSUB_HUB"]:
            KnownFeed.remember(address, target.keys)  # its hub is pinged when its parts change
        if archive:
            page = feeds.archive_page(feed, fmt, archive, config["SYNDICATION_ARCHIVE_MAX_ITEMS"])
        else:
            page = feeds.feed_page(
                feed,
                fmt,
                params.limit,
                config["SYNDICATION_FEED_LIMIT"],
                params.before,
                params.after,
                config["SYNDICATION_TOMBSTONE_DAYS"],
                config["SYNDICATION_ARCHIVE_MAX_ITEMS"],
            )
        if hub := config["SYNDICATION_WEBSUB_HUB"]:
            page.links["hub"] = hub
        return render_feed(feed, page, fmt)

    max_age = config["SYNDICATION_CACHE_MAX_AGE"]
    if archive and archive.end(site.zone) < datetime.now(UTC):
        max_age = config["SYNDICATION_ARCHIVE_MAX_AGE"]  # a period that has ended changes only by edits
    links = websub_links(config["SYNDICATION_WEBSUB_HUB"], site.url(address))
    # Partner responses are for that partner alone: no shared cache may keep them.
    try:
        return versioned_response(
            target,
            MIMETYPES[fmt],
            render,
            max_age=max_age,
            extra_headers=links,
            private=token is not None,
            charge="feeds",
        )
    except Split as split:
        # Decided when rendering, so it costs a count only when no rendered copy is current (a copy can
        # only have been made while the period was one document, and any article since changed the ETag).
        first = site.url(archive_path(kind, names, split.first, fmt, feeds.canonical_query(kind, selection, shown)))
        return _see_other(first, split.reason, params.key, max_age, private=token is not None)


def _with_key(address: str, key: str) -> str:
    """The address, keeping the partner's ?key= on it (a redirect must not lock a partner out)."""
    return address + ("&" if "?" in address else "?") + urlencode({"key": key}) if key else address


def _see_other(address: str, reason: str, key: str, max_age: int, private: bool) -> Response:
    """303 (RFC 9110 §15.4.4): the archive asked for is not one document; this one is where it begins."""
    location = _with_key(address, key)
    cache_control = f"{'private' if private else 'public'}, max-age={max_age}"
    return Response(
        f"303 See Other: {reason}\n",
        status=303,
        headers={"Location": location, "Cache-Control": cache_control},
        content_type="text/plain; charset=utf-8",
    )


def _tags(names: str) -> tuple[str, ...]:
    return tuple(sorted(set(names.split("+"))))


@bp.get(f"/feed.{FORMAT}")
def site_feed(fmt: str):
    return _feed("site", (), fmt)


@bp.get(f"/category/<slug>.{FORMAT}")
def category_feed(slug: str, fmt: str):
    return _feed("category", (slug,), fmt)


@bp.get(f"/tag/<names>.{FORMAT}")
def tag_feed(names: str, fmt: str):
    return _feed("tag", _tags(names), fmt)


# Archives: <month> is YYYY-MM or YYYY-MM-DD (a day); a day too busy for one document has numbered parts.
@bp.get(f"/feed/<month>.{FORMAT}")
def site_archive(month: str, fmt: str):
    return _feed("site", (), fmt, month)


@bp.get(f"/category/<slug>/<month>.{FORMAT}")
def category_archive(slug: str, month: str, fmt: str):
    return _feed("category", (slug,), fmt, month)


@bp.get(f"/tag/<names>/<month>.{FORMAT}")
def tag_archive(names: str, month: str, fmt: str):
    return _feed("tag", _tags(names), fmt, month)


@bp.get(f"/feed/<day>/<part>.{FORMAT}")
def site_archive_part(day: str, part: str, fmt: str):
    return _feed("site", (), fmt, f"{day}/{part}")


@bp.get(f"/category/<slug>/<day>/<part>.{FORMAT}")
def category_archive_part(slug: str, day: str, part: str, fmt: str):
    return _feed("category", (slug,), fmt, f"{day}/{part}")


@bp.get(f"/tag/<names>/<day>/<part>.{FORMAT}")
def tag_archive_part(names: str, day: str, part: str, fmt: str):
    return _feed("tag", _tags(names), fmt, f"{day}/{part}")


@bp.get("/feeds.opml")
def opml():
    fmt = request.args.get("format", "rss")
    if fmt not in MIMETYPES or set(request.args) - {"format"}:
        raise BadRequest(f"This address takes format={'|'.join(MIMETYPES)} and nothing else.")
    site = current_site()

    def render() -> bytes:
        return render_opml(
            feeds.all_feeds(site),
            fmt,
            created=Article.first_published() or EPOCH,
            modified=Article.last_updated() or EPOCH,
            self_url=site.url(opml_path()),
        )

    return versioned_response(opml_target(fmt, site.base_url), "text/x-opml", render)
