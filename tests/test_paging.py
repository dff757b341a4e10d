"""Paged feeds and monthly archives (RFC 5005), read back the way feed readers read them."""

import json
import re
import shutil
from datetime import datetime, timedelta
from itertools import pairwise
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from models import Token, db
from syndication.config import DEFAULTS, ConfigError, validate

from .conftest import FIXTURES, SITE_URL, article_ids, fresh_schema, import_paths, make_app

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


# -- archives of busy periods -----------------------------------------------------------------------

MAX_ITEMS = 5  # SYNDICATION_ARCHIVE_MAX_ITEMS for the busy site below


def busy_posts():
    """(name, date, tags) of a site where January 2026 is too busy for one archive document of five
    (twenty articles), 5 January too busy for one day document (twelve: three parts), 6 January exactly
    full (five), and the months around it small. Newest first."""
    posts = [("2026-02-14-valentine-ferry", "2026-02-14 09:00:00 +0800", ())]
    posts += [("2026-02-02-ice", "2026-02-02 09:00:00 +0800", ()), ("2026-02-01-thaw", "2026-02-01 09:00:00 +0800", ())]
    posts += [("2026-01-20-quiet", "2026-01-20 09:00:00 +0800", ("calm",))]
    posts += [(f"2026-01-06-full-{n}", f"2026-01-06 {10 + n}:00:00 +0800", ()) for n in range(5, 0, -1)]
    # Twelve on 5 January, one each hour; the fifth and sixth oldest share their time, so the boundary
    # between the first and the second part falls between two articles published at the same moment.
    hours = [20, 19, 18, 17, 16, 15, 14, 13, 12, 12, 11, 10]
    posts += [
        (f"2026-01-05-storm-{n:02d}", f"2026-01-05 {h}:00:00 +0800", ("storm",))
        for n, h in zip(range(12, 0, -1), hours, strict=True)
    ]
    posts += [("2026-01-03-fog-b", "2026-01-03 18:00:00 +0800", ("calm",))]
    posts += [("2026-01-03-fog-a", "2026-01-03 08:00:00 +0800", ("calm",))]
    posts += [("2025-11-20-ferries", "2025-11-20 09:00:00 +0800", ("calm",))]
    posts += [("2025-11-10-buoys", "2025-11-10 09:00:00 +0800", ())]
    return posts


BUSY = [name for name, _, _ in busy_posts()]
# The archive documents, newest first, as prev-archive visits them: each month whole, but January by day,
# and 5 January in parts (oldest first: part 1 holds the day's five oldest articles).
BUSY_CHAIN = [
    ("2026-02", BUSY[:3]),
    ("2026-01-20", BUSY[3:4]),
    ("2026-01-06", BUSY[4:9]),
    ("2026-01-05/3", BUSY[9:11]),
    ("2026-01-05/2", BUSY[11:16]),
    ("2026-01-05/1", BUSY[16:21]),
    ("2026-01-03", BUSY[21:23]),
    ("2025-11", BUSY[23:25]),
]


@pytest.fixture
def busy(database_url, tmp_path):
    """An app whose archive documents hold at most five articles, with busy_posts() imported."""
    app = make_app(database_url, SYNDICATION_ARCHIVE_MAX_ITEMS=MAX_ITEMS)
    fresh_schema(app)
    folder = tmp_path / "busy"
    for name, date, tags in busy_posts():
        write_post(folder, name, date, tags=tags)
    imported(app, folder)
    yield app
    if not db.is_closed():
        db.close()


