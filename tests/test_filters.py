"""Combined and filtered feeds (several tags, any-of, exclusions, a category narrowed to tags), their
canonical addresses and validators, content modes, and JSON Feed."""

import json
import re
import shutil
from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
import pytest
from lxml import etree, html

from .conftest import FIXTURES, SITE_URL, article_ids, import_paths

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
JSON_TYPE = "application/feed+json; charset=utf-8"
SOURCE_01 = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202601100900000001"
FORMATS = ["rss", "atom", "json"]

# Three posts beside the fixtures, so that every filter below both keeps and drops something:
# community without markets, markets and community together, and ferries with budget (not harbour).
EXTRA = {
    "2026-01-15-quay-stalls": ("2026-01-15 10:00:00 +0800", "culture", ["community"]),
    "2026-01-16-fish-auction": ("2026-01-16 10:00:00 +0800", "harbour", ["markets", "community"]),
    "2026-01-17-ferry-fares": ("2026-01-17 10:00:00 +0800", "weather", ["ferries", "budget"]),
}


@pytest.fixture
def posts(app, tmp_path):
    """The fixture posts (copied, so that a test may edit one) and the three above, imported."""
    folder = tmp_path / "posts"
    shutil.copytree(FIXTURES / "good", folder)
    for name, (date, category, tags) in EXTRA.items():
        (folder / f"{name}.md").write_text(
            f"---\ntitle: {json.dumps(name)}\ndate: {date}\ncategories: {category}\ntags: [{', '.join(tags)}]\n---\n"
            f"<p>Report on {name}.</p>\n",
            encoding="utf-8",
        )
    report = import_paths(app, folder)
    assert report.counts["imported"] == 8, report.failures
    return folder


