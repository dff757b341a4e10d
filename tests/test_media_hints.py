"""Media in feed items (RSS enclosure and Media RSS, Atom enclosure links, JSON Feed attachments), and the
polling hints that must agree: RSS <ttl>, the syndication module's sy:update*, and Cache-Control."""

import json
import xml.etree.ElementTree as ET

import pytest

from syndication.config import ConfigError

from .conftest import FIXTURES, SITE_URL, fresh_schema, import_paths, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"

NIGHT_MARKET = "NW202601112030000002"
IMAGE = f"{SITE_URL}/uploads/2026/01/night-market.jpg"
WITHOUT_IMAGES = ["NW202601100900000001", "2026-01-12-markdown-no-tz", "harbour-dredging-2026"]
TWO_IMAGES = """---
title: Two pictures of the breakwater
date: 2026-02-03 10:00:00 +0800
categories: harbour
---
<p>The breakwater at dawn <img src="/uploads/2026/02/dawn.png" alt="dawn"></p>
<p>and at dusk <img src="https://photos.example/dusk.jpg" alt="dusk"></p>
"""


def share(article_id: str) -> str:
    return f"{SITE_URL}/share/{article_id}.html"


def app_with(database_url, *paths, **settings):
    app = make_app(database_url, **settings)
    fresh_schema(app)
    import_paths(app, *(paths or [FIXTURES / "good"]))
    return app


def rss_item(client, article_id: str, path: str = "/feed.rss") -> ET.Element:
    channel = ET.fromstring(client.get(path).data).find("channel")
    return next(item for item in channel.iter("item") if item.findtext("link") == share(article_id))


def atom_entry(client, article_id: str, path: str = "/feed.atom") -> ET.Element:
    root = ET.fromstring(client.get(path).data)
    for entry in root.iter(f"{ATOM}entry"):
        if any(li.get("href") == share(article_id) for li in entry.iter(f"{ATOM}link")):
            return entry
    raise AssertionError(f"{article_id} is not in {path}")


def json_item(client, article_id: str, path: str = "/feed.json") -> dict:
    items = json.loads(client.get(path).data)["items"]
    return next(item for item in items if item["url"] == share(article_id))


def enclosure_links(entry: ET.Element) -> list[dict[str, str]]:
    return [dict(li.attrib) for li in entry.findall(f"{ATOM}link") if li.get("rel") == "enclosure"]


# -- media ---------------------------------------------------------------------------------------


def test_rss_item_has_one_enclosure_and_media_content(client, good_posts):
    for path in ("/feed.rss", "/category/culture.rss", "/tag/markets.rss"):
        item = rss_item(client, NIGHT_MARKET, path)
        enclosures = item.findall("enclosure")
        assert [e.attrib for e in enclosures] == [{"url": IMAGE, "type": "image/jpeg", "length": "0"}], path
        media = item.findall(f"{MEDIA}content")
        assert len(media) == 1, path
        assert media[0].get("url") == IMAGE
        assert media[0].get("type") == "image/jpeg"
        assert media[0].get("medium") == "image"
    assert b'xmlns:media="http://search.yahoo.com/mrss/"' in client.get("/feed.rss").data


def test_atom_entry_has_an_enclosure_link(client, good_posts):
    for path in ("/feed.atom", "/category/harbour.atom"):
        links = enclosure_links(atom_entry(client, NIGHT_MARKET, path))
        assert links == [{"rel": "enclosure", "href": IMAGE, "type": "image/jpeg"}], path


def test_json_item_has_image_and_attachments(client, good_posts):
    item = json_item(client, NIGHT_MARKET)
    assert item["image"] == IMAGE
    assert item["attachments"] == [{"url": IMAGE, "mime_type": "image/jpeg"}]


def test_lengths_come_from_the_media_root(database_url, tmp_path):
    media_root = tmp_path / "media"
    picture = media_root / "uploads" / "2026" / "01" / "night-market.jpg"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\xff\xd8\xff" + bytes(12_342))
    size = picture.stat().st_size
    assert size == 12_345

    client = app_with(database_url, SYNDICATION_MEDIA_ROOT=str(media_root)).test_client()

    item = rss_item(client, NIGHT_MARKET)
    assert [e.attrib for e in item.findall("enclosure")] == [{"url": IMAGE, "type": "image/jpeg", "length": str(size)}]
    assert [m.get("url") for m in item.findall(f"{MEDIA}content")] == [IMAGE]
    assert item.find(f"{MEDIA}content").get("fileSize") == str(size)  # Media RSS calls it fileSize
    links = enclosure_links(atom_entry(client, NIGHT_MARKET))
    assert links == [{"rel": "enclosure", "href": IMAGE, "type": "image/jpeg", "length": str(size)}]
    attachment = json_item(client, NIGHT_MARKET)["attachments"]
    assert attachment == [{"url": IMAGE, "mime_type": "image/jpeg", "size_in_bytes": size}]


