"""The feed renderer: turns a page of a feed into RSS 2.0, Atom 1.0 or JSON Feed 1.1 bytes. The one
module that imports feedgen, and absorbs its traps.

feedgen's traps, handled here once: datetimes must be aware; add_entry() prepends unless told
order='append'; fe.id() makes an RSS guid with isPermaLink="false"; RSS needs a description; the RSS
<link> comes from the last link set; lastBuildDate and entry updated times default to "now", which
would make every rendering differ, so they are always set; and feedgen 1.0 drops every attribute but
href from an Atom entry's links (and turns an enclosure into one of those), so entry links other than the
alternate one, and all of RSS's extra elements, are written by the _Extras extension instead.
"""

import json

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from .feeds import Feed, Page

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"  # Media RSS
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
GENERATOR = "Syndication server"  # no version: no banners for scanners
STYLESHEET = "/static/feed.xsl"  # makes a feed opened in a browser readable; readers ignore it


class _FeedExtras(BaseExtension):
    """Feed-level elements feedgen does not write: RFC 5005 links and fh:archive, the syndication
    module's update hints."""

    def __init__(self):
        self.links: list[dict[str, str]] = []
        self.archive = False
        self.update_period = ""
        self.update_frequency = 0
        self.tombstones: list[tuple[str, str]] = []

    def extend_ns(self):
        return {"fh": HISTORY_NS, "media": MEDIA_NS, "sy": SY_NS, "at": TOMBSTONE_NS}

    def extend_rss(self, rss):
        channel = rss[0]
        for attributes in self.links:
            xml_elem(f"{{{ATOM_NS}}}link", channel, **attributes)
        if self.archive:
            xml_elem(f"{{{HISTORY_NS}}}archive", channel)
        if self.update_period:
            xml_elem(f"{{{SY_NS}}}updatePeriod", channel).text = self.update_period
            xml_elem(f"{{{SY_NS}}}updateFrequency", channel).text = str(self.update_frequency)
        return rss

    def extend_atom(self, feed):
        for attributes in self.links:
            xml_elem("link", feed, **attributes)  # as feedgen writes its own Atom elements
        if self.archive:
            xml_elem(f"{{{HISTORY_NS}}}archive", feed)
        for ref, when in self.tombstones:
            # RFC 6721 §2: the entry with this id was removed; aggregators drop their copy.
            xml_elem(f"{{{TOMBSTONE_NS}}}deleted-entry", feed, ref=ref, when=when)
        return feed


class _EntryExtras(BaseEntryExtension):
    def __init__(self):
        self.updated = None
        self.atom_links: list[dict[str, str]] = []
        self.media: list[dict[str, str]] = []
        self.enclosure: dict[str, str] | None = None

    def extend_rss(self, item):
        # RSS 2.0 has only pubDate; namespaced extension elements are allowed, so atom:updated.
        if self.updated is not None:
            xml_elem(f"{{{ATOM_NS}}}updated", item).text = self.updated.isoformat()
        if self.enclosure:
            xml_elem("enclosure", item, **self.enclosure)
        for attributes in self.media:
            xml_elem(f"{{{MEDIA_NS}}}content", item, **attributes)
        return item

    def extend_atom(self, entry):
        for attributes in self.atom_links:
            xml_elem("link", entry, **attributes)  # as feedgen writes its own entry elements
        return entry


