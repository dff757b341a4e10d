"""HTML pages: home, category and tag pages, share pages, the old share address, and /healthz."""

from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, NotFound

from models import Article, Category

from .. import feeds
from ..content import absolute_url, absolutize
from ..database import reachable
from ..feeds import EPOCH, Feed
from ..http import cacheable_response
from ..params import before_param, limit_param
from ..site import current_site, share_path

bp = Blueprint("pages", __name__)


def _page(template: str, articles: list[Article], **context):
    body = render_template(template, site=current_site(), articles=articles, **context).encode()
    return cacheable_response(body, "text/html", max((a.updated for a in articles), default=EPOCH))


def _listing(feed: Feed, template: str = "listing.html", **context):
    """A page of a feed's articles, newest first, with a link to the next older page."""
    limit = limit_param("SYNDICATION_PAGE_LIMIT")
    articles = feed.items(limit, before_param())
    older = None
    if len(articles) == limit:
        # The next page keeps the page size the reader asked for.
        query = {"before": articles[-1].cursor.encode(), "limit": request.args.get("limit")}
        older = "?" + urlencode({k: v for k, v in query.items() if v})
    return _page(template, articles, feed=feed, older=older, **context)


@bp.get("/")
def home():
    return _listing(feeds.site_feed(current_site()), "home.html", categories=list(Category.all_by_name()))


@bp.get("/category/<slug>.html")
def category_page(slug: str):
    return _listing(feeds.category_feed(current_site(), slug))


@bp.get("/tag/<name>.html")
def tag_page(name: str):
    return _listing(feeds.tag_feed(current_site(), name))


@bp.get("/share/<article_id>.html")
def share(article_id: str):
    article = Article.find(article_id)
    if article is None:
        raise NotFound(f"There is no article {article_id!r}.")
    site = current_site()
    return _page(
        "share.html",
        [article],
        article=article,
        canonical=site.url(share_path(article.id)),
        body=absolutize(article.body, site.base_url),
        image=absolute_url(article.image, site.base_url) if article.image else "",
        category_feeds=[feeds.CategoryFeed(site, c) for c in article.categories],
    )


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
