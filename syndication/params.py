"""Query parameters shared by feeds and pages; a bad value is a 400 with a one-line reason."""

from dataclasses import dataclass

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from models import Cursor, valid_key


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


@dataclass(frozen=True)
class FeedParams:
    """A feed request's parameters, checked, in canonical form (tag lists sorted, defaults dropped)."""

    any_tags: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # a category feed restricted to these tags
    content: str = ""  # "full" or "summary" when asked for; "" leaves it to the feed's default
    key: str = ""  # a partner token given as ?key= (the Authorization header is read directly)
    limit: int = 20
    before: Cursor | None = None
    after: Cursor | None = None


FEED_PARAMETERS = ("after", "any", "before", "content", "exclude", "key", "limit", "tag")
ARCHIVE_PARAMETERS = ("any", "content", "exclude", "key", "tag")


def _names(name: str) -> tuple[str, ...]:
    raw = request.args[name]
    names = tuple(sorted({n.strip() for n in raw.split(",") if n.strip()}))
    if not names or any(not valid_key(n) for n in names):
        raise BadRequest(f"{name} takes tag names separated by commas, not {raw[:60]!r}.")
    return names


def feed_params(kind: str, archive: bool = False) -> FeedParams:
    """Every parameter known, given once, and valid; anything else is a 400 that says which."""
    known = ARCHIVE_PARAMETERS if archive else FEED_PARAMETERS
    for name in request.args:
        if name not in known:
            raise BadRequest(f"Unknown parameter {name[:40]!r}; this address takes {', '.join(known)}.")
        if len(request.args.getlist(name)) > 1:
            raise BadRequest(f"Give {name} once.")
    if "tag" in request.args and kind != "category":
        raise BadRequest("tag narrows a category feed; for tags together use /tag/a+b.")
    content = request.args.get("content", "")
    if "content" in request.args and content not in ("full", "summary"):
        raise BadRequest(f"content must be full or summary, not {content[:40]!r}.")
    cursors = {}
    for name in ("before", "after"):
        if name in request.args:
            try:
                cursors[name] = Cursor.decode(request.args[name])
            except ValueError as e:
                raise BadRequest(f"{name} is not a valid position: {e}.") from None
    if len(cursors) > 1:
        raise BadRequest("Give before or after, not both.")
    return FeedParams(
        any_tags=_names("any") if "any" in request.args else (),
        exclude=_names("exclude") if "exclude" in request.args else (),
        tags=_names("tag") if "tag" in request.args else (),
        content=content,
        key=request.args.get("key", ""),
        limit=current_app.config["SYNDICATION_FEED_LIMIT"] if archive else limit_param(),
        **cursors,
    )