def fetch(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    return response


def self_link(data: bytes, fmt: str) -> str:
    if fmt == "json":
        return json.loads(data)["feed_url"]
    root = etree.fromstring(data)
    container = root.find("channel") if fmt == "rss" else root
    (link,) = [link for link in container.findall(f"{{{ATOM}}}link") if link.get("rel") == "self"]
    return link.get("href")


def title(data: bytes, fmt: str) -> str:
    if fmt == "json":
        return json.loads(data)["title"]
    return feedparser.parse(data).feed.title


def location(response) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", urlsplit(SITE_URL).netloc, "localhost"), response.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


def one_line_reason(response) -> str:
    assert response.content_type.startswith("text/plain"), response.content_type
    text = response.get_data(as_text=True).strip()
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


# -- what combined and filtered feeds hold ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tag/community+markets.{}", ["2026-01-16-fish-auction", "NW202601112030000002"]),
        (
            "/feed.{}?any=budget,ferries",
            ["2026-01-17-ferry-fares", "harbour-dredging-2026", "2026-01-13-hostile", "NW202601100900000001"],
        ),
        (
            "/category/harbour.{}?exclude=budget",
            ["2026-01-16-fish-auction", "harbour-dredging-2026", "NW202601112030000002", "NW202601100900000001"],
        ),
        ("/category/harbour.{}?tag=ferries", ["harbour-dredging-2026", "NW202601100900000001"]),
        ("/category/harbour.{}?tag=community,markets", ["2026-01-16-fish-auction", "NW202601112030000002"]),
        ("/tag/ferries.{}?exclude=works", ["2026-01-17-ferry-fares", "NW202601100900000001"]),
        ("/tag/community.{}?any=markets,works", ["2026-01-16-fish-auction", "NW202601112030000002"]),
        (
            "/feed.{}?any=community,ferries&exclude=budget,markets",
            ["2026-01-15-quay-stalls", "harbour-dredging-2026", "NW202601100900000001"],
        ),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_filtered_feeds_hold_exactly_their_articles_newest_first(client, posts, path, expected, fmt):
    data = fetch(client, path.format(fmt)).data
    assert article_ids(data, fmt) == expected


def test_any_of_takes_an_unknown_tag_as_400_even_when_it_is_a_category_name(client, posts):
    # 'culture' names a category; as a tag it does not exist.
    response = client.get("/tag/community.rss?any=culture,markets")
    assert response.status_code == 400
    assert "culture" in one_line_reason(response)


# -- canonical addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/tag/markets+community.rss", "/tag/community+markets.rss"),
        ("/tag/markets+community+markets.atom", "/tag/community+markets.atom"),
        ("/feed.rss?any=ferries,budget", "/feed.rss?any=budget,ferries"),
        ("/feed.atom?any=ferries,budget", "/feed.atom?any=budget,ferries"),
        ("/feed.json?any=ferries,budget,ferries", "/feed.json?any=budget,ferries"),
        ("/feed.rss?limit=2&any=ferries", "/feed.rss?any=ferries&limit=2"),
        ("/category/harbour.rss?tag=ferries&exclude=budget", "/category/harbour.rss?exclude=budget&tag=ferries"),
        ("/feed.rss?limit=20", "/feed.rss"),
        ("/feed.atom?any=ferries&limit=20", "/feed.atom?any=ferries"),
        ("/feed.rss?content=full", "/feed.rss"),
        ("/tag/markets+community.json?exclude=budget", "/tag/community+markets.json?exclude=budget"),
        ("/category/harbour/2026-01.rss?tag=works,ferries", "/category/harbour/2026-01.rss?tag=ferries,works"),
    ],
)
def test_other_spellings_are_301_to_the_canonical_address(client, posts, path, canonical):
    response = client.get(path)
    assert response.status_code == 301, (response.status_code, response.data[:200])
    assert location(response) == canonical
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/tag/community+markets.rss",
        "/feed.rss?any=budget,ferries",
        "/feed.atom?any=budget,ferries",
        "/feed.rss?any=ferries&limit=2",
        "/category/harbour.rss?exclude=budget&tag=ferries",
        "/feed.json?any=budget,ferries&content=summary",
    ],
)
def test_canonical_addresses_are_served_as_they_are(client, posts, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/tag/ferries+nosuchtag.rss", "/tag/nosuchtag+ferries.atom", "/tag/ferries+nosuchtag.json", "/tag/a+b.rss"],
)
def test_combined_tags_with_an_unknown_one_are_404(client, posts, path):
    # Tags out of order may first be put in order (a 301); the address they lead to is a 404.
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 404
    assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/feed.rss?foo=1", "foo"),
        ("/category/harbour.atom?tag=ferries&bar=2", "bar"),
        ("/feed.rss?any=ferries&any=budget", "any"),
        ("/category/harbour.rss?exclude=budget&exclude=works", "exclude"),
        ("/category/harbour.rss?tag=ferries&tag=works", "tag"),
        ("/feed.rss?content=summary&content=summary", "content"),
        ("/feed.rss?tag=ferries", "tag"),
        ("/feed.json?tag=ferries", "tag"),
        ("/tag/ferries.rss?tag=works", "tag"),
        ("/feed.rss?any=nosuchtag", "nosuchtag"),
        ("/feed.rss?any=ferries,nosuchtag", "nosuchtag"),
        ("/feed.atom?exclude=nosuchtag", "nosuchtag"),
        ("/category/harbour.rss?tag=nosuchtag", "nosuchtag"),
        ("/category/harbour.rss?tag=ferries,nosuchtag", "nosuchtag"),
        ("/tag/ferries.json?exclude=nosuchtag", "nosuchtag"),
        ("/feed/2026-01.rss?any=nosuchtag", "nosuchtag"),
        ("/feed.rss?any=", "any"),
        ("/feed.rss?exclude=,", "exclude"),
        ("/feed.rss?content=other", "content"),
        ("/feed.json?content=", "content"),
    ],
)
def test_bad_parameters_are_400_with_a_reason_naming_them(client, posts, path, named):
    response = client.get(path)
    assert response.status_code == 400, (response.status_code, response.data[:200])
    assert named in one_line_reason(response)


# -- validators -------------------------------------------------------------------------------------

COMBINATIONS = [
    "/feed.rss",
    "/feed.rss?any=budget,ferries",
    "/feed.atom?any=budget,ferries",
    "/feed.rss?any=budget,ferries&content=summary",
    "/feed.rss?any=budget,community",
    "/category/harbour.rss",
    "/category/harbour.rss?exclude=budget",
    "/category/harbour.rss?tag=ferries",
    "/category/culture.rss?tag=markets",
    "/category/weather.json?exclude=budget",
    "/tag/ferries.rss",
    "/tag/ferries.rss?exclude=works",
    "/tag/community+markets.rss",
]
# An edit of NW202601100900000001 (harbour; ferries): the combinations that hold it, and some that do
# not and depend on none of its category and tags.
HOLDING_01 = [
    "/feed.rss?any=budget,ferries",
    "/feed.atom?any=budget,ferries",
    "/category/harbour.rss?exclude=budget",
    "/category/harbour.rss?tag=ferries",
    "/tag/ferries.rss?exclude=works",
]
WITHOUT_01 = [
    "/feed.rss?any=budget,community",
    "/category/culture.rss?tag=markets",
    "/category/weather.json?exclude=budget",
    "/tag/community+markets.rss",
]


