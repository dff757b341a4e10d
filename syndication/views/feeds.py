"""Feed addresses: the site, category and tag feeds, and the OPML index. Thin: look up, render, answer."""

from flask import Blueprint, request
from werkzeug.exceptions import BadRequest

from models import Article

from .. import feeds
from ..feeds import EPOCH, Feed
from ..http import cacheable_response
from ..opml import render_opml
from ..params import limit_param
from ..render import MIMETYPES, render_feed
from ..site import current_site, opml_path

bp = Blueprint("feeds", __name__)

FORMAT = "<any(rss, atom):fmt>"


def _respond(feed: Feed, fmt: str):
    items = feed.items(limit_param())
    return cacheable_response(render_feed(feed, items, fmt), MIMETYPES[fmt], feed.updated(items))


@bp.get(f"/feed.{FORMAT}")
def site_feed(fmt: str):
    return _respond(feeds.site_feed(current_site()), fmt)


@bp.get(f"/category/<slug>.{FORMAT}")
def category_feed(slug: str, fmt: str):
    return _respond(feeds.category_feed(current_site(), slug), fmt)


@bp.get(f"/tag/<name>.{FORMAT}")
def tag_feed(name: str, fmt: str):
    return _respond(feeds.tag_feed(current_site(), name), fmt)


@bp.get("/feeds.opml")
def opml():
    fmt = request.args.get("format", "rss")
    if fmt not in MIMETYPES:
        raise BadRequest(f"format must be one of {', '.join(MIMETYPES)}, not {fmt[:40]!r}.")
    site = current_site()
    modified = Article.last_updated() or EPOCH
    body = render_opml(
        feeds.all_feeds(site),
        fmt,
        created=Article.first_published() or EPOCH,
        modified=modified,
        self_url=site.url(opml_path()),
    )
    return cacheable_response(body, "text/x-opml", modified)
