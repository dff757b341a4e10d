"""Settings: defaults, then instance/config.py, then SYNDICATION_* environment variables, then a test mapping."""

import hashlib
import os
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_limit

PREFIX = "SYNDICATION_"

DEFAULTS: dict[str, object] = {
    "SYNDICATION_DATABASE_URL": "",  # empty: sqlite file instance/syndication.db (WAL)
    "SYNDICATION_SITE_URL": "",  # empty: the address each request came to
    "SYNDICATION_SITE_TITLE": "News feeds",
    "SYNDICATION_SITE_DESCRIPTION": "Every article of the site, as it is published.",
    "SYNDICATION_LANGUAGE": "zh-CN",
    "SYNDICATION_TIMEZONE": "Asia/Shanghai",  # for post dates written without an offset
    "SYNDICATION_CACHE_MAX_AGE": 300,  # seconds; also the feeds' <ttl> (in minutes, rounded up)
    "SYNDICATION_FEED_LIMIT": 20,  # items per feed unless ?limit= asks otherwise
    "SYNDICATION_FEED_MAX_LIMIT": 100,
    "SYNDICATION_PAGE_LIMIT": 30,  # articles per HTML listing page
    "SYNDICATION_CACHE_BYTES": 64 * 1024 * 1024,  # rendered feeds and pages kept per worker process
    "SYNDICATION_ARCHIVE_MAX_AGE": 7 * 86400,  # seconds: archives of periods that have ended
    "SYNDICATION_ARCHIVE_MAX_ITEMS": 500,  # articles per archive document: busier months go by day
    "SYNDICATION_TOMBSTONE_DAYS": 30,  # withdrawn articles stay announced in Atom feeds this long
    "SYNDICATION_MEDIA_ROOT": "",  # folder of site-relative files (/uploads/…): enclosure lengths
    "SYNDICATION_WEBSUB_HUB": "",  # a WebSub hub to advertise and ping, e.g. https://hub.example/
    "SYNDICATION_API_MAX_BYTES": 1024 * 1024,  # larger request bodies are refused before they are read
    "SYNDICATION_PUBLIC_CONTENT": "full",  # "summary": full content only for partner tokens
    "SYNDICATION_STATS": "on",  # "off": no subscriber statistics are recorded
    "SYNDICATION_RATELIMIT_STORAGE": "memory://",  # or redis://host:6379/0 to share counters
    "SYNDICATION_RATELIMIT_FEEDS": "1200/minute",  # units per client: a 304 costs 1, a 200 costs 4; "" off
    "SYNDICATION_RATELIMIT_API": "120/minute",  # write API requests per client; "" off
    "SYNDICATION_SOURCE_TIMEOUT": 20,  # seconds for a whole poll of a partner's feed (flask sources fetch)
    "SYNDICATION_SOURCE_MAX_BYTES": 5 * 1024 * 1024,  # a larger feed (after decompression) is refused
    "SYNDICATION_SOURCE_BACKOFF": 900,  # seconds after a first failure; doubles with each, up to a day
}


ARCHIVE_MAX_ITEMS_CEILING = 5000


class ConfigError(ValueError):
    pass


def from_environment(environ=os.environ) -> dict[str, object]:
    """The SYNDICATION_* variables that name a known setting, converted to the default's type."""
    found = {}
    for key, default in DEFAULTS.items():
        if key in environ:
            value = environ[key]
            if isinstance(default, int):
                try:
                    value = int(value)
                except ValueError:
                    raise ConfigError(f"{key}={value!r}: must be a whole number") from None
            found[key] = value
    return found


# Settings that never change a representation (where the data is, how partners' feeds are polled).
_NOT_SHOWN = {
    "SYNDICATION_DATABASE_URL",
    "SYNDICATION_SOURCE_TIMEOUT",
    "SYNDICATION_SOURCE_MAX_BYTES",
    "SYNDICATION_SOURCE_BACKOFF",
    "SYNDICATION_STATS",  # recording polls changes no response
    "SYNDICATION_RATELIMIT_STORAGE",  # budgets decide whether a request is answered, not what it says
    "SYNDICATION_RATELIMIT_FEEDS",
    "SYNDICATION_RATELIMIT_API",
}


