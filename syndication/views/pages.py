"""HTML pages: home, category and tag pages, share pages, the old share address, and /healthz."""

from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, NotFound

from models import Article, Category

from .. import feeds
from ..cache import listing_target, share_target
from ..content import absolute_url, absolutize
from ..database import reachable
from ..http import versioned_response
from ..params import before_param, limit_param
from ..site import current_site, share_path

bp = Blueprint("pages", __name__)


def _listing(kind: str, name: str, lookup, template: str = "listing.html", **context):
    """A page of a feed's articles, newest first, with a link to the next older page."""
    site = current_site()
    limit = limit_param("SYNDICATION_PAGE_LIMIT")
    before = before_param()

    def render() -> bytes:
        feed = lookup(site)
        articles = feed.items(limit, before)
        older = None
        if len(articles) == limit:
            # The next page keeps the page size the reader asked for.
            query = {"before": articles[-1].cursor.encode(), "limit": request.args.get("limit")}
            older = "?" + urlencode({k: v for k, v in query.items() if v})
        extra = {key: make() for key, make in context.items()}
        return render_template(template, site=site, articles=articles, feed=feed, older=older, **extra).encode()

    target = listing_target(kind, name, limit, before.encode() if before else "", site.base_url)
    return versioned_response(target, "text/html", render)


@bp.get("/")
def home():
    return _listing("site", "", feeds.site_feed, "home.html", categories=lambda: list(Category.all_by_name()))


@bp.get("/category/<slug>.html")
def category_page(slug: str):
    return _listing("category", slug, lambda site: feeds.category_feed(site, slug))


@bp.get("/tag/<name>.html")
def tag_page(name: str):
    return _listing("tag", name, lambda site: feeds.tag_feed(site, name))


@bp.get("/share/<article_id>.html")
def share(article_id: str):
    site = current_site()

    def render() -> bytes:
        article = Article.find(article_id)
        if article is None:
            raise NotFound(f"There is no article {article_id!r}.")
        return render_template(
            "share.html",
            site=site,
            article=article,
            canonical=site.url(share_path(article.id)),
            body=absolutize(article.body, site.base_url),
            image=absolute_url(article.image, site.base_url) if article.image else "",
            category_feeds=[feeds.CategoryFeed(site, c) for c in article.categories],
        ).encode()

    return versioned_response(share_target(article_id, site.base_url), "text/html", render)


@bp.get("/html_News/NewsShare.html")
def legacy_share():
    """The old site's share address; readers and search engines still hold it."""
    article_id = request.args.get("infoCode", "")
    if not article_id:
        raise BadRequest("infoCode is missing: the address is /html_News/NewsShare.html?infoCode=<article id>.")
    if Article.find(article_id) is None:
        raise NotFound(f"There is no article {article_id!r}.")
    return redirect(share_path(article_id), code=301)


@bp.get("/healthz")
def healthz():
    ok = reachable()
    response = jsonify(status="ok" if ok else "unavailable", database="ok" if ok else "unreachable")
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    if not ok:
        response.headers["Retry-After"] = "30"
    return response
