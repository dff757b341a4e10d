"""Subscriber counts that aggregators report in their User-Agent.

Hosted feed readers poll a feed once for all their users and say how many follow it, each in its own
words: "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )", "Feedbin feed-id:1697787 -
102 subscribers", "Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=cead6c…)", "… 2 readers",
"… users 10; views 0". There is no standard, so this reads the count, the aggregator's name and its feed id
(an aggregator that knows one address under two subscriptions, http and https say, polls with two ids).

The header is the client's to write: anything may arrive. Long agents are cut, control characters and
absurd counts make an agent count as one that reports nothing, and a name read from an unknown agent is
cut to a short run of plain characters, so what is stored stays small and printable.
"""

import re

MAX_AGENT = 1024  # characters read; real agents that carry counts are far shorter
MAX_SUBSCRIBERS = 100_000_000  # more than any aggregator has users: larger is a made-up number
MAX_NAME = 40
MAX_FEED_ID = 64

# "123 subscribers", "1 subscriber", "3 subscriber(s)", "2 readers", "1 Readers"; or Yahoo's "users 10".
# Digits are bounded on both sides so that a 30-digit number is no number at all, not its last nine digits.
_COUNT = re.compile(
    r"(?<![\w.,+-])([0-9]{1,9})\s+(?:subscribers?|subscriber\(s\)|readers?)(?!\w)|(?<!\w)users\s+([0-9]{1,9})(?![\w.,])",
    re.IGNORECASE,
)
# "feed-id=1234", "feed-id:1234", "feedID: 6639445"; NewsBlur names its site page ".../site/7704055/...".
_FEED_ID = re.compile(r"feed-?id\s*[=:]\s*([A-Za-z0-9_-]{1,64})|newsblur\.com/site/([0-9]{1,20})", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# Aggregators known by name, however they spell it ("NewsGatorOnline", "inoreader.com"); the leftmost
# mention names the agent (Feedspot and Feedly both say "like FeedFetcher-Google" after their own name).
_KNOWN = {
    "feedly": "Feedly",
    "inoreader": "Inoreader",
    "newsblur": "NewsBlur",
    "feedbin": "Feedbin",
    "theoldreader": "The Old Reader",
    "bazqux": "BazQux",
    "feedhq": "FeedHQ",
    "netvibes": "Netvibes",
    "bloglovin": "Bloglovin",
    "newsgator": "NewsGator",
    "feedspot": "Feedspot",
    "feed wrangler": "Feed Wrangler",
    "feedwrangler": "Feed Wrangler",
    "superfeedr": "Superfeedr",
    "feedfetcher-google": "Google Feedfetcher",
    "bloglines": "Bloglines",
    "livejournal": "LiveJournal",
    "dreamwidth": "Dreamwidth",
    "yahoofeedseeker": "Yahoo",
    "overcast": "Overcast",
    "rojo": "Rojo",
    "kinjabot": "Kinja",
    "tiny tiny rss": "Tiny Tiny RSS",
    "miniflux": "Miniflux",
}
_KNOWN_NAME = re.compile(r"(?<![a-z])(" + "|".join(re.escape(k) for k in _KNOWN) + ")", re.IGNORECASE)
# Otherwise the first product token that is not a browser's ("Foo/1.2"), or what "(compatible; X…" names.
_PRODUCT = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,39})/[0-9]")
_COMPATIBLE = re.compile(r"\(compatible;\s*([A-Za-z][\w .-]{0,39})", re.IGNORECASE)
_BROWSER_TOKENS = {"mozilla", "applewebkit", "khtml", "gecko", "chrome", "safari", "version", "firefox", "mobile"}
_UNSAFE = re.compile(r"[^\w .-]+")


def subscribers(user_agent: str) -> tuple[str, str, int] | None:
    """(aggregator, feed id or "", subscriber count) when the agent reports a count, else None."""
    if not isinstance(user_agent, str) or not user_agent:
        return None
    agent = user_agent[:MAX_AGENT]
    if _CONTROL.search(agent):
        return None  # HTTP allows none of these in a header value: not an honest agent
    counts = _COUNT.findall(agent)
    if len(counts) != 1:
        return None  # none, or several that contradict each other
    count = int(counts[0][0] or counts[0][1])
    if count > MAX_SUBSCRIBERS:
        return None
    found = _FEED_ID.search(agent)
    feed_id = (found.group(1) or found.group(2))[:MAX_FEED_ID] if found else ""
    return _aggregator(agent), feed_id, count


def _aggregator(agent: str) -> str:
    if known := _KNOWN_NAME.search(agent):
        return _KNOWN[known.group(1).lower()]
    for match in _PRODUCT.finditer(agent):
        if match.group(1).lower() not in _BROWSER_TOKENS:
            return _clean(match.group(1))
    if compatible := _COMPATIBLE.search(agent):
        return _clean(compatible.group(1))
    return _clean(agent.split("(", 1)[0].split(" - ", 1)[0])


def _clean(name: str) -> str:
    return _UNSAFE.sub(" ", name).strip()[:MAX_NAME].strip() or "unknown"
