"""/stats: followers of each feed per UTC day (as `flask stats` prints them) and a chart, for a partner
token (its categories' feeds when it is limited to some) or an admin token (every feed)."""

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import unquote, urlencode

from flask import Blueprint, make_response, render_template, request
from werkzeug.exceptions import BadRequest, Forbidden

from models import utc_now
from models.stats import FeedDay, SubscriberCount, report

from ..auth import require_token
from ..feeds import FORMATS
from ..site import current_site, feed_path
from ..stats import feed_address

bp = Blueprint("stats", __name__)

DEFAULT_DAYS = 30
MAX_DAYS = 366
PARAMETERS = {"days", "feed", "key"}


@dataclass(frozen=True)
class Bar:
    day: date
    subscribers: int
    pollers: int
    x: float
    width: float
    subscribers_y: float
    subscribers_height: float
    pollers_y: float
    pollers_height: float


@dataclass(frozen=True)
class Chart:
    """A stacked bar per day, in SVG user units: drawn by the template as plain shapes (no script, no
    style attributes: HTML pages are served under a strict Content-Security-Policy)."""

    width: int
    height: int
    left: int
    baseline: float
    top: float
    bars: list[Bar]
    grid: list[tuple[float, str]]  # (y, label)
    labels: list[tuple[float, str]]  # (x, day) under the bars


def _scale_top(largest: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at least `largest` (at least 1): round numbers on the axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return step * factor
        step *= 10


def daily_chart(rows: list[FeedDay], since: date, until: date, width: int = 720, height: int = 220) -> Chart:
    """Subscribers reported by aggregators and other pollers, each day from `since` to `until`, summed
    over the feeds in `rows`."""
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    totals = {day: [0, 0] for day in days}
    for row in rows:
        if row.day in totals:
            totals[row.day][0] += row.subscribers
            totals[row.day][1] += row.pollers
    left, top, bottom = 56, 10, 24
    baseline = height - bottom
    top_value = _scale_top(max((s + p for s, p in totals.values()), default=0))
    unit = (baseline - top) / top_value
    slot = (width - left) / len(days)
    bars = []
    for n, day in enumerate(days):
        subscribers, pollers = totals[day]
        x = left + n * slot + slot * 0.1
        subscribers_height = subscribers * unit
        pollers_height = pollers * unit
        bars.append(
            Bar(
                day,
                subscribers,
                pollers,
                round(x, 2),
                round(slot * 0.8, 2),
                round(baseline - subscribers_height, 2),
                round(subscribers_height, 2),
                round(baseline - subscribers_height - pollers_height, 2),
                round(pollers_height, 2),
            )
        )
    grid = [(round(baseline - value * unit, 2), f"{value:,}") for value in (0, top_value // 2, top_value)]
    shown = sorted({0, len(days) // 2, len(days) - 1})
    half_label = 34  # half a "2026-11-27" at 11 px: a label under the first or last bar stays inside the chart
    labels = [
        (round(min(max(left + (n + 0.5) * slot, left + half_label), width - half_label), 2), days[n].isoformat())
        for n in shown
    ]
    return Chart(width, height, left, baseline, top, bars, grid, labels)


def _int_param(name: str, default: int, lowest: int, highest: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not lowest <= int(text) <= highest:
        raise BadRequest(f"{name} must be a whole number from {lowest} to {highest}.")
    return int(text)


@bp.get("/stats")
def stats_page():
    token = require_token("partner", "admin")
    if unknown := sorted(set(request.args) - PARAMETERS):
        raise BadRequest(f"Unknown parameter {unknown[0]!r}: this page takes days, feed and key.")
    if any(len(request.args.getlist(name)) > 1 for name in request.args):
        raise BadRequest("Each parameter may be given once.")
    days = _int_param("days", DEFAULT_DAYS, 1, MAX_DAYS)
    # A partner limited to some categories sees those categories' feeds; anyone else every feed.
    visible = None
    if token.scope != "admin" and token.category_list:
        visible = [unquote(feed_path("category", (slug,), fmt)) for slug in token.category_list for fmt in FORMATS]
    feeds = visible
    feed = ""
    if (chosen := request.args.get("feed")) is not None:
        feed = feed_address(chosen) or ""
        if not feed:
            raise BadRequest("feed must be a feed address, like /feed.rss or /category/<slug>.atom.")
        if visible is not None and feed not in visible:
            raise Forbidden(f"This token sees the feeds of {', '.join(token.category_list)} only.")
        feeds = [feed]

    until = utc_now().date()
    since = until - timedelta(days=days - 1)
    rows = report(since, feeds)
    latest = rows[0].day if rows else until
    key = request.args.get("key")

    def link(**params: str) -> str:
        """This page with other parameters (and the key it was opened with, for readers of ?key=)."""
        query = {"days": str(days) if days != DEFAULT_DAYS else "", "feed": feed, **params, "key": key or ""}
        encoded = urlencode([(k, v) for k, v in query.items() if v], safe="/")
        return "/stats" + (f"?{encoded}" if encoded else "")

    body = render_template(
        "stats.html",
        site=current_site(),
        rows=rows,
        chart=daily_chart(rows, since, until),
        latest=latest,
        aggregators=SubscriberCount.by_aggregator(latest, feeds),
        days=days,
        since=since,
        until=until,
        feed=feed,
        link=link,
    )
    response = make_response(body)
    response.content_type = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-store"
    return response
