"""Plain-text hygiene: what may appear in XML, and titles that carry no markup."""

import html
import re

# XML 1.0 §2.2 Char: everything else (most C0 controls, lone surrogates, U+FFFE/U+FFFF) is forbidden.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Names of HTML elements. A title is plain text, but some readers render RSS titles as HTML, so
# anything that an HTML parser would take for an element is removed; other angle-bracket text
# ("<level 2>") is kept and escaped on output like any character.
_HTML_ELEMENTS = frozenset(
    [
        "a",
        "abbr",
        "address",
        "area",
        "article",
        "aside",
        "audio",
        "b",
        "base",
        "bdi",
        "bdo",
        "blockquote",
        "body",
        "br",
        "button",
        "canvas",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "data",
        "datalist",
        "dd",
        "del",
        "details",
        "dfn",
        "dialog",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "fieldset",
        "figcaption",
        "figure",
        "font",
        "footer",
        "form",
        "frame",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "i",
        "iframe",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "legend",
        "li",
        "link",
        "main",
        "map",
        "mark",
        "marquee",
        "math",
        "menu",
        "meta",
        "meter",
        "nav",
        "noscript",
        "object",
        "ol",
        "optgroup",
        "option",
        "output",
        "p",
        "param",
        "picture",
        "pre",
        "progress",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "script",
        "section",
        "select",
        "slot",
        "small",
        "source",
        "span",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "svg",
        "table",
        "tbody",
        "td",
        "template",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "time",
        "title",
        "tr",
        "track",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
    ]
)
# What an HTML parser takes for a tag: '<' or '</' and a letter; the name runs to a space, '/' or '>', and
# attributes may follow either of the first two. At the very end a tag need not be closed.
_TAG = re.compile(r"</?([A-Za-z][^\s/>]*)([\s/][^>]*)?(?:>|$)")
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_BLOCK_BOUNDARY = re.compile(r"<(?:br|hr|/?p|/?li|/?h[1-6]|/?div|/?blockquote|/?tr|/?td|/?th|/?pre)\b[^>]*>", re.I)
_INLINE_TAG = re.compile(r"<[^>]*>")


def xml_safe(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def _markup(m: re.Match) -> str:
    """A tag of an HTML element, or any tag with an attribute value ("<x onclick=...>"), goes."""
    return "" if m.group(1).lower() in _HTML_ELEMENTS or "=" in (m.group(2) or "") else m.group(0)


def _without_markup(text: str) -> str:
    """Text that stays text when a reader renders it as HTML. Repeated until nothing changes: removing
    one tag can join the pieces of another ("<<a>x onclick=...>")."""
    while True:
        cleaned = _TAG.sub(_markup, _SCRIPT_OR_STYLE.sub("", text))
        if cleaned == text:
            return cleaned
        text = cleaned


def clean_title(raw: str) -> str:
    """A one-line, markup-free title: HTML elements (and script or style contents) are removed."""
    return _SPACE.sub(" ", _without_markup(xml_safe(raw))).strip()


def plain_text(fragment: str) -> str:
    """Text of an HTML fragment on one line, entities decoded (and markup they spelled removed: RSS
    descriptions are HTML to most readers)."""
    # Block boundaries become spaces; inline tags vanish (CJK text has no spaces to keep around them).
    text = _SCRIPT_OR_STYLE.sub("", fragment)
    text = _INLINE_TAG.sub("", _BLOCK_BOUNDARY.sub(" ", text))
    return _SPACE.sub(" ", _without_markup(xml_safe(html.unescape(text)))).strip()


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Prefer a word boundary when the text has words (Chinese text has none to find).
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"