def test_each_combination_has_its_own_etag_and_conditional_get(client, posts):
    etags = {path: fetch(client, path).headers["ETag"] for path in COMBINATIONS}
    assert len(set(etags.values())) == len(COMBINATIONS), etags
    for path, etag in etags.items():
        not_modified = client.get(path, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304, path
        assert not_modified.data == b""
        assert not_modified.headers["ETag"] == etag
    # Another combination's tag is no match.
    assert client.get(COMBINATIONS[1], headers={"If-None-Match": etags[COMBINATIONS[2]]}).status_code == 200


def test_an_edit_changes_the_etags_of_the_combinations_holding_the_article_only(app, client, posts):
    for path in HOLDING_01:
        assert "NW202601100900000001" in article_ids(fetch(client, path).data, path.split("?")[0].rsplit(".")[-1])
    for path in WITHOUT_01:
        assert "NW202601100900000001" not in article_ids(fetch(client, path).data, path.split("?")[0].rsplit(".")[-1])
    before = {path: fetch(client, path).headers["ETag"] for path in HOLDING_01 + WITHOUT_01}

    post = posts / "2026-01-10-offset-html.md"
    post.write_text(post.read_text(encoding="utf-8").replace("Harbour ferry timetable changes", "Ferry times move"))
    assert import_paths(app, post).counts["updated"] == 1

    for path in HOLDING_01:
        response = client.get(path, headers={"If-None-Match": before[path]})
        assert response.status_code == 200, path
        assert response.headers["ETag"] != before[path], path
        assert b"Ferry times move" in response.data
    for path in WITHOUT_01:
        response = client.get(path, headers={"If-None-Match": before[path]})
        assert response.status_code == 304, path
        assert response.headers["ETag"] == before[path], path


# -- self link and title ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/feed.{}?any=budget,ferries",
        "/feed.{}?any=budget,ferries&content=summary",
        "/feed.{}?any=ferries&limit=2",
        "/category/harbour.{}?exclude=budget&tag=ferries",
        "/tag/community+markets.{}",
        "/tag/ferries.{}?exclude=works",
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_self_link_is_the_canonical_address(client, posts, path, fmt):
    address = path.format(fmt)
    assert self_link(fetch(client, address).data, fmt) == SITE_URL + address


@pytest.mark.parametrize("fmt", FORMATS)
def test_title_says_how_the_feed_is_narrowed(client, posts, fmt):
    plain_site = title(fetch(client, f"/feed.{fmt}").data, fmt)
    plain_harbour = title(fetch(client, f"/category/harbour.{fmt}").data, fmt)

    any_of = title(fetch(client, f"/feed.{fmt}?any=budget,ferries").data, fmt)
    assert any_of != plain_site and "Harbour Gazette" in any_of
    assert "budget" in any_of and "ferries" in any_of

    without = title(fetch(client, f"/category/harbour.{fmt}?exclude=budget").data, fmt)
    assert without != plain_harbour and "港口新闻" in without and "budget" in without

    tagged = title(fetch(client, f"/category/harbour.{fmt}?tag=ferries").data, fmt)
    assert tagged != plain_harbour and "港口新闻" in tagged and "ferries" in tagged
    assert tagged != without  # "without budget" and "tagged ferries" do not read alike

    both = title(fetch(client, f"/tag/community+markets.{fmt}").data, fmt)
    assert "community" in both and "markets" in both

    # The summary mode is not a narrowing of which articles: the title stays.
    assert title(fetch(client, f"/feed.{fmt}?content=summary").data, fmt) == plain_site


# -- content modes ----------------------------------------------------------------------------------


def test_summary_rss_has_no_content_encoded(client, posts):
    full = etree.fromstring(fetch(client, "/feed.rss").data)
    assert len(full.findall(f"channel/item/{{{CONTENT}}}encoded")) == 8
    summary = etree.fromstring(fetch(client, "/feed.rss?content=summary").data)
    items = summary.findall("channel/item")
    assert len(items) == 8
    assert summary.findall(f"channel/item/{{{CONTENT}}}encoded") == []
    assert all(item.findtext("description") for item in items)
    assert b"content:encoded" not in fetch(client, "/feed.rss?content=summary").data


def test_summary_atom_has_no_content(client, posts):
    full = etree.fromstring(fetch(client, "/feed.atom").data)
    assert len(full.findall(f"{{{ATOM}}}entry/{{{ATOM}}}content")) == 8
    summary = etree.fromstring(fetch(client, "/feed.atom?content=summary").data)
    entries = summary.findall(f"{{{ATOM}}}entry")
    assert len(entries) == 8
    assert summary.findall(f"{{{ATOM}}}entry/{{{ATOM}}}content") == []
    assert all(entry.findtext(f"{{{ATOM}}}summary") for entry in entries)


def test_summary_json_has_content_text_equal_to_the_summary(client, posts):
    full = json.loads(fetch(client, "/feed.json").data)
    assert all("content_html" in item and "content_text" not in item for item in full["items"])
    summary = json.loads(fetch(client, "/feed.json?content=summary").data)
    assert len(summary["items"]) == 8
    for item in summary["items"]:
        assert "content_html" not in item
        assert item["content_text"] == item["summary"]
    dredging = next(i for i in summary["items"] if i["url"].endswith("/harbour-dredging-2026.html"))
    assert dredging["content_text"] == "Dredgers arrive on Monday."


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_mode_keeps_the_same_items(client, posts, fmt):
    full = fetch(client, f"/feed.{fmt}?any=budget,ferries").data
    summary = fetch(client, f"/feed.{fmt}?any=budget,ferries&content=summary").data
    assert article_ids(summary, fmt) == article_ids(full, fmt)


# -- JSON Feed --------------------------------------------------------------------------------------


def json_items(client, path="/feed.json"):
    response = fetch(client, path)
    return response, json.loads(response.data)


def test_json_feed_document(client, posts):
    response, document = json_items(client)
    assert response.headers["Content-Type"] == JSON_TYPE
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == f"{SITE_URL}/feed.json"
    assert document["home_page_url"] == f"{SITE_URL}/"
    assert document["title"] == "Harbour Gazette"
    assert len(document["items"]) == 8


@pytest.mark.parametrize("path", ["/feed.{}", "/category/harbour.{}", "/tag/community+markets.{}"])
def test_json_items_have_the_atom_ids_in_the_same_order(client, posts, path):
    _, document = json_items(client, path.format("json"))
    atom = feedparser.parse(fetch(client, path.format("atom")).data)
    ids = [item["id"] for item in document["items"]]
    assert ids == [entry.id for entry in atom.entries]
    assert ids and all(i.startswith("urn:uuid:") for i in ids)
    assert [item["url"] for item in document["items"]] == [entry.link for entry in atom.entries]


def test_json_item_fields(client, posts):
    _, document = json_items(client)
    items = {re.search(r"/share/(.+)\.html$", item["url"]).group(1): item for item in document["items"]}

    night = items["NW202601112030000002"]
    assert night["title"] == "Night market reopens"
    assert night["date_published"] == "2026-01-11T20:30:00+08:00"
    assert {"港口新闻", "culture", "markets", "夜市", "community"} <= set(night["tags"])
    assert night["authors"] == [{"name": "Desk reporter"}]
    assert "forty stalls" in night["content_html"]
    assert night["external_url"].endswith("infoCode=NW202601112030000002")

    ferry = items["NW202601100900000001"]
    assert ferry["external_url"] == SOURCE_01
    assert {"港口新闻", "ferries"} <= set(ferry["tags"])
    assert "authors" not in ferry

    # Written at +0000: shown with an offset, the same instant.
    hostile = items["2026-01-13-hostile"]
    assert re.search(r"[+-]\d\d:\d\d$", hostile["date_published"]), hostile["date_published"]
    assert datetime.fromisoformat(hostile["date_published"]) == datetime(2026, 1, 13, 12, 0, tzinfo=UTC)

    # No source link, no external_url; no tags, still the category.
    storm = items["2026-01-12-markdown-no-tz"]
    assert "external_url" not in storm
    assert "weather" in storm["tags"]
    for item in document["items"]:
        assert re.search(r"[+-]\d\d:\d\d$", item["date_published"]), item["date_published"]


def test_json_feed_conditional_get(client, posts):
    for path in ("/feed.json", "/tag/community+markets.json", "/category/harbour.json?exclude=budget"):
        first = fetch(client, path)
        assert first.headers["Content-Type"] == JSON_TYPE
        not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert not_modified.status_code == 304, path
        assert not_modified.data == b""
        assert not_modified.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    ("page", "feed"),
    [
        ("/", "/feed.json"),
        ("/category/harbour.html", "/category/harbour.json"),
        ("/tag/ferries.html", "/tag/ferries.json"),
    ],
)
def test_html_pages_advertise_the_json_feed(client, posts, page, feed):
    document = html.fromstring(fetch(client, page).data)
    found = [
        link.get("href") for link in document.xpath('//head/link[@rel="alternate"][@type="application/feed+json"]')
    ]
    assert found == [SITE_URL + feed]


def test_opml_lists_json_addresses(client, posts):
    response = fetch(client, "/feeds.opml?format=json")
    urls = [o.get("xmlUrl") for o in etree.fromstring(response.data).iter("outline") if o.get("xmlUrl")]
    rss = fetch(client, "/feeds.opml").data
    rss_urls = [o.get("xmlUrl") for o in etree.fromstring(rss).iter("outline") if o.get("xmlUrl")]
    assert urls and all(urlsplit(u).path.endswith(".json") for u in urls)
    assert urls == [u[: -len(".rss")] + ".json" for u in rss_urls]
    assert f"{SITE_URL}/feed.json" in urls
    assert f"{SITE_URL}/tag/community.json" in urls
