"""Paged feeds and monthly archives (RFC 5005), read back the way feed readers read them."""

import json
import shutil
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from .conftest import FIXTURES, SITE_URL, article_ids, import_paths

ATOM = "http://www.w3.org/2005/Atom"
HISTORY = "http://purl.org/syndication/history/1.0"
FORMATS = ["rss", "atom", "json"]
XML_FORMATS = ["rss", "atom"]

# The fixture posts, all of January 2026, newest first.
JANUARY = [
    "harbour-dredging-2026",
    "2026-01-13-hostile",
    "2026-01-12-markdown-no-tz",
    "NW202601112030000002",
    "NW202601100900000001",
]

# Seven posts for paging, newest first. The fourth and fifth share their publication time, so the
# boundary between the first and second page (limit 3) falls between two articles of the same time.
SEVEN = [
    ("2026-01-08-lighthouse", "2026-01-08 09:00:00 +0800"),
    ("2026-01-07-regatta", "2026-01-07 09:00:00 +0800"),
    ("2026-01-06-tide-b", "2026-01-06 09:00:00 +0800"),
    ("2026-01-06-tide-a", "2026-01-06 09:00:00 +0800"),
    ("2026-01-05-pier", "2026-01-05 09:00:00 +0800"),
    ("2026-01-04-crane", "2026-01-04 09:00:00 +0800"),
    ("2026-01-03-fog", "2026-01-03 09:00:00 +0800"),
]
NEWEST_SEVEN = [name for name, _ in SEVEN]


def write_post(folder, name, date, title=None, categories=("harbour",), tags=(), body=None):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(
        "---\n"
        f"title: {json.dumps(title or name)}\n"
        f"date: {date}\n"
        f"categories: [{', '.join(categories)}]\n"
        f"tags: [{', '.join(tags)}]\n"
        "---\n"
        f"<p>{body or 'Short report on ' + name + '.'}</p>\n",
        encoding="utf-8",
    )
    return path


def imported(app, *paths):
    report = import_paths(app, *paths)
    assert not report.failures, report.failures
    return report