def settings_fingerprint(config) -> str:
    """A digest of the settings that shape output: part of every ETag, so a changed setting is a new
    representation."""
    shown = sorted((key, str(config[key])) for key in DEFAULTS if key not in _NOT_SHOWN)
    return hashlib.sha256(repr(shown).encode()).hexdigest()


def validate(config) -> None:
    """Fail at start-up, with the setting's name, rather than on some request later."""
    try:
        ZoneInfo(config["SYNDICATION_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"SYNDICATION_TIMEZONE={config['SYNDICATION_TIMEZONE']!r}: not an IANA time zone name "
            "(e.g. Asia/Shanghai, UTC)"
        ) from None
    site = config["SYNDICATION_SITE_URL"]
    if site:
        parts = urlsplit(site)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(f"SYNDICATION_SITE_URL={site!r}: must be an http(s) address like https://news.example")
    for key in ("SYNDICATION_RATELIMIT_FEEDS", "SYNDICATION_RATELIMIT_API"):
        if config[key]:
            try:
                parse_limit(config[key])
            except ValueError:
                raise ConfigError(f"{key}={config[key]!r}: must look like 600/minute (or be empty: no limit)") from None
    if config["SYNDICATION_PUBLIC_CONTENT"] not in ("full", "summary"):
        raise ConfigError(
            f"SYNDICATION_PUBLIC_CONTENT={config['SYNDICATION_PUBLIC_CONTENT']!r}: must be full or summary"
        )
    if config["SYNDICATION_STATS"] not in ("on", "off"):
        raise ConfigError(f"SYNDICATION_STATS={config['SYNDICATION_STATS']!r}: must be on or off")
    for key in (
        "SYNDICATION_API_MAX_BYTES",
        "SYNDICATION_CACHE_MAX_AGE",
        "SYNDICATION_ARCHIVE_MAX_AGE",
        "SYNDICATION_ARCHIVE_MAX_ITEMS",
        "SYNDICATION_TOMBSTONE_DAYS",
        "SYNDICATION_FEED_LIMIT",
        "SYNDICATION_FEED_MAX_LIMIT",
        "SYNDICATION_PAGE_LIMIT",
        "SYNDICATION_SOURCE_TIMEOUT",
        "SYNDICATION_SOURCE_MAX_BYTES",
        "SYNDICATION_SOURCE_BACKOFF",
    ):
        lowest = 0 if key == "SYNDICATION_TOMBSTONE_DAYS" else 1  # 0 days: no tombstones kept
        if not isinstance(config[key], int) or config[key] < lowest:
            raise ConfigError(f"{key}={config[key]!r}: must be a whole number of at least {lowest}")
    hub = config["SYNDICATION_WEBSUB_HUB"]
    if hub:
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"SYNDICATION_WEBSUB_HUB={hub!r}: must be an http(s) address")
        if not site:
            raise ConfigError("SYNDICATION_WEBSUB_HUB needs SYNDICATION_SITE_URL: the hub is told public addresses")
    age = config["SYNDICATION_CACHE_MAX_AGE"]
    if not ((60 <= age <= 3600 and 3600 % age == 0 and age % 60 == 0) or (age > 3600 and 86400 % age == 0)):
        # <ttl> counts minutes and sy:updateFrequency times per hour or day: other values cannot agree.
        raise ConfigError(
            f"SYNDICATION_CACHE_MAX_AGE={age}: must be whole minutes that divide an hour, or divide a day "
            "(e.g. 60, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)"
        )
    if config["SYNDICATION_ARCHIVE_MAX_ITEMS"] > ARCHIVE_MAX_ITEMS_CEILING:
        # Archive documents are rendered whole: per 1,000 articles ~8 MB of feed and ~50 MB of a worker's memory.
        raise ConfigError(
            f"SYNDICATION_ARCHIVE_MAX_ITEMS={config['SYNDICATION_ARCHIVE_MAX_ITEMS']}: at most "
            f"{ARCHIVE_MAX_ITEMS_CEILING} (larger archive documents take seconds and hundreds of MB to render)"
        )
    if config["SYNDICATION_FEED_LIMIT"] > config["SYNDICATION_FEED_MAX_LIMIT"]:
        raise ConfigError("SYNDICATION_FEED_LIMIT must not exceed SYNDICATION_FEED_MAX_LIMIT")
