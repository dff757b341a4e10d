"""Reading a partner's feed: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by its spec.

Only the parsing lives here: what each entry says, as plain values. syndication/sources.py turns entries
into articles through the importer's own validation and sanitizing path.
"""

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from lxml import etree
from lxml import html as lxml_html

JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_RSS_AUTHOR = re.compile(r"^\s*\S+@\S+\s+\((.+)\)\s*$")  # RSS 2.0 <author>: "desk@paper.example (Mai Lin)"


class FeedError(ValueError):
    """The body is not a feed we can read; the message says why."""


@dataclass
class Entry:
    guid: str  # the entry's own id (RSS guid, Atom id, JSON id); "" when it has none
    title: str
    link: str
    content: str  # HTML: the full content, else the summary
    summary: str  # HTML: the summary when there is full content too, else ""
    published: datetime | None
    updated: datetime | None
    author: str


@dataclass
class ParsedFeed:
    title: str
    entries: list[Entry]


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """The feed in `body`, fetched from `url` (relative links resolve against it)."""
    if "json" in content_type.lower() or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _parse_json(body, url)
    return _parse_xml(body, url, content_type)


# -- XML -------------------------------------------------------------------------------------------


def _parse_xml(body: bytes, url: str, content_type: str) -> ParsedFeed:
    # Entity declarations are how "billion laughs" and external-entity reads start; no real feed needs
    # one, so a feed that declares any is refused before feedparser (which would expand them) sees it.
    try:
        defusedxml.ElementTree.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden):
        raise FeedError("declares XML entities (refused: entity expansion and external entities)") from None
    except ParseError:
        # Not well-formed: feedparser's lenient parser may still read it, but never with declarations.
        if _ENTITY_DECLARATION.search(body):
            raise FeedError("declares XML entities (refused: entity expansion and external entities)") from None
    try:
        parsed = feedparser.parse(
            body, response_headers={"content-location": url, "content-type": content_type or "application/xml"}
        )
    except Exception as e:  # its lenient parser has crashed on hostile input (&#x110000;)
        raise FeedError(f"could not be parsed ({type(e).__name__}: {_one_line(e)})") from None
    if not parsed.entries and not parsed.feed.get("title") and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no channel or feed element"
        raise FeedError(f"is not an RSS or Atom feed ({_one_line(reason)})")
    return ParsedFeed(title=_text(parsed.feed.get("title", "")), entries=[_xml_entry(e) for e in parsed.entries])


def _xml_entry(entry) -> Entry:
    content = _html_of(next(iter(entry.get("content") or []), None))
    summary = _html_of(entry.get("summary_detail"))
    author = entry.get("author", "")
    if m := _RSS_AUTHOR.match(author):  # feedparser's own split cuts long top-level domains short
        author = m.group(1)
    return Entry(
        guid=entry.get("id", ""),
        title=_text(entry.get("title", "")),
        link=entry.get("link", ""),
        content=content or summary,
        summary=summary if content else "",
        # dict.get: FeedParserDict.get would give the published time as "updated" (and warn).
        published=_moment(dict.get(entry, "published_parsed")),
        updated=_moment(dict.get(entry, "updated_parsed")),
        author=_text(author),
    )


def _html_of(detail) -> str:
    if not detail or not detail.get("value"):
        return ""
    value = detail["value"]
    return value if "html" in detail.get("type", "text/html") else _paragraphs(value)


def _moment(parsed) -> datetime | None:
    """feedparser's struct_time, which it has already brought to UTC."""
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


# -- JSON Feed -------------------------------------------------------------------------------------


def _parse_json(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedError(f"is not JSON ({_one_line(e)})") from None
    except RecursionError:
        raise FeedError("is JSON nested too deeply to read") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(JSON_FEED_VERSION):
        raise FeedError(f'is JSON but not a JSON Feed (no "version": "{JSON_FEED_VERSION}1.1")')
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError('is a JSON Feed without an "items" list')
    entries = [_json_entry(item, url) for item in items if isinstance(item, dict)]
    return ParsedFeed(title=_text(_json_string(document, "title")), entries=entries)


def _json_entry(item: dict, feed_url: str) -> Entry:
    link = _json_string(item, "url")
    link = urljoin(feed_url, link) if link else ""
    content = _json_string(item, "content_html") or _paragraphs(_json_string(item, "content_text"))
    summary = html.escape(_json_string(item, "summary"))
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return Entry(
        guid=str(item.get("id", "")) if isinstance(item.get("id"), (str, int)) else "",
        title=_text(_json_string(item, "title")),
        link=link,
        content=_absolute_links(content or summary, link or feed_url),
        summary=summary if content else "",
        published=_rfc3339(_json_string(item, "date_published")),
        updated=_rfc3339(_json_string(item, "date_modified")),
        author=", ".join(names),
    )


def _json_string(obj: dict, key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _rfc3339(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None  # a time without an offset is no time


def _absolute_links(fragment: str, base: str) -> str:
    """JSON Feed leaves relative URLs in content_html to the reader; resolve them against the item."""
    if not fragment.strip():
        return fragment
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment
    root.make_links_absolute(base, resolve_base_href=False, handle_failures="discard")
    return (root.text or "") + "".join(etree.tostring(child, encoding="unicode", method="html") for child in root)


# -- text ------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return " ".join(value.split())


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip())


def _one_line(error: object) -> str:
    return _text(str(error))[:200]