def relative(url: str) -> str:
    """A link of the feed as a path the test client can fetch."""
    assert url.startswith(SITE_URL + "/"), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fetch(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    return response


def links(data: bytes, fmt: str) -> dict[str, str]:
    """The document's feed-level links, relation → address (JSON Feed: self and next only)."""
    if fmt == "json":
        document = json.loads(data)
        found = {"self": document["feed_url"]}
        if "next_url" in document:
            found["next"] = document["next_url"]
        return found
    root = etree.fromstring(data)
    container = root.find("channel") if fmt == "rss" else root
    found = {}
    for link in container.findall(f"{{{ATOM}}}link"):
        rel = link.get("rel", "alternate")
        assert rel not in found, f"two links with rel={rel}"
        found[rel] = link.get("href")
    return found


def is_archive(data: bytes, fmt: str) -> bool:
    root = etree.fromstring(data)
    container = root.find("channel") if fmt == "rss" else root
    return container.find(f"{{{HISTORY}}}archive") is not None


def one_line_reason(response) -> str:
    text = response.get_data(as_text=True).strip()
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


# -- pages ------------------------------------------------------------------------------------------


@pytest.fixture
def seven(app, tmp_path):
    folder = tmp_path / "posts"
    for name, date in SEVEN:
        write_post(folder, name, date)
    imported(app, folder)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_first_page_links(client, seven, fmt):
    data = fetch(client, f"/feed.{fmt}?limit=3").data
    found = links(data, fmt)
    assert article_ids(data, fmt) == NEWEST_SEVEN[:3]
    assert found["self"] == f"{SITE_URL}/feed.{fmt}?limit=3"
    assert "next" in found
    assert "previous" not in found and "prev" not in found
    if fmt == "json":
        assert "previous" not in json.loads(data) and "prev_url" not in json.loads(data)
    else:
        assert found["first"] == f"{SITE_URL}/feed.{fmt}?limit=3"
        assert "last" in found
        assert not is_archive(data, fmt)  # the subscription document is not an archive


@pytest.mark.parametrize("fmt", FORMATS)
def test_following_next_visits_every_article_once_newest_first(client, seven, fmt):
    path, seen, pages = f"/feed.{fmt}?limit=3", [], 0
    while path:
        data = fetch(client, path).data
        items = article_ids(data, fmt)
        assert 1 <= len(items) <= 3, (path, items)
        seen += items
        pages += 1
        assert pages <= 7, "next links go round in circles"
        found = links(data, fmt)
        assert relative(found["self"]) == path
        path = relative(found["next"]) if "next" in found else None
    assert seen == NEWEST_SEVEN
    assert pages == 3


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_last_page_holds_the_oldest_and_links_back(client, seven, fmt):
    first = links(fetch(client, f"/feed.{fmt}?limit=3").data, fmt)
    data = fetch(client, relative(first["last"])).data
    assert article_ids(data, fmt) == NEWEST_SEVEN[-3:]
    last = links(data, fmt)
    assert "next" not in last
    assert relative(last["first"]) == f"/feed.{fmt}?limit=3"
    assert relative(last["last"]) == relative(first["last"])
    # Its previous page: the three newer neighbours of its newest article (the two of one time included).
    newer = fetch(client, relative(last["previous"])).data
    assert article_ids(newer, fmt) == NEWEST_SEVEN[1:4]


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_previous_from_a_middle_page_gives_the_newer_neighbours(client, seven, fmt):
    first = links(fetch(client, f"/feed.{fmt}?limit=3").data, fmt)
    middle = fetch(client, relative(first["next"])).data
    assert article_ids(middle, fmt) == NEWEST_SEVEN[3:6]
    middle_links = links(middle, fmt)
    assert {"first", "last", "next", "previous"} <= set(middle_links)
    back = fetch(client, relative(middle_links["previous"])).data
    assert article_ids(back, fmt) == NEWEST_SEVEN[:3]
    # A page reached backwards still leads on: its next page is the middle one's items again.
    forward = fetch(client, relative(links(back, fmt)["next"])).data
    assert article_ids(forward, fmt) == NEWEST_SEVEN[3:6]


@pytest.mark.parametrize("fmt", FORMATS)
def test_pages_do_not_shift_when_an_article_arrives(app, client, seven, tmp_path, fmt):
    first = links(fetch(client, f"/feed.{fmt}?limit=3").data, fmt)
    page_two = relative(first["next"])
    before = fetch(client, page_two)
    assert article_ids(before.data, fmt) == NEWEST_SEVEN[3:6]

    imported(app, write_post(tmp_path / "later", "2026-01-20-new-berth", "2026-01-20 09:00:00 +0800"))

    again = fetch(client, page_two)
    assert article_ids(again.data, fmt) == NEWEST_SEVEN[3:6]
    assert article_ids(fetch(client, f"/feed.{fmt}?limit=3").data, fmt) == ["2026-01-20-new-berth", *NEWEST_SEVEN[:2]]


@pytest.mark.parametrize(
    "query",
    [
        "before=yesterday",
        "after=yesterday",
        "before=2026-01-05",
        "after=20260105T010000Z",
        "before=20260105T010000.000000Z~",
        "after=20261305T010000.000000Z~x",
        "before=",
    ],
)
def test_malformed_cursor_is_400_with_a_reason(client, seven, query):
    response = client.get(f"/feed.atom?{query}")
    assert response.status_code == 400
    reason = one_line_reason(response)
    assert query.split("=")[0] in reason


def test_before_and_after_together_is_400(client, seven):
    response = client.get("/feed.rss?after=20260105T010000.000000Z&before=20260107T010000.000000Z")
    assert response.status_code == 400
    reason = one_line_reason(response)
    assert "before" in reason and "after" in reason


def test_repeated_cursor_is_400(client, seven):
    response = client.get("/feed.rss?before=20260105T010000.000000Z&before=20260107T010000.000000Z")
    assert response.status_code == 400
    assert "before" in one_line_reason(response)


# -- archives ---------------------------------------------------------------------------------------


@pytest.fixture
def months(app, good_posts, tmp_path):
    """January 2026 (the fixtures), plus one article in November 2025 and one in March 2026."""
    folder = tmp_path / "posts"
    write_post(folder, "2025-11-20-winter-ferries", "2025-11-20 09:00:00 +0800", tags=("ferries",))
    write_post(folder, "2026-03-05-spring-storms", "2026-03-05 09:00:00 +0800", categories=("weather",))
    imported(app, folder)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_month_archive_holds_every_article_of_the_month(client, months, fmt):
    data = fetch(client, f"/feed/2026-01.{fmt}").data
    assert article_ids(data, fmt) == JANUARY
    assert links(data, fmt)["self"] == f"{SITE_URL}/feed/2026-01.{fmt}"


def test_month_archive_is_not_limited_to_a_page(app, client, tmp_path):
    folder = tmp_path / "many"
    names = [f"2026-01-{day:02d}-notice" for day in range(1, 29)]
    for name in names:
        write_post(folder, name, f"{name[:10]} 12:00:00 +0800")
    imported(app, folder)
    assert len(article_ids(fetch(client, "/feed.atom").data, "atom")) == 20  # the feed's default limit
    assert article_ids(fetch(client, "/feed/2026-01.atom").data, "atom") == names[::-1]


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_month_archive_links_to_current_and_neighbouring_months(client, months, fmt):
    data = fetch(client, f"/feed/2026-01.{fmt}").data
    assert is_archive(data, fmt)
    found = links(data, fmt)
    assert found["current"] == f"{SITE_URL}/feed.{fmt}"
    assert found["prev-archive"] == f"{SITE_URL}/feed/2025-11.{fmt}"
    assert found["next-archive"] == f"{SITE_URL}/feed/2026-03.{fmt}"  # February has none
    assert not {"next", "previous", "first", "last"} & set(found)


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_oldest_and_newest_archives_end_the_chain(client, months, fmt):
    oldest = fetch(client, f"/feed/2025-11.{fmt}").data
    assert article_ids(oldest, fmt) == ["2025-11-20-winter-ferries"]
    assert "prev-archive" not in links(oldest, fmt)
    assert links(oldest, fmt)["next-archive"] == f"{SITE_URL}/feed/2026-01.{fmt}"
    newest = fetch(client, f"/feed/2026-03.{fmt}").data
    assert article_ids(newest, fmt) == ["2026-03-05-spring-storms"]
    assert links(newest, fmt)["prev-archive"] == f"{SITE_URL}/feed/2026-01.{fmt}"
    assert "next-archive" not in links(newest, fmt)


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_subscription_document_points_at_the_newest_month(client, months, fmt):
    data = fetch(client, f"/feed.{fmt}").data
    assert not is_archive(data, fmt)
    assert links(data, fmt)["prev-archive"] == f"{SITE_URL}/feed/2026-03.{fmt}"


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_archive_of_a_month_without_articles_is_empty(client, months, fmt):
    data = fetch(client, f"/feed/2026-02.{fmt}").data
    assert article_ids(data, fmt) == []
    assert is_archive(data, fmt)
    found = links(data, fmt)
    assert found["prev-archive"] == f"{SITE_URL}/feed/2026-01.{fmt}"
    assert found["next-archive"] == f"{SITE_URL}/feed/2026-03.{fmt}"


@pytest.mark.parametrize(
    "path", ["/feed/2026-13.rss", "/feed/26-01.rss", "/feed/2026-00.atom", "/feed/2026-1.json", "/feed/2026-01.xml"]
)
def test_impossible_months_are_404(client, months, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    "query", ["limit=3", "limit=20", "before=20260105T010000.000000Z", "after=20260105T010000.000000Z"]
)
def test_archives_take_no_paging_parameters(client, months, query):
    response = client.get(f"/feed/2026-01.rss?{query}")
    assert response.status_code == 400
    reason = one_line_reason(response)
    assert query.split("=")[0] in reason


def test_category_and_tag_archives_hold_only_their_articles(client, months):
    harbour = fetch(client, "/category/harbour/2026-01.rss").data
    assert article_ids(harbour, "rss") == [
        "harbour-dredging-2026",
        "2026-01-13-hostile",
        "NW202601112030000002",
        "NW202601100900000001",
    ]
    found = links(harbour, "rss")
    assert found["current"] == f"{SITE_URL}/category/harbour.rss"
    assert found["prev-archive"] == f"{SITE_URL}/category/harbour/2025-11.rss"
    assert "next-archive" not in found  # March's article is not filed under harbour

    ferries = fetch(client, "/tag/ferries/2026-01.json").data
    assert article_ids(ferries, "json") == ["harbour-dredging-2026", "NW202601100900000001"]
    assert json.loads(ferries)["feed_url"] == f"{SITE_URL}/tag/ferries/2026-01.json"


def test_archive_months_agree_with_the_links_to_them(app, client, tmp_path):
    # 23:30 UTC on 31 January is 1 February in the site's zone (Asia/Shanghai): wherever the article
    # is filed, the archive the subscription document names must hold it, and only that one.
    imported(app, write_post(tmp_path / "edge", "2026-01-31-midnight", "2026-01-31 23:30:00 +0000"))
    newest = relative(links(fetch(client, "/feed.atom").data, "atom")["prev-archive"])
    assert article_ids(fetch(client, newest).data, "atom") == ["2026-01-31-midnight"]
    other = "/feed/2026-01.atom" if newest == "/feed/2026-02.atom" else "/feed/2026-02.atom"
    assert article_ids(fetch(client, other).data, "atom") == []


def test_cache_control_of_archives_and_subscription_document(client, months):
    ended = fetch(client, "/feed/2026-01.atom").headers["Cache-Control"]
    assert "max-age=604800" in ended.replace(" ", "").split(","), ended
    assert "stale-while-revalidate" in ended
    current = fetch(client, "/feed.atom").headers["Cache-Control"]
    assert "max-age=300" in current.replace(" ", "").split(","), current
    assert "stale-while-revalidate" in current
    # The archive of the month under way may still grow: it is polled like the feed.
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    running = fetch(client, f"/feed/{now:%Y-%m}.atom").headers["Cache-Control"]
    assert "max-age=300" in running.replace(" ", "").split(","), running


# -- conditional GET --------------------------------------------------------------------------------


def edit_title(app, path, old, new):
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert imported(app, path).counts["updated"] == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_conditional_get_of_a_page(app, client, seven, fmt):
    page_two = relative(links(fetch(client, f"/feed.{fmt}?limit=3").data, fmt)["next"])
    first = fetch(client, page_two)
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    not_modified = client.get(page_two, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag

    edit_title(app, seven / "2026-01-05-pier.md", '"2026-01-05-pier"', '"Pier reopens"')
    changed = client.get(page_two, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert b"Pier reopens" in changed.data
    assert article_ids(changed.data, fmt) == NEWEST_SEVEN[3:6]
    assert client.get(page_two, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("fmt", FORMATS)
def test_conditional_get_of_an_archive(app, client, tmp_path, fmt):
    folder = tmp_path / "posts"
    shutil.copytree(FIXTURES / "good", folder)
    post = folder / "2026-01-14-front-matter-id.md"
    imported(app, folder)
    first = fetch(client, f"/feed/2026-01.{fmt}")
    etag = first.headers["ETag"]
    not_modified = client.get(f"/feed/2026-01.{fmt}", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert "max-age=604800" in not_modified.headers["Cache-Control"]

    edit_title(app, post, "Dredging starts in the outer harbour", "Dredging delayed in the outer harbour")
    changed = client.get(f"/feed/2026-01.{fmt}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert b"Dredging delayed" in changed.data
    assert article_ids(changed.data, fmt) == JANUARY
    assert client.get(f"/feed/2026-01.{fmt}", headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304