def follow(client, path: str, fmt: str, rel: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """Every document reached from `path` by following `rel`: (path, article ids, links)."""
    visited = []
    while path:
        data = fetch(client, path).data
        assert is_archive(data, fmt), path
        found = links(data, fmt)
        assert relative(found["self"]) == path
        visited.append((path, article_ids(data, fmt), found))
        assert len(visited) <= 50, "archive links go round in circles"
        path = relative(found[rel]) if rel in found else None
    return visited


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_prev_archive_chain_holds_every_article_once_in_small_documents(busy, fmt):
    client = busy.test_client()
    newest = relative(links(fetch(client, f"/feed.{fmt}").data, fmt)["prev-archive"])
    # The same whether the first page holds the newest month whole or not (then it is counted).
    assert relative(links(fetch(client, f"/feed.{fmt}?limit=1").data, fmt)["prev-archive"]) == newest
    visited = follow(client, newest, fmt, "prev-archive")
    assert [(path, ids) for path, ids, _ in visited] == [(f"/feed/{p}.{fmt}", ids) for p, ids in BUSY_CHAIN]
    seen = [article for _, ids, _ in visited for article in ids]
    assert sorted(seen) == sorted(BUSY) and len(seen) == len(set(seen))  # each article in exactly one
    assert all(len(ids) <= MAX_ITEMS for _, ids, _ in visited)
    # The links agree: each document's next-archive is the one that led to it; the ends have none.
    assert "next-archive" not in visited[0][2]
    for (newer, _, _), (_, _, older_links) in pairwise(visited):
        assert relative(older_links["next-archive"]) == newer
    assert all(found["current"] == f"{SITE_URL}/feed.{fmt}" for _, _, found in visited)


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_next_archive_chain_visits_the_same_documents_oldest_first(busy, fmt):
    visited = follow(busy.test_client(), f"/feed/2025-11.{fmt}", fmt, "next-archive")
    assert [(path, ids) for path, ids, _ in visited] == [(f"/feed/{p}.{fmt}", ids) for p, ids in BUSY_CHAIN[::-1]]


def test_json_archives_hold_what_the_xml_ones_do(busy):
    client = busy.test_client()
    for period, ids in BUSY_CHAIN:
        data = fetch(client, f"/feed/{period}.json").data
        assert article_ids(data, "json") == ids
        assert json.loads(data)["feed_url"] == f"{SITE_URL}/feed/{period}.json"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_busy_month_answers_303_to_its_first_day(busy, fmt):
    response = busy.test_client().get(f"/feed/2026-01.{fmt}")
    assert response.status_code == 303
    assert relative(response.headers["Location"]) == f"/feed/2026-01-03.{fmt}"
    reason = one_line_reason(response)
    assert "2026-01" in reason and "more than 5" in reason and "2026-01-03" in reason
    assert "max-age=604800" in response.headers["Cache-Control"]  # January has ended: it stays split
    assert len(response.data) < 300  # never a render of the month


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_busy_day_answers_303_to_its_first_part(busy, fmt):
    client = busy.test_client()
    response = client.get(f"/feed/2026-01-05.{fmt}")
    assert response.status_code == 303
    assert relative(response.headers["Location"]) == f"/feed/2026-01-05/1.{fmt}"
    assert "2026-01-05" in one_line_reason(response)
    assert article_ids(fetch(client, relative(response.headers["Location"])).data, fmt) == BUSY[16:21]


def test_the_303_keeps_the_feeds_parameters(busy):
    response = busy.test_client().get("/feed/2026-01.atom?content=summary&exclude=storm")
    assert response.status_code == 303
    assert relative(response.headers["Location"]) == "/feed/2026-01-03.atom?content=summary&exclude=storm"


def test_a_partners_303_keeps_its_key_and_stays_private(busy):
    with busy.app_context():
        secret = Token.issue("wire", "partner", [])
        db.close()
    response = busy.test_client().get(f"/feed/2026-01.rss?key={secret}")
    assert response.status_code == 303
    assert relative(response.headers["Location"]) == f"/feed/2026-01-03.rss?key={secret}"
    assert response.headers["Cache-Control"].startswith("private")
    by_header = busy.test_client().get("/feed/2026-01.rss", headers={"Authorization": f"Bearer {secret}"})
    assert relative(by_header.headers["Location"]) == "/feed/2026-01-03.rss"
    assert by_header.headers["Cache-Control"].startswith("private")


def test_a_part_of_a_day_that_needs_none_answers_303_to_the_day(busy):
    response = busy.test_client().get("/feed/2026-01-06/1.rss")
    assert response.status_code == 303
    assert relative(response.headers["Location"]) == "/feed/2026-01-06.rss"
    assert "2026-01-06" in one_line_reason(response)


def test_a_part_past_the_last_is_404_with_the_number_of_parts(busy):
    response = busy.test_client().get("/feed/2026-01-05/4.atom")
    assert response.status_code == 404
    assert "3 parts" in one_line_reason(response)


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_day_archives_exist_in_months_that_need_none(busy, fmt):
    """A day of a small month is an archive too, linked to its neighbours by day within the month."""
    client = busy.test_client()
    data = fetch(client, f"/feed/2025-11-10.{fmt}").data
    assert article_ids(data, fmt) == ["2025-11-10-buoys"]
    assert "prev-archive" not in links(data, fmt)
    assert relative(links(data, fmt)["next-archive"]) == f"/feed/2025-11-20.{fmt}"
    later = fetch(client, f"/feed/2025-11-20.{fmt}").data
    assert relative(links(later, fmt)["prev-archive"]) == f"/feed/2025-11-10.{fmt}"
    assert relative(links(later, fmt)["next-archive"]) == f"/feed/2026-01-03.{fmt}"  # January goes by day
    feb = fetch(client, f"/feed/2026-02-01.{fmt}").data
    assert article_ids(feb, fmt) == ["2026-02-01-thaw"]
    assert relative(links(feb, fmt)["prev-archive"]) == f"/feed/2026-01-20.{fmt}"
    assert relative(links(feb, fmt)["next-archive"]) == f"/feed/2026-02-02.{fmt}"
    empty = fetch(client, f"/feed/2026-01-04.{fmt}").data
    assert article_ids(empty, fmt) == []
    assert relative(links(empty, fmt)["prev-archive"]) == f"/feed/2026-01-03.{fmt}"
    assert relative(links(empty, fmt)["next-archive"]) == f"/feed/2026-01-05/1.{fmt}"


def test_category_and_tag_archives_are_split_by_their_own_counts(busy):
    client = busy.test_client()
    # Every article is in harbour; only 5 January's are tagged storm.
    assert client.get("/category/harbour/2026-01.rss").status_code == 303
    tag_month = client.get("/tag/storm/2026-01.json")
    assert tag_month.status_code == 303
    assert relative(tag_month.headers["Location"]) == "/tag/storm/2026-01-05/1.json"
    # The tag's subscription document points at the newest part of its busy day.
    newest = relative(links(fetch(client, "/tag/storm.atom").data, "atom")["prev-archive"])
    assert newest == "/tag/storm/2026-01-05/3.atom"
    visited = follow(client, newest, "atom", "prev-archive")
    assert [ids for _, ids, _ in visited] == [BUSY[9:11], BUSY[11:16], BUSY[16:21]]
    # A tag with few articles in January keeps the month whole.
    calm = fetch(client, "/tag/calm/2026-01.rss").data
    assert article_ids(calm, "rss") == ["2026-01-20-quiet", "2026-01-03-fog-b", "2026-01-03-fog-a"]
    assert relative(links(calm, "rss")["prev-archive"]) == "/tag/calm/2025-11.rss"


@pytest.mark.parametrize("value", [0, -5, "500", 2.5, None, 5001, 10**9])
def test_archive_max_items_must_be_a_whole_number_from_1_to_5000(value):
    with pytest.raises(ConfigError, match="SYNDICATION_ARCHIVE_MAX_ITEMS"):
        validate({**DEFAULTS, "SYNDICATION_ARCHIVE_MAX_ITEMS": value})
    for fine in (1, 5000):
        validate({**DEFAULTS, "SYNDICATION_ARCHIVE_MAX_ITEMS": fine})


@pytest.mark.parametrize(
    "path, named",
    [
        ("/feed/2026-02-30.rss", "2026-02-30"),
        ("/feed/2026-02-29.atom", "2026-02-29"),  # 2026 is no leap year
        ("/feed/2026-13-01.json", "2026-13-01"),
        ("/feed/2026-01-00.rss", "2026-01-00"),
        ("/feed/2026-1-05.rss", "2026-1-05"),
        ("/feed/2026-01-5.rss", "2026-01-5"),
        ("/feed/0999-12-31.rss", "0999-12-31"),
        ("/feed/0999-12.rss", "0999-12"),
        ("/feed/2026-01-05/0.rss", "0"),
        ("/feed/2026-01-05/01.rss", "01"),
        ("/feed/2026-01-05/x.atom", "x"),
        ("/feed/2026-01-05/9999999.atom", "9999999"),
        ("/feed/2026-01/1.rss", "2026-01"),
        ("/feed/2026-02-30/1.rss", "2026-02-30"),
        ("/category/harbour/2026-02-30.rss", "2026-02-30"),
        ("/tag/storm/2026-04-31/2.json", "2026-04-31"),
    ],
)
def test_impossible_days_and_parts_are_404_with_a_reason(busy, path, named):
    response = busy.test_client().get(path)
    assert response.status_code == 404
    assert named in one_line_reason(response)


def test_archives_reach_from_the_year_1000_to_9999(app, client, tmp_path):
    """Archives run as far as a post's date may: an article from before 1970 is in the chain too."""
    imported(app, write_post(tmp_path / "old", "1965-07-01-old-pier", "1965-07-01 09:00:00 +0800"))
    newest = relative(links(fetch(client, "/feed.atom").data, "atom")["prev-archive"])
    assert newest == "/feed/1965-07.atom"
    assert article_ids(fetch(client, newest).data, "atom") == ["1965-07-01-old-pier"]
    assert article_ids(fetch(client, "/feed/1965-07-01.atom").data, "atom") == ["1965-07-01-old-pier"]
    for path in ("/feed/1000-01.rss", "/feed/9999-12.rss", "/feed/9999-12-31.rss", "/feed/1000-01-01.json"):
        assert article_ids(fetch(client, path).data, path.rsplit(".", 1)[1]) == []


def test_cache_control_of_day_archives_and_parts(busy):
    client = busy.test_client()
    for path in ("/feed/2026-01-06.atom", "/feed/2026-01-05/2.atom", "/feed/2025-11-10.json"):
        ended = fetch(client, path).headers["Cache-Control"]
        assert "max-age=604800" in ended.replace(" ", "").split(","), (path, ended)
    today = datetime.now(ZoneInfo("Asia/Shanghai"))
    running = fetch(client, f"/feed/{today:%Y-%m-%d}.atom").headers["Cache-Control"]
    assert "max-age=300" in running.replace(" ", "").split(","), running


def test_ended_archives_do_not_change_when_articles_arrive(busy, tmp_path):
    """RFC 5005 §4: once its period is over, an archive document keeps its contents."""
    client = busy.test_client()
    before = {period: article_ids(fetch(client, f"/feed/{period}.rss").data, "rss") for period, _ in BUSY_CHAIN}
    later = tmp_path / "later"
    for n in range(1, 8):  # March becomes busy too
        write_post(later, f"2026-03-0{n}-spring", f"2026-03-0{n} 09:00:00 +0800")
    imported(busy, later)
    after = {period: article_ids(fetch(client, f"/feed/{period}.rss").data, "rss") for period, _ in BUSY_CHAIN}
    assert after == before
    feb = links(fetch(client, "/feed/2026-02.rss").data, "rss")
    assert relative(feb["next-archive"]) == "/feed/2026-03-01.rss"  # the only link that moved
    assert client.get("/feed/2026-03.rss").status_code == 303


def test_a_month_under_way_is_split_once_it_grows_too_busy(busy, tmp_path):
    """While a month runs, its archive grows; past the maximum its address sends readers to its days,
    and a reader revalidating the copy it had gets the 303, not a 304."""
    client = busy.test_client()
    folder = tmp_path / "april"
    for n in range(1, 6):
        write_post(folder, f"2026-04-0{n}-works", f"2026-04-0{n} 09:00:00 +0800")
    imported(busy, folder)
    whole = fetch(client, "/feed/2026-04.atom")
    assert len(article_ids(whole.data, "atom")) == MAX_ITEMS
    imported(busy, write_post(folder, "2026-04-09-more-works", "2026-04-09 09:00:00 +0800"))
    again = client.get("/feed/2026-04.atom", headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 303
    assert relative(again.headers["Location"]) == "/feed/2026-04-01.atom"
    days = follow(client, "/feed/2026-04-01.atom", "atom", "next-archive")
    assert [len(ids) for _, ids, _ in days] == [1, 1, 1, 1, 1, 1]


def test_archive_queries_are_bounded_and_walk_an_index(busy):
    """Deciding whether a period fits in one document counts at most max + 1 rows of an index range; no
    query reads more than max + 1 articles, however busy the month (SQLite: EXPLAIN QUERY PLAN)."""
    from .test_cache import QueryLog

    client = busy.test_client()
    paths = ["/feed/2026-01.rss", "/feed/2026-01-05.rss", "/feed/2026-01-05/2.rss", "/tag/storm/2026-01-05/3.atom"]
    paths += ["/category/harbour/2026-01-06.json", "/feed/2026-02.atom", "/feed/2026-01-03.rss"]
    with QueryLog() as log:
        for path in paths:
            assert client.get(path).status_code in (200, 303), path
    reads = [(sql, params) for sql, params in log.params if sql.startswith("SELECT") and '"article" AS' in sql]
    kinds = set()
    for sql, params in reads:
        sql = sql.replace("%s", "?")  # PostgreSQL's placeholders
        if "COUNT(" in sql:
            if 'LIMIT ?) AS "_wrapped"' in sql:
                kinds.add("capped count")
                assert params[-2] == MAX_ITEMS + 1, (sql, params)
            else:  # only the number of parts of a busy day is counted in full: over that day's range
                kinds.add("count of a day")
                assert '"published" >= ?' in sql and '"published" < ?' in sql, sql
                assert params[-2] - params[-3] == timedelta(days=1), params
        elif "OFFSET ?" in sql:  # where a part begins: one row, its time and id only
            kinds.add("offset")
            assert params[-2] == 1 and '"body"' not in sql, (sql, params)
        elif "ORDER BY" in sql and '"body"' in sql:
            kinds.add("articles")
            assert params[-1] <= MAX_ITEMS + 1, (sql, params)
    assert kinds == {"capped count", "count of a day", "offset", "articles"}
    if "sqlite" in busy.config["SYNDICATION_DATABASE_URL"]:
        with busy.app_context():
            for sql, params in reads:
                if "COUNT(" in sql or "ORDER BY" in sql:
                    plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
                    assert "TEMP B-TREE" not in plan, (sql, plan)
                    assert re.search(r"SEARCH \w+ USING (COVERING )?INDEX \w*published", plan), (sql, plan)
            db.close()