def test_a_file_outside_the_media_root_has_no_length(database_url, tmp_path):
    media_root = tmp_path / "media"
    media_root.mkdir()
    picture = tmp_path / "uploads" / "2026" / "01" / "night-market.jpg"  # beside the root, not in it
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"x" * 99)

    client = app_with(database_url, SYNDICATION_MEDIA_ROOT=str(media_root)).test_client()

    assert rss_item(client, NIGHT_MARKET).find("enclosure").get("length") == "0"
    assert "size_in_bytes" not in json_item(client, NIGHT_MARKET)["attachments"][0]


def test_a_post_with_two_images_lists_both_the_first_as_enclosure(database_url, tmp_path):
    post = tmp_path / "posts" / "2026-02-03-breakwater.md"
    post.parent.mkdir()
    post.write_text(TWO_IMAGES)
    client = app_with(database_url, post.parent).test_client()
    article = "2026-02-03-breakwater"
    first, second = f"{SITE_URL}/uploads/2026/02/dawn.png", "https://photos.example/dusk.jpg"

    item = rss_item(client, article)
    assert [e.attrib for e in item.findall("enclosure")] == [{"url": first, "type": "image/png", "length": "0"}]
    media = item.findall(f"{MEDIA}content")
    assert [(m.get("url"), m.get("type"), m.get("medium")) for m in media] == [
        (first, "image/png", "image"),
        (second, "image/jpeg", "image"),
    ]

    links = enclosure_links(atom_entry(client, article))
    assert [(li["href"], li["type"]) for li in links] == [(first, "image/png"), (second, "image/jpeg")]

    entry = json_item(client, article)
    assert entry["image"] == first
    assert entry["attachments"] == [
        {"url": first, "mime_type": "image/png"},
        {"url": second, "mime_type": "image/jpeg"},
    ]


def test_articles_without_images_have_no_media(client, good_posts):
    for article in WITHOUT_IMAGES:
        item = rss_item(client, article)
        assert item.findall("enclosure") == [], article
        assert item.findall(f"{MEDIA}content") == [], article
        assert enclosure_links(atom_entry(client, article)) == [], article
        entry = json_item(client, article)
        assert "image" not in entry and "attachments" not in entry, article


# -- polling hints -------------------------------------------------------------------------------


def hints(client, path: str = "/feed.rss") -> tuple[str, str, str]:
    channel = ET.fromstring(client.get(path).data).find("channel")
    return channel.findtext("ttl"), channel.findtext(f"{SY}updatePeriod"), channel.findtext(f"{SY}updateFrequency")


def test_default_hints_agree_with_max_age_300(client, good_posts):
    for path in ("/feed.rss", "/category/harbour.rss", "/tag/ferries.rss"):
        assert hints(client, path) == ("5", "hourly", "12"), path
    for path in ("/feed.rss", "/feed.atom", "/feed.json", "/category/harbour.html", "/"):
        first, second = client.get(path), client.get(path)  # Flask, then the hot path
        for response in (first, second):
            assert (
                response.headers["Cache-Control"]
                == "public, max-age=300, stale-while-revalidate=300, stale-if-error=86400"
            ), path
    assert b'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"' in client.get("/feed.rss").data


@pytest.mark.parametrize(
    ("max_age", "expected"),
    [
        (60, ("1", "hourly", "60")),
        (3600, ("60", "hourly", "1")),
        (7200, ("120", "daily", "12")),
        (86400, ("1440", "daily", "1")),
    ],
)
def test_hints_follow_the_max_age(database_url, max_age, expected):
    client = app_with(database_url, SYNDICATION_CACHE_MAX_AGE=max_age).test_client()
    for path in ("/feed.rss", "/category/harbour.rss"):
        assert hints(client, path) == expected, path
        for response in (client.get(path), client.get(path)):
            assert response.headers["Cache-Control"] == (
                f"public, max-age={max_age}, stale-while-revalidate={max_age}, stale-if-error=86400"
            )
    etag = client.get("/feed.atom").headers["ETag"]
    not_modified = client.get("/feed.atom", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert f"max-age={max_age}," in not_modified.headers["Cache-Control"]


@pytest.mark.parametrize("max_age", [420, 5000, 90, 59])
def test_a_max_age_the_hints_cannot_express_is_refused(database_url, max_age):
    with pytest.raises(ConfigError, match="SYNDICATION_CACHE_MAX_AGE"):
        make_app(database_url, SYNDICATION_CACHE_MAX_AGE=max_age)
