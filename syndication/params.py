"""Query parameters shared by feeds and pages; a bad value is a 400 with a one-line reason."""

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from models import Cursor


def limit_param(default_key: str = "SYNDICATION_FEED_LIMIT") -> int:
    """?limit=N, from 1 to the configured maximum."""
    config = current_app.config
    high = config["SYNDICATION_FEED_MAX_LIMIT"]
    values = request.args.getlist("limit")
    if not values:
        return config[default_key]
    if len(values) > 1:
        raise BadRequest("Give limit once.")
    raw = values[0]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
        raise BadRequest(f"limit must be a whole number from 1 to {high}, not {raw[:40]!r}.")
    return int(raw)


def before_param() -> Cursor | None:
    """?before=<cursor>: the articles older than the one the cursor names (keyset paging)."""
    values = request.args.getlist("before")
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest("Give before once.")
    try:
        return Cursor.decode(values[0])
    except ValueError as e:
        raise BadRequest(f"before is not a valid position: {e}.") from None
