"""Feed addresses: the site, category and tag feeds, and the OPML index. Thin: name the target, say how
to render it, let syndication.http answer."""

from flask import Blueprint, request
from werkzeug.exceptions import BadRequest

from models import Article

from .. import feeds
from ..cache import feed_target, opml_target
from ..feeds import EPOCH
from ..http import versioned_response
from ..opml import render_opml
from ..params import limit_param
from ..render import MIMETYPES, render_feed
from ..site import current_site, opml_path

bp = Blueprint("feeds", __name__)

FORMAT = "<any(rss, atom):fmt>"


def _respond(kind: str, name: str, fmt: str, lookup):
    site = current_site()
    limit = limit_param()

    def render() -> bytes:
        feed = lookup(site)
        return render_feed(feed, feed.items(limit), fmt)

    return versioned_response(feed_target(kind, name, fmt, limit, site.base_url), MIMETYPES[fmt], render)


@bp.get(f"/feed.{FORMAT}")
def site_feed(fmt: str):
    return _respond("site", "", fmt, feeds.site_feed)


@bp.get(f"/category/<slug>.{FORMAT}")
def category_feed(slug: str, fmt: str):
    return _respond("category", slug, fmt, lambda site: feeds.category_feed(site, slug))


@bp.get(f"/tag/<name>.{FORMAT}")
def tag_feed(name: str, fmt: str):
    return _respond("tag", name, fmt, lambda site: feeds.tag_feed(site, name))


@bp.get("/feeds.opml")
def opml():
    fmt = request.args.get("format", "rss")
    if fmt not in MIMETYPES:
        raise BadRequest(f"format must be one of {', '.join(MIMETYPES)}, not {fmt[:40]!r}.")
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
