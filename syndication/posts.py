"""Reading one Jekyll-style post file into a Draft: front matter, body, page chrome, identity."""

import re
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from models import Draft, valid_key

from .content import SUMMARY_LENGTH, EmptyBody, render_body
from .dates import parse_post_date
from .text import clean_title, plain_text, shorten, xml_safe

# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PostError(ValueError):
    """A post that cannot be imported; the message says why, in words a publisher can act on, and
    `field` names the front matter key (or "body") it is about, when there is one."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


_JEKYLL_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-")
# The two kinds of page chrome the old site appended after the body.
_SOURCE_LINE = re.compile(r"^\s*<(https?://[^>\s]+)>\s*$")
_NAV_LINE = re.compile(r"^\s*(?:\[[^\]\n]*\]\([^)\s]*\)\s*[｜|]?\s*)+$")
_NAV_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
_CATEGORY_PATH = re.compile(r"/category/([^/]+)\.html$")
_BACK_TO = re.compile(r"^\s*(?:返回|回到|back to)\s*", re.IGNORECASE)
_ATTRIBUTION = re.compile(r'<p class="em_media">(.*?)</p>', re.DOTALL)
_SOURCE_PREFIX = re.compile(r"^(?:文章来源|来源|source)\s*[:：]\s*", re.IGNORECASE)
# Feeds write four-digit years (RFC 3339, RFC 822, the paging cursor), in any zone: a day's margin each side.
_EARLIEST, _LATEST = datetime(1000, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)


def read_post(path: Path, site_zone: tzinfo) -> Draft:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PostError(f"cannot be read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PostError(f"is not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    return parse_post(text, path.name, site_zone, str(path.resolve()))


def parse_post(text: str, filename: str, site_zone: tzinfo, path: str = "") -> Draft:
    meta, body = _split_front_matter(xml_safe(text.lstrip("\ufeff").replace("\r\n", "\n")))
    return draft_from(meta, body, filename, site_zone, path)


def draft_from(
    meta: dict, body: str, filename: str, site_zone: tzinfo, path: str = "", html_body: bool = False
) -> Draft:
    """The one validation and sanitizing path: a post file's front matter and body, the same fields
    sent to the write API, or a partner feed's entry (`html_body`: HTML without the old site's page
    chrome) become a Draft or a PostError."""
    body = xml_safe(body)  # a file's text is made XML-safe whole; the API's fields arrive one by one
    body, source_url, display_names = (body, "", {}) if html_body else _strip_chrome(body)
    source_url = _web_address(_string(meta, "source_url") or source_url, "source_url", relative=False)
    if not body.strip():
        raise PostError("has an empty body", "body")

    title = clean_title(_string(meta, "title"))
    if not title:
        raise PostError("has no title (add 'title:' to the front matter)", "title")
    published = _date(meta, filename, site_zone)
    updated = None
    for key in ("last_modified_at", "updated"):
        if meta.get(key) is not None:
            updated = _parse_date(meta[key], key, site_zone)
            break

    try:
        rendered = render_body(body, markdown=not html_body)
    except EmptyBody as e:
        raise PostError(f"has an empty body ({e})", "body") from None
    attribution = _ATTRIBUTION.search(rendered.html)
    excerpt = _string(meta, "excerpt")
    categories = _names(meta, "categories", "category")
    return Draft(
        id=_article_id(meta, source_url, filename),
        title=title,
        published=published,
        updated=updated,
        body=rendered.html,
        summary=shorten(plain_text(excerpt), SUMMARY_LENGTH) if excerpt else rendered.first_paragraph,
        categories=[(slug, display_names.get(slug)) for slug in categories],
        tags=_names(meta, "tags", "tag"),
        author=_author(meta),
        source_name=_SOURCE_PREFIX.sub("", plain_text(attribution.group(1)).strip("（）() ")) if attribution else "",
        source_url=source_url,
        image=_web_address(_string(meta, "image"), "image") or rendered.first_image,
        path=path,
    )


def _split_front_matter(text: str) -> tuple[dict, str]:
    lines = text.split("\n")
    if lines[0].strip() != "---":
        raise PostError("has no front matter (the file must start with a '---' line)")
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise PostError("has front matter that is never closed by a '---' line")
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())  # one line, as every reason
        raise PostError(f"has broken YAML front matter{where}: {problem}") from None
    except (ValueError, TypeError, AttributeError) as e:
        # PyYAML's constructors fail so on explicit tags that do not fit their value ("!!timestamp 'x'").
        raise PostError(f"has YAML front matter that cannot be read: {type(e).__name__}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise PostError("has front matter that is not a set of 'key: value' lines")
    return meta, "\n".join(lines[end + 1 :])


def _strip_chrome(body: str) -> tuple[str, str, dict[str, str]]:
    """Remove the trailing source-link and navigation lines; return what they said."""
    lines = body.rstrip().split("\n")
    source_url, names = "", {}
    while lines:
        line = lines[-1]
        if not line.strip():
            lines.pop()
        elif m := _SOURCE_LINE.match(line):
            source_url = source_url or m.group(1)
            lines.pop()
        elif _NAV_LINE.match(line):
            for text, url in _NAV_LINK.findall(line):
                try:
                    path = urlsplit(url).path
                except ValueError:  # "[x](http://[y)": not an address, so it names no category
                    continue
                if m := _CATEGORY_PATH.search(path):
                    names.setdefault(m.group(1), clean_title(_BACK_TO.sub("", text)) or m.group(1))
            lines.pop()
        else:
            break
    return "\n".join(lines), source_url, names


def _article_id(meta: dict, source_url: str, filename: str) -> str:
    """DESIGN.md 'Article identity': the source link's infoCode, else front matter id, else file name."""
    candidates = [
        ("the source link's infoCode", (parse_qs(urlsplit(source_url).query).get("infoCode") or [""])[0]),
        ("front matter 'id'", str(_scalar(meta, "id") or "")),
        ("the file name", Path(filename).stem),
    ]
    for where, value in candidates:
        if value:
            if not valid_key(value):
                raise PostError(
                    f"has an unusable id {value[:100]!r} from {where} (letters, digits, '.', '_', '-')", "id"
                )
            return value
    raise PostError("has no id")


