"""Reading post dates and writing times for feeds and pages. Every datetime here is aware."""

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime

# Jekyll's forms: "2021-12-24 08:37:25 +0800", "2026-03-05 07:30", ISO 8601 with T and Z or ±hh:mm.
_POST_DATE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_post_date(value: object, site_zone: tzinfo) -> datetime:
    """A front matter date as an aware datetime; without an offset it is read in the site's zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=site_zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=site_zone)
    if not isinstance(value, str):
        raise ValueError(f"date {value!r} is not a date")
    m = _POST_DATE.match(value.strip())
    if not m:
        raise ValueError(f"date {value!r} is not of the form 2026-03-05 07:30:00 +0800")
    try:
        day = date.fromisoformat(m["date"])
        hour, minute, *second = (m["time"] or "0:0").split(":")
        seconds = float(second[0]) if second else 0.0
        return datetime(
            day.year, day.month, day.day, int(hour), int(minute), int(seconds),
            round((seconds % 1) * 1_000_000), tzinfo=_zone(m["zone"]) or site_zone,
        )  # fmt: skip
    except ValueError as e:
        raise ValueError(f"date {value!r} cannot be read: {e}") from None


def _zone(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {text} out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def rfc822(moment: datetime) -> str:
    """RFC 822 as RSS 2.0 and OPML 2.0 want it (with a four-digit year, RFC 1123)."""
    return format_datetime(moment)


def http_date(moment: datetime) -> str:
    """RFC 9110 §5.6.7 IMF-fixdate."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
