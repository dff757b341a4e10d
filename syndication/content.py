"""Article bodies: Markdown and HTML to one sanitized HTML, and what is derived from it."""

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import nh3
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from .text import plain_text, shorten, xml_safe

SUMMARY_LENGTH = 400

# CommonMark passes HTML blocks through untouched, so HTML bodies, Markdown bodies and
# mixtures of both go through the same renderer.
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark",
    "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
}


# A body whose every line opens an HTML block (CommonMark §4.6, start condition 6) is one HTML block
# after another: Markdown would pass it through unchanged, so it is not run (the sample posts' shape).
_HTML_BLOCK_START = re.compile(
    r"[ ]{0,3}</?(?:address|article|aside|blockquote|div|dl|figure|h[1-6]|hr|li|ol|p|pre|section|table|ul)[\s/>]",
    re.IGNORECASE,
)


def _only_html_blocks(source: str) -> bool:
    return all(_HTML_BLOCK_START.match(line) or not line.strip() for line in source.split("\n"))


_URL_SCHEMES = {"http", "https", "mailto"}
_WEB_SCHEMES = {"http", "https"}  # what an image or a quotation's source can be (not mailto:)


def _usable_attribute(element: str, attribute: str, value: str) -> str | None:
    """Every attribute value made XML-safe (entities such as "&#1;" decode to characters XML forbids)
    before its URL is judged, so that what is judged is what is kept. nh3 checks the schemes of href and
    src, not of cite ("javascript:" stayed there); and it keeps relative URLs as they are, even one that
    cannot be resolved ("//[x"), which would fail every output that makes it absolute. Both are dropped."""
    value = xml_safe(value)
    if attribute in ("href", "src", "cite"):
        try:
            scheme = urlsplit(value).scheme  # as browsers read it: tabs and newlines ignored
        except ValueError:
            return None
        if scheme and scheme.lower() not in (_URL_SCHEMES if attribute == "href" else _WEB_SCHEMES):
            return None
    return value


@dataclass
class Body:
    html: str
    first_paragraph: str
    first_image: str


class EmptyBody(ValueError):
    pass


def render_body(source: str, markdown: bool = True) -> Body:
    """Render and sanitize once, at import; the stored HTML is what every output starts from.

    `markdown=False` takes the source as HTML (a partner feed's content): indentation in it is layout,
    not a Markdown code block."""
    # No scripts, no event handlers, no styles (which could hide text), only http(s)/mailto URLs
    # (relative ones stay relative until output, see absolutize).
    clean = nh3.clean(
        source if not markdown or _only_html_blocks(source) else _markdown.render(source),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes={"p": {"em_media"}},
        url_schemes=_URL_SCHEMES,
        clean_content_tags={"script", "style"},
        link_rel="noopener",
        attribute_filter=_usable_attribute,
    )
    clean = xml_safe(clean).strip()  # text too: "&#1;" in it is decoded, and written out as the character
    if not clean:
        raise EmptyBody("the body is empty after sanitizing")
    root = lxml_html.fragment_fromstring(clean, create_parent="div")
    image = next((img.get("src") for img in root.iter("img") if img.get("src")), "")
    if not root.text_content().strip() and not image:
        raise EmptyBody("the body has no text or image after sanitizing")
    first = ""
    for p in root.iter("p"):
        if "em_media" in (p.get("class") or ""):
            continue
        first = plain_text(lxml_html.tostring(p, encoding="unicode"))
        if first:
            break
    return Body(html=clean, first_paragraph=shorten(first or plain_text(clean), SUMMARY_LENGTH), first_image=image)


# Attributes in nh3's output are always double-quoted, so a pattern finds every URL it kept: here,
# the ones without a scheme ("/x", "//host/x", "x.jpg"), which readers would resolve differently.
_RELATIVE_URL = re.compile(r'(\s(?:href|src|cite)=")(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^"]*)"')


def absolutize(fragment: str, base_url: str) -> str:
    """Make every relative URL absolute against the site's public address, for output."""
    return _RELATIVE_URL.sub(
        lambda m: f'{m.group(1)}{absolute_url(html.unescape(m.group(2)), base_url, True)}"', fragment
    )


def absolute_url(url: str, base_url: str, escape: bool = False) -> str:
    """Site-relative URLs ("/x") hang off the site's address as ours do (it may have a path prefix);
    the rest resolve as a browser would on the home page."""
    absolute = base_url + url if url.startswith("/") and not url.startswith("//") else urljoin(base_url + "/", url)
    return html.escape(absolute) if escape else absolute