def render_feed(feed: Feed, page: Page, fmt: str) -> bytes:
    if fmt == "json":
        return _render_json(feed, page)
    if fmt not in MIMETYPES:
        raise ValueError(f"unknown feed format {fmt!r}; known: {', '.join(MIMETYPES)}")
    site = feed.site
    updated = feed.updated(page.items).astimezone(site.zone)

    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("extras", _FeedExtras, _EntryExtras)
    fg.id(feed.feed_id())
    fg.title(feed.title())
    fg.subtitle(feed.description())  # also the RSS channel <description>, which RSS requires
    fg.author({"name": site.title})  # RFC 4287 §4.1.1: entries without an author inherit this one
    fg.language(site.language)
    fg.generator(GENERATOR)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    # Polling hints that agree: <ttl> (minutes), sy:updatePeriod/Frequency, Cache-Control max-age.
    fg.ttl(site.ttl_minutes)
    fg.extras.update_period, fg.extras.update_frequency = site.update_hint
    fg.link(href=page.links["self"], rel="self", type=MIMETYPES[fmt])
    for rel, href in page.links.items():
        if rel not in ("self", "alternate"):
            fg.extras.links.append({"rel": rel, "href": href, "type": MIMETYPES[fmt] if rel != "hub" else ""})
    fg.extras.links = [{k: v for k, v in link.items() if v} for link in fg.extras.links]
    fg.extras.archive = page.archive
    if fmt == "atom":
        fg.extras.tombstones = [
            (feed.item_guid(a), a.withdrawn.astimezone(site.zone).isoformat()) for a in page.tombstones
        ]
    fg.link(href=page.links["alternate"], rel="alternate", type="text/html")  # last: the RSS <link>

    for article in page.items:
        fe = fg.add_entry(order="append")
        fe.id(feed.item_guid(article))  # RSS: <guid isPermaLink="false">
        fe.title(feed.item_title(article))
        fe.link(href=feed.item_link(article), rel="alternate", type="text/html")
        fe.published(feed.item_published(article))
        fe.updated(feed.item_updated(article))
        fe.extras.updated = feed.item_updated(article)
        fe.summary(feed.item_summary(article), type="text")  # RSS <description>
        if (content := feed.item_content(article)) is not None:
            fe.content(content, type="html")  # RSS <content:encoded>
        for category in feed.item_categories(article):
            fe.category(term=category.term, label=category.label, scheme=category.scheme)
        if author := feed.item_author(article):
            fe.author({"name": author})
            fe.dc.dc_creator(author)
        media = feed.item_media(article)
        for i, m in enumerate(media):
            length = {"length": str(m.length)} if m.length is not None else {}
            if fmt == "rss":
                if i == 0:  # RSS 2.0 allows one enclosure; length is required, 0 when unknown
                    fe.extras.enclosure = {"url": m.url, "length": str(m.length or 0), "type": m.mime_type}
                size = {"fileSize": str(m.length)} if m.length is not None else {}  # Media RSS's name for it
                fe.extras.media.append({"url": m.url, "type": m.mime_type, "medium": "image", **size})
            else:
                fe.extras.atom_links.append({"rel": "enclosure", "href": m.url, "type": m.mime_type, **length})
        if source := feed.item_source(article):
            name, url = source
            if fmt == "rss":
                fe.source(url=url, title=name)
            else:
                # RFC 4287 §4.2.7.2: rel="via" names the resource the entry's information came from.
                fe.extras.atom_links.append({"rel": "via", "href": url, "type": "text/html", "title": name})
    document = fg.rss_str(encoding="UTF-8") if fmt == "rss" else fg.atom_str(encoding="UTF-8")
    # The stylesheet goes right after the XML declaration (XML 1.0 §2.6 processing instruction).
    declaration, _, rest = document.partition(b"?>")
    # Relative: browsers apply only a stylesheet of the document's own origin.
    instruction = f'<?xml-stylesheet type="text/xsl" href="{STYLESHEET}"?>'.encode()
    return declaration + b"?>\n" + instruction + rest


def _render_json(feed: Feed, page: Page) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1), with the same items, ids and dates."""
    site = feed.site
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title(),
        "home_page_url": page.links["alternate"],
        "feed_url": page.links["self"],
        "description": feed.description(),
        "language": site.language,
        "authors": [{"name": site.title}],
    }
    if "next" in page.links:
        document["next_url"] = page.links["next"]  # JSON Feed's only paging link: older items
    if "hub" in page.links:
        document["hubs"] = [{"type": "WebSub", "url": page.links["hub"]}]
    items = []
    for article in page.items:
        item = {
            "id": feed.item_guid(article),
            "url": feed.item_link(article),
            "title": feed.item_title(article),
            "summary": feed.item_summary(article),
            "date_published": feed.item_published(article).isoformat(),
            "date_modified": feed.item_updated(article).isoformat(),
            # Plain strings here (RSS and Atom tell categories from tags by their scheme): each once.
            "tags": list(dict.fromkeys(c.label for c in feed.item_categories(article))),
        }
        content = feed.item_content(article)
        if content is not None:
            item["content_html"] = content
        else:
            item["content_text"] = feed.item_summary(article)
        if author := feed.item_author(article):
            item["authors"] = [{"name": author}]
        if source := feed.item_source(article):
            item["external_url"] = source[1]
        media = feed.item_media(article)
        if media:
            item["image"] = media[0].url
            item["attachments"] = [
                {"url": m.url, "mime_type": m.mime_type, **({"size_in_bytes": m.length} if m.length else {})}
                for m in media
            ]
        items.append(item)
    document["items"] = items
    return json.dumps(document, ensure_ascii=False, indent=1).encode()
