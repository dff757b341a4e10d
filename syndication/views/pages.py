"""HTML pages: home, category and tag pages, share pages, the old share address, and /healthz."""

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, Gone, NotFound

from models import Article, Category, Selection

from .. import feeds
from ..cache import listing_target, share_target
from ..content import absolute_url, absolutize
from ..database import unavailable
from ..http import RETRY_AFTER, versioned_response
from ..params import before_param, limit_param
from ..site import current_site, page_path, share_path

bp = Blueprint("pages", __name__)


def _listing(kind: str, names: tuple[str, ...], lookup, template: str = "listing.html", **context):
    """A page of a feed's articles, newest first, with a link to the next older page."""
    site = current_site()
    default = current_app.config["SYNDICATION_PAGE_LIMIT"]
    limit = limit_param("SYNDICATION_PAGE_LIMIT")
    before = before_param()
    selection = Selection(category=names[0]) if kind == "category" else Selection(all_tags=names)

    def address(before_text: str = "") -> str:
        params = {"before": before_text, "limit": str(limit) if limit != default else ""}
        query = urlencode([(k, v) for k, v in params.items() if v], safe="~")
        return page_path(kind, names, f"?{query}" if query else "")

    def render() -> bytes:
        feed = lookup(site)
        articles = feed.items(limit, before)
        # The next page keeps the page size the reader asked for.
        older = address(articles[-1].cursor.encode()) if len(articles) == limit else None
        extra = {key: make() for key, make in context.items()}
        return render_template(template, site=site, articles=articles, feed=feed, older=older, **extra).encode()

    target = listing_target(selection, address(before.encode() if before else ""), site.base_url, kind == "site")
    return versioned_response(target, "text/html", render)


@bp.get("/")
def home():
    return _listing("site", (), feeds.site_feed, "home.html", categories=lambda: list(Category.all_by_name()))


@bp.get("/category/<slug>.html")
def category_page(slug: str):
    return _listing("category", (slug,), lambda site: feeds.category_feed(site, slug))


@bp.get("/tag/<names>.html")
def tag_page(names: str):
    tags = tuple(sorted(set(names.split("+"))))
    return _listing("tag", tags, lambda site: feeds.tag_feed(site, tags))


@bp.get("/share/<article_id>.html")
def share(article_id: str):
    site = current_site()

    def render() -> bytes:
        article = Article.find(article_id)
        if article is None:
            raise NotFound(f"There is no article {article_id!r}.")
        if article.withdrawn:
            raise Gone(f"The article {article_id!r} was withdrawn.")
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
    """200 while the database serves reads; else 503, with the reason and Retry-After."""
    reason = unavailable()
    if not reason:
        response = jsonify(status="ok", database="ok")
    else:
        response = jsonify(status="unavailable", database="unreachable", reason=reason)
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response
