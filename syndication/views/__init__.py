"""The HTTP layer: blueprints, and errors answered with a reason instead of a stack trace."""

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from .. import security, site
from ..database import UNAVAILABLE, discard, failure_reason
from ..http import RETRY_AFTER, stale_response
from ..metrics import REQUESTS, exposition
from . import api, feeds, pages, stats

# Link words of the page chrome, as the old site wrote them.
LABELS = {
    "zh": {"back_to": "返回{}", "home": "返回首页"},
    "en": {"back_to": "Back to {}", "home": "Back to home"},
}


def _wants_html() -> bool:
    return request.path == "/" or request.path.endswith(".html")


def _error(e: HTTPException):
    if request.path.startswith("/api/"):
        return api.json_error(e)  # API clients get JSON, even for addresses no route matches
    if _wants_html():
        body = render_template("error.html", error=e)
        response = e.get_response()
        response.set_data(body)
        response.content_type = "text/html; charset=utf-8"
        return response
    response = e.get_response()
    response.set_data(f"{e.code} {e.name}: {e.description}\n")
    response.content_type = "text/plain; charset=utf-8"
    return response


def _database_down(e: Exception):
    """The database failed under the request: what this process last rendered for the address
    (stale-if-error), else 503 with Retry-After and the kind of failure, as the route answers errors."""
    discard()
    current_app.logger.warning("%s %s: database unavailable: %s", request.method, request.path, e)
    if request.method in ("GET", "HEAD") and (stale := stale_response()):
        return stale
    reason = failure_reason(e)
    return _error(ServiceUnavailable(f"{reason[0].upper()}{reason[1:]}; try again shortly.", retry_after=RETRY_AFTER))


def init_app(app: Flask) -> None:
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(stats.bp)
    # Flask logs an unhandled exception's trace for the operator, then answers it as a 500 through
    # this same handler: the client gets the one-line reason, never the trace.
    app.register_error_handler(HTTPException, _error)
    for error in UNAVAILABLE:
        app.register_error_handler(error, _database_down)

    app.jinja_env.globals.update(
        share_path=site.share_path,
        category_path=site.category_path,
        tag_path=site.tag_path,
        opml_path=site.opml_path,
    )

    @app.context_processor
    def _labels():
        language = app.config["SYNDICATION_LANGUAGE"].split("-")[0].lower()
        return {"labels": LABELS.get(language, LABELS["en"])}

    @app.after_request
    def _headers(response):
        security.apply(response)
        route = request.url_rule.endpoint if request.url_rule else "unmatched"
        REQUESTS.labels(route, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics():
        body, content_type = exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
