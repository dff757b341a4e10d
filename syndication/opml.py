"""The OPML 2.0 index of every feed (http://opml.org/spec2.opml), grouped by kind."""

from datetime import datetime

from lxml import etree

from .dates import rfc822
from .feeds import Feed

GROUPS = (("site", "Site"), ("category", "Categories"), ("tag", "Tags"))


def render_opml(feeds: list[Feed], fmt: str, created: datetime, modified: datetime, self_url: str) -> bytes:
    site = feeds[0].site
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title}: all feeds"
    etree.SubElement(head, "dateCreated").text = rfc822(created.astimezone(site.zone))
    etree.SubElement(head, "dateModified").text = rfc822(modified.astimezone(site.zone))
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    etree.SubElement(head, "ownerName").text = site.title
    etree.SubElement(head, "urlPublic").text = self_url
    body = etree.SubElement(root, "body")
    for kind, label in GROUPS:
        members = [f for f in feeds if f.kind == kind]
        if not members:
            continue
        group = etree.SubElement(body, "outline", text=label, title=label)
        for feed in members:
            etree.SubElement(
                group,
                "outline",
                type="rss",  # OPML 2.0 §"Subscription lists": type "rss" whatever the feed's format
                text=feed.title(),
                title=feed.title(),
                description=feed.description(),
                htmlUrl=site.url(feed.page_path()),
                xmlUrl=site.url(feed.feed_path(fmt)),
                language=site.language,
            )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
