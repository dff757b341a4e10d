"""The write API (JSON over HTTP, /api/v1): partners create, read and withdraw articles.

Articles sent here go through exactly the path post files take (syndication.posts.draft_from): the same
input gives the same article, and the same mistakes the same words. Errors are JSON:
{"error": "...", "field": "..."}.
"""

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, Gone, HTTPException, NotFound, UnsupportedMediaType

from models import IMPORTED, Article, valid_key

from ..auth import require_token
from ..http import check_budget
from ..openapi import document
from ..posts import PostError, draft_from
from ..site import current_site, share_path

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# What a post's front matter may say (README, "Importing your own posts"), plus the body.
FIELDS = {
    "title", "date", "updated", "last_modified_at", "categories", "category", "tags", "tag", "author",
    "excerpt", "image", "source_url", "body",
}  # fmt: skip


class Invalid(HTTPException):
    code = 422
    description = "The article is not valid."

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@bp.errorhandler(HTTPException)
def json_error(e: HTTPException):
    response = jsonify(error=e.description, field=getattr(e, "field", "") or None)
    response.status_code = e.code
    original = e.get_response()
    for name in ("WWW-Authenticate", "Allow", "Retry-After"):
        if name in original.headers:
            response.headers[name] = original.headers[name]
    if e.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="syndication"'
    return response


def _checked_id(article_id: str) -> str:
    if not valid_key(article_id):
        raise NotFound(f"There is no article {article_id[:100]!r}.")
    return article_id


def _as_json(article: Article) -> dict:
    site = current_site()
    return {
        "id": article.id,
        "url": site.url(share_path(article.id)),
        "title": article.title,
        "date": article.published.astimezone(site.zone).isoformat(),
        "updated": article.updated.astimezone(site.zone).isoformat(),
        "categories": [c.slug for c in article.categories],
        "tags": article.tags,
        "author": article.author,
        "excerpt": article.summary,
        "image": article.image,
        "source_url": article.source_url,
        "source_name": article.source_name,
        "body": article.body,
    }


@bp.before_request
def _budget() -> None:
    check_budget("api")


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.put("/articles/<article_id>")
def put_article(article_id: str):
    """Create or replace an article; sending the same twice changes nothing the second time."""
    require_token("write")
    article_id = _checked_id(article_id)
    if not request.is_json:
        raise UnsupportedMediaType("Send the article as application/json.")
    try:
        data = request.get_json(silent=True)  # the size was checked before reading (MAX_CONTENT_LENGTH)
    except RecursionError:
        raise BadRequest("The body is JSON nested too deeply to read.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body is not a JSON object.")
    for key in data:
        if key not in FIELDS:
            raise Invalid(f"Unknown field {key[:60]!r}; an article has {', '.join(sorted(FIELDS))}.", key)
    body = data.get("body")
    if not isinstance(body, str):
        raise Invalid("The article has no body (a string of HTML or Markdown).", "body")
    meta = {key: value for key, value in data.items() if key != "body"} | {"id": article_id}
    zone = ZoneInfo(current_app.config["SYNDICATION_TIMEZONE"])
    try:
        draft = draft_from(meta, body, f"{article_id}.md", zone)
    except PostError as e:
        raise Invalid(f"The article {e}", e.field) from None
    if draft.id != article_id:
        raise Invalid(f"The body's source link names article {draft.id!r}, not {article_id!r}.", "body")
    outcome = Article.store(draft)
    response = jsonify(_as_json(Article.find(article_id)))
    response.status_code = 201 if outcome == IMPORTED else 200
    response.headers["Location"] = request.path
    return response


@bp.get("/articles/<article_id>")
def get_article(article_id: str):
    require_token("write", "partner")
    article = Article.find(_checked_id(article_id))
    if article is None:
        raise NotFound(f"There is no article {article_id!r}.")
    if article.withdrawn:
        raise Gone(f"The article {article_id!r} was withdrawn.")
    return jsonify(_as_json(article))


@bp.delete("/articles/<article_id>")
def delete_article(article_id: str):
    """Withdraw it, as `flask delete-post` does; withdrawing it again changes nothing."""
    require_token("write")
    if Article.find(_checked_id(article_id)) is None:
        raise NotFound(f"There is no article {article_id!r}.")
    Article.withdraw([article_id])
    return "", 204
