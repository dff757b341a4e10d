"""The feed renderer: the one module that imports feedgen, and absorbs its traps.

feedgen's traps, handled here once: datetimes must be aware; add_entry() prepends unless told
order='append'; fe.id() makes an RSS guid with isPermaLink="false"; RSS needs a description; the RSS
<link> comes from the last link set; lastBuildDate and entry updated times default to "now", which
would make every rendering differ (and every ETag with it), so they are always set; and feedgen 1.0
drops every attribute but href from an Atom entry's links, so links other than the alternate one are
written by the _EntryExtras extension instead.
"""

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from .feeds import Feed

ATOM_NS = "http://www.w3.org/2005/Atom"
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
GENERATOR = "Syndication server"  # no version: no banners for scanners


class _FeedExtras(BaseExtension):
    pass


class _EntryExtras(BaseEntryExtension):
    """What feedgen cannot write itself: an RSS item's last change, and Atom links with attributes."""

    def __init__(self):
        self.updated = None
        self.atom_links: list[dict[str, str]] = []

    def extend_rss(self, item):
        # RSS 2.0 has only pubDate; namespaced extension elements are allowed, so atom:updated.
        if self.updated is not None:
            xml_elem(f"{{{ATOM_NS}}}updated", item).text = self.updated.isoformat()
        return item

    def extend_atom(self, entry):
        for attributes in self.atom_links:
            xml_elem("link", entry, **attributes)  # as feedgen writes its own entry elements
        return entry


def render_feed(feed: Feed, items: list, fmt: str) -> bytes:
    if fmt not in MIMETYPES:
        raise ValueError(f"unknown feed format {fmt!r}; known: {', '.join(MIMETYPES)}")
    site = feed.site
    updated = feed.updated(items).astimezone(site.zone)

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
    fg.ttl(site.ttl_minutes)
    fg.link(href=site.url(feed.feed_path(fmt)), rel="self", type=MIMETYPES[fmt])
    fg.link(href=site.url(feed.page_path()), rel="alternate", type="text/html")  # last: the RSS <link>

    for article in items:
        fe = fg.add_entry(order="append")
        fe.id(feed.item_guid(article))  # RSS: <guid isPermaLink="false">
        fe.title(feed.item_title(article))
        fe.link(href=feed.item_link(article), rel="alternate", type="text/html")
        fe.published(feed.item_published(article))
        fe.updated(feed.item_updated(article))
        fe.extras.updated = feed.item_updated(article)
        fe.summary(feed.item_summary(article), type="text")  # RSS <description>
        fe.content(feed.item_content(article), type="html")  # RSS <content:encoded>
        for category in feed.item_categories(article):
            fe.category(term=category.term, label=category.label, scheme=category.scheme)
        if author := feed.item_author(article):
            fe.author({"name": author})
            fe.dc.dc_creator(author)
        if source := feed.item_source(article):
            name, url = source
            if fmt == "rss":
                fe.source(url=url, title=name)
            else:
                # RFC 4287 §4.2.7.2: rel="via" names the resource the entry's information came from.
                fe.extras.atom_links.append({"rel": "via", "href": url, "type": "text/html", "title": name})
    return fg.rss_str(encoding="UTF-8") if fmt == "rss" else fg.atom_str(encoding="UTF-8")