def _date(meta: dict, filename: str, site_zone: tzinfo):
    if _scalar(meta, "date") is not None:
        return _parse_date(meta["date"], "date", site_zone)
    if m := _JEKYLL_NAME.match(filename):
        return _parse_date(m.group(1), "the file name's date", site_zone)
    raise PostError("has no date (add 'date:' to the front matter or name the file YYYY-MM-DD-title.md)", "date")


def _parse_date(value, key: str, site_zone: tzinfo):
    field = key.split()[-1] if " " in key else key
    if isinstance(value, (dict, list)):
        raise PostError(f"has a {key} that is a {type(value).__name__}, not a date", field)
    try:
        moment = parse_post_date(value, site_zone)
    except ValueError as e:
        raise PostError(f"has a {key} that cannot be read: {str(e)[:200]}", field) from None
    if not _EARLIEST <= moment <= _LATEST:
        raise PostError(f"has a {key} outside the years 1000 to 9999", field)
    offset = moment.astimezone(site_zone).utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        # Local mean time, before the zone had a standard offset: RFC 3339 and RFC 822 cannot write it.
        raise PostError(f"has a {key} from before the site's time zone had an offset in whole minutes", field)
    return moment


def _scalar(meta: dict, key: str):
    """The value, refused when it is a list or mapping: never turned into text, since YAML aliases can
    make a small file a list of a billion items."""
    value = meta.get(key)
    if isinstance(value, (dict, list)):
        raise PostError(f"has a '{key}' that is a {type(value).__name__}, not text", key)
    return value


def _string(meta: dict, key: str) -> str:
    value = _scalar(meta, key)
    return "" if value is None else xml_safe(str(value)).strip()


def _web_address(url: str, key: str, relative: bool = True) -> str:
    """An http(s) address, or (`relative`) one relative to the site, made absolute on output; nothing a
    reader would run (javascript:, data:, vbscript:) or could not resolve."""
    try:
        parts = urlsplit(url)  # as browsers do, ignores tabs and newlines: "java\tscript:" is javascript:
    except ValueError as e:
        raise PostError(f"has a '{key}' value that is not a usable address ({e})", key) from None
    scheme = parts.scheme.lower()
    if url and not (scheme in ("http", "https") or (relative and not scheme)):
        raise PostError(f"has a '{key}' value that is not an http(s) address: {url[:100]!r}", key)
    return url


def _names(meta: dict, plural: str, singular: str) -> list[str]:
    """Categories or tags: a list, or (as Jekyll reads it) a string of space-separated names."""
    value = meta.get(plural, meta.get(singular))
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
        raise PostError(f"has '{plural}' that is neither a name nor a list of names", plural)
    names = []
    for v in value:
        name = str(v).strip()
        if not valid_key(name):
            raise PostError(
                f"has an unusable name {name[:100]!r} in '{plural}' (letters, digits, '.', '_', '-')", plural
            )
        if name not in names:
            names.append(name)
    return names


def _author(meta: dict) -> str:
    author = meta.get("author")
    if isinstance(author, dict):
        author = author.get("name")
    if isinstance(author, (dict, list)):
        raise PostError(f"has an 'author' that is a {type(author).__name__}, not a name", "author")
    return clean_title(str(author)) if author else ""
