"""Conditional GET, cache hints and compression (RFC 9110 §8.8, §13; RFC 9111)."""

import gzip
import shutil

import pytest

from .conftest import FIXTURES, import_paths


@pytest.fixture
def editable_post(app, tmp_path):
    post = tmp_path / "2026-01-10-offset-html.md"
    shutil.copy(FIXTURES / "good" / "2026-01-10-offset-html.md", post)
    import_paths(app, post)
    return post


def edit(app, post, old, new):
    post.write_text(post.read_text().replace(old, new))
    assert import_paths(app, post).counts["updated"] == 1


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom", "/category/harbour.rss", "/tag/ferries.atom"])
def test_if_none_match_gives_304_then_200_after_a_change(client, app, editable_post, path):
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=300, stale-if-error=86400"

    edit(app, editable_post, "every 40 minutes", "every 35 minutes")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert b"every 35 minutes" in changed.data


def test_if_modified_since_gives_304_then_200_after_a_change(client, app, editable_post):
    first = client.get("/feed.rss")
    last_modified = first.headers["Last-Modified"]
    assert last_modified == "Sat, 10 Jan 2026 01:00:00 GMT"
    assert client.get("/feed.rss", headers={"If-Modified-Since": last_modified}).status_code == 304
    edit(app, editable_post, "every 40 minutes", "every 35 minutes")
    after = client.get("/feed.rss", headers={"If-Modified-Since": last_modified})
    assert after.status_code == 200
    assert after.headers["Last-Modified"] != last_modified


def test_if_none_match_wins_over_if_modified_since(client, editable_post):
    first = client.get("/feed.atom")
    # A stale tag with a current date: the tag decides, so the full feed is sent.
    stale = client.get(
        "/feed.atom", headers={"If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert stale.status_code == 200
    # A current tag with an old date: still 304.
    current = client.get(
        "/feed.atom",
        headers={"If-None-Match": first.headers["ETag"], "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    )
    assert current.status_code == 304


def test_if_none_match_lists_star_and_weak_tags(client, editable_post):
    etag = client.get("/feed.rss").headers["ETag"]
    assert client.get("/feed.rss", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get("/feed.rss", headers={"If-None-Match": "*"}).status_code == 304


def test_unparseable_if_modified_since_is_ignored(client, editable_post):
    response = client.get("/feed.rss", headers={"If-Modified-Since": "yesterday-ish"})
    assert response.status_code == 200


def test_gzip_when_accepted(client, editable_post):
    plain = client.get("/feed.rss")
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    zipped = client.get("/feed.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    # The gzip representation has its own strong tag, and either tag revalidates.
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    for tag in (zipped.headers["ETag"], plain.headers["ETag"]):
        assert client.get("/feed.rss", headers={"If-None-Match": tag, "Accept-Encoding": "gzip"}).status_code == 304


def test_gzip_refused_with_q_zero(client, editable_post):
    response = client.get("/feed.rss", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers


def test_etag_is_stable_between_requests(client, editable_post):
    tags = {client.get("/feed.atom").headers["ETag"] for _ in range(3)}
    assert len(tags) == 1


def test_head_gives_headers_without_body(client, editable_post):
    response = client.head("/feed.rss")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["ETag"]


def test_post_to_a_feed_is_405(client, editable_post):
    response = client.post("/feed.rss")
    assert response.status_code == 405
    assert b"Traceback" not in response.data
