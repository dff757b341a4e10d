"""Withdrawing articles: `flask delete-post`, `flask import-posts --sync`, tombstones (RFC 6721), 410 Gone."""

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from models import Article, db

from .conftest import FIXTURES, SITE_URL, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"

# The list-taxonomy fixture: two categories and three tags, one of them non-ASCII.
ARTICLE = "NW202601112030000002"
SHARE = f"/share/{ARTICLE}.html"
CATEGORIES = ["harbour", "culture"]
TAGS = ["markets", "%E5%A4%9C%E5%B8%82", "community"]  # 夜市, as it appears in addresses
BASES = ["/feed", *(f"/category/{c}" for c in CATEGORIES), *(f"/tag/{t}" for t in TAGS)]
FEEDS = [f"{base}.{fmt}" for base in BASES for fmt in ("rss", "atom", "json")]
PAGES = ["/", *(f"{base}.html" for base in BASES[1:])]
OTHER = "NW202601100900000001"  # harbour / ferries: a neighbour that stays


def entries(atom: bytes) -> dict[str, str]:
    """{entry id: its alternate link} of an Atom document."""
    root = ET.fromstring(atom)
    found = {}
    for entry in root.iter(f"{ATOM}entry"):
        link = next(li.get("href") for li in entry.iter(f"{ATOM}link") if li.get("rel", "alternate") == "alternate")
        found[entry.findtext(f"{ATOM}id")] = link
    return found


def tombstones(atom: bytes) -> dict[str, str]:
    """{ref: when} of the document's deleted-entry elements (children of the feed element)."""
    return {t.get("ref"): t.get("when") for t in ET.fromstring(atom).findall(TOMBSTONE)}


def guid_of(client, article_id: str) -> str:
    share = f"{SITE_URL}/share/{article_id}.html"
    ids = [guid for guid, link in entries(client.get("/feed.atom").data).items() if link == share]
    assert len(ids) == 1, f"{article_id} is not in the site's Atom feed"
    return ids[0]


def delete(runner, *ids: str):
    return runner.invoke(args=["delete-post", *ids])


def is_live(app, article_id: str) -> bool:
    with app.app_context():
        article = Article.get_or_none(Article.id == article_id)
        db.close()
    return article is not None and article.withdrawn is None


def copy_fixture(name: str, folder):
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.copy(FIXTURES / "good" / name, folder / name)


# -- delete-post --------------------------------------------------------------------------------


def test_a_withdrawn_article_leaves_every_feed_and_page(client, runner, good_posts):
    guid = guid_of(client, ARTICLE)
    for path in FEEDS + PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SHARE.encode() in response.data, path  # it was there before

    result = delete(runner, ARTICLE)
    assert result.exit_code == 0, result.output
    assert f"{ARTICLE}: withdrawn" in result.stdout

    for path in FEEDS + PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SHARE.encode() not in response.data, path
        if path.endswith(".atom"):
            assert guid not in entries(response.data), path
        elif not path.endswith(".html"):
            # RSS and JSON have no tombstones: no trace of it at all.
            assert guid.encode() not in response.data, path
            assert ARTICLE.encode() not in response.data, path
        else:
            assert b"Night market reopens" not in response.data, path
    # Its neighbours stay.
    assert f"/share/{OTHER}.html".encode() in client.get("/category/harbour.rss").data
    json_items = json.loads(client.get("/feed.json").data)["items"]
    assert len(json_items) == 4 and guid not in {item["id"] for item in json_items}


def test_its_share_page_answers_410_even_where_a_copy_was_cached(client, runner, good_posts):
    first = client.get(SHARE)
    cached = client.get(SHARE)  # the second is served by the hot path, from memory
    assert first.status_code == cached.status_code == 200
    assert first.data == cached.data

    assert delete(runner, ARTICLE).exit_code == 0

    for headers in ({}, {"Accept-Encoding": "gzip"}, {"If-None-Match": cached.headers["ETag"]}):
        gone = client.get(SHARE, headers=headers)
        assert gone.status_code == 410, (headers, gone.status_code)
        assert gone.mimetype == "text/html"
        text = gone.get_data(as_text=True)
        assert "withdrawn" in text and ARTICLE in text
        assert "Night market reopens" not in text
    # Twice over: the answer is not a cached 200 either.
    assert client.get(SHARE).status_code == 410
    assert client.get(f"/share/{OTHER}.html").status_code == 200


def test_atom_feeds_of_its_category_and_tag_carry_a_tombstone(client, runner, good_posts):
    guid = guid_of(client, ARTICLE)
    for path in ("/feed.atom", "/category/harbour.atom", "/tag/markets.atom"):
        assert tombstones(client.get(path).data) == {}, path
    before = datetime.now(UTC)

    assert delete(runner, ARTICLE).exit_code == 0

    after = datetime.now(UTC)
    for path in [f"{base}.atom" for base in BASES]:
        response = client.get(path)
        assert b"<at:deleted-entry" in response.data, path
        found = tombstones(response.data)
        assert list(found) == [guid], path
        when = datetime.fromisoformat(found[guid])
        assert when.tzinfo is not None, found[guid]
        assert before - timedelta(seconds=1) <= when <= after + timedelta(seconds=1), found[guid]
    # Feeds the article was never in carry no tombstone; RSS and JSON never do.
    for path in ("/category/weather.atom", "/tag/ferries.atom", "/tag/budget.atom"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert tombstones(response.data) == {}, path
        assert guid.encode() not in response.data, path
    for path in ("/feed.rss", "/category/harbour.rss", "/feed.json", "/category/harbour.json"):
        assert b"deleted-entry" not in client.get(path).data, path


def test_the_etags_of_the_feeds_it_leaves_change(client, runner, good_posts):
    pages = [p for p in PAGES if p != "/"]
    before = {path: client.get(path).headers["ETag"] for path in [*FEEDS, *pages, "/", SHARE]}
    unrelated = ["/category/weather.rss", "/category/weather.atom", "/tag/ferries.json", "/tag/budget.html"]
    untouched = {path: client.get(path).headers["ETag"] for path in unrelated}

    assert delete(runner, ARTICLE).exit_code == 0

    for path, etag in before.items():
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code != 304, path
        if path != SHARE:
            assert response.headers["ETag"] != etag, path
    for path, etag in untouched.items():
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304, path


def test_a_second_delete_says_it_was_already_withdrawn(client, runner, good_posts):
    assert delete(runner, ARTICLE).exit_code == 0
    etag = client.get("/feed.atom").headers["ETag"]

    again = delete(runner, ARTICLE)
    assert again.exit_code == 0, again.output
    assert f"{ARTICLE}: was already withdrawn" in again.stdout
    # Nothing changed: the feeds' versions stand, and so do their tombstones.
    assert client.get("/feed.atom", headers={"If-None-Match": etag}).status_code == 304

    both = delete(runner, OTHER, ARTICLE)
    assert both.exit_code == 0, both.output
    assert f"{OTHER}: withdrawn" in both.stdout
    assert f"{ARTICLE}: was already withdrawn" in both.stdout


def test_an_unknown_id_withdraws_nothing(app, client, runner, good_posts):
    etag = client.get("/feed.rss").headers["ETag"]

    result = delete(runner, ARTICLE, "no-such-article")
    assert result.exit_code != 0
    assert "no-such-article" in result.stderr
    assert ARTICLE not in result.stdout

    assert is_live(app, ARTICLE)
    assert client.get("/feed.rss", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(SHARE).status_code == 200
    assert tombstones(client.get("/feed.atom").data) == {}


def test_without_tombstone_days_no_tombstone_is_kept(app, runner, good_posts, database_url):
    assert delete(runner, ARTICLE).exit_code == 0
    assert tombstones(app.test_client().get("/feed.atom").data)

    no_tombstones = make_app(database_url, SYNDICATION_TOMBSTONE_DAYS=0)
    client = no_tombstones.test_client()
    for path in ("/feed.atom", "/category/harbour.atom", "/tag/markets.atom"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert tombstones(response.data) == {}, path
        assert b"deleted-entry" not in response.data, path
    assert client.get(SHARE).status_code == 410


def test_tombstones_expire_after_tombstone_days(app, runner, good_posts, database_url):
    assert delete(runner, ARTICLE).exit_code == 0
    with app.app_context():
        long_ago = datetime.now(UTC) - timedelta(days=3)
        Article.update(withdrawn=long_ago).where(Article.id == ARTICLE).execute()
        db.close()

    client = make_app(database_url, SYNDICATION_TOMBSTONE_DAYS=2).test_client()
    assert tombstones(client.get("/feed.atom").data) == {}
    client = make_app(database_url, SYNDICATION_TOMBSTONE_DAYS=4).test_client()
    assert len(tombstones(client.get("/feed.atom").data)) == 1


def test_importing_it_again_brings_it_back_with_the_same_id(client, runner, good_posts):
    guid = guid_of(client, ARTICLE)
    rss_before = client.get("/category/culture.rss").data
    assert delete(runner, ARTICLE).exit_code == 0
    assert client.get(SHARE).status_code == 410

    result = runner.invoke(args=["import-posts", str(FIXTURES / "good" / "2026-01-11-lists-unicode.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("0 imported, 1 updated, 0 unchanged, 0 failed")

    assert client.get(SHARE).status_code == 200
    assert guid_of(client, ARTICLE) == guid
    for path in ("/feed.atom", "/category/culture.atom", "/tag/markets.atom"):
        atom = client.get(path).data
        assert guid in entries(atom), path
        assert tombstones(atom) == {}, path
    rss = client.get("/category/culture.rss").data
    assert f'<guid isPermaLink="false">{guid}</guid>'.encode() in rss
    assert f'<guid isPermaLink="false">{guid}</guid>'.encode() in rss_before
    assert guid in {item["id"] for item in json.loads(client.get("/tag/community.json").data)["items"]}
    assert SHARE.encode() in client.get("/category/harbour.html").data


# -- import-posts --sync -------------------------------------------------------------------------


@pytest.fixture
def desks(app, runner, tmp_path):
    """Two folders imported: desk/ (two posts) and desk-wire/ (one), whose name starts like the other's."""
    desk, wire = tmp_path / "desk", tmp_path / "desk-wire"
    copy_fixture("2026-01-10-offset-html.md", desk)
    copy_fixture("2026-01-12-markdown-no-tz.md", desk / "2026")
    copy_fixture("2026-01-14-front-matter-id.md", wire)
    result = runner.invoke(args=["import-posts", str(desk), str(wire)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("3 imported, 0 updated, 0 unchanged, 0 failed")
    return desk, wire


def test_sync_withdraws_articles_whose_files_are_gone(app, client, runner, desks):
    desk, wire = desks
    (desk / "2026" / "2026-01-12-markdown-no-tz.md").unlink()
    (wire / "2026-01-14-front-matter-id.md").unlink()  # gone too, but not from a folder being synced

    result = runner.invoke(args=["import-posts", "--sync", str(desk)])
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("0 imported, 0 updated, 1 unchanged, 0 failed"), summary
    assert summary.endswith(", 1 withdrawn"), summary

    assert not is_live(app, "2026-01-12-markdown-no-tz")
    assert is_live(app, OTHER)
    assert is_live(app, "harbour-dredging-2026")
    assert client.get("/share/2026-01-12-markdown-no-tz.html").status_code == 410
    assert b"2026-01-12-markdown-no-tz" not in client.get("/feed.rss").data
    assert len(tombstones(client.get("/category/weather.atom").data)) == 1

    again = runner.invoke(args=["import-posts", "--sync", str(desk)])
    assert again.exit_code == 0, again.output
    assert again.stdout.strip().splitlines()[-1].endswith(", 0 withdrawn")


def test_sync_withdraws_nothing_when_a_file_failed(app, client, runner, desks):
    desk, _ = desks
    (desk / "2026-01-10-offset-html.md").unlink()
    shutil.copy(FIXTURES / "bad" / "no-title.md", desk / "no-title.md")
    etag = client.get("/feed.rss").headers["ETag"]

    result = runner.invoke(args=["import-posts", "--sync", str(desk)])
    assert result.exit_code == 1, result.output
    assert "no-title.md" in result.stderr
    assert "--sync" in result.stderr and "nothing" in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("0 imported, 0 updated, 1 unchanged, 1 failed"), summary
    assert "withdrawn" not in result.stdout

    assert is_live(app, OTHER)
    assert client.get("/feed.rss", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/share/{OTHER}.html").status_code == 200


# -- export-static -------------------------------------------------------------------------------


def test_export_after_a_withdrawal_removes_its_share_page(runner, good_posts, tmp_path):
    out = tmp_path / "site"
    first = runner.invoke(args=["export-static", str(out)])
    assert first.exit_code == 0, first.output
    page = out / "share" / f"{ARTICLE}.html"
    assert page.exists() and (out / "share" / f"{ARTICLE}.html.gz").exists()

    assert delete(runner, ARTICLE).exit_code == 0
    second = runner.invoke(args=["export-static", str(out)])
    assert second.exit_code == 0, second.output

    assert not page.exists()
    assert not (out / "share" / f"{ARTICLE}.html.gz").exists()
    assert (out / "share" / f"{OTHER}.html").exists()
    assert (out / "share" / f"{OTHER}.html.gz").exists()
    assert SHARE.encode() not in (out / "feed.rss").read_bytes()
    assert tombstones((out / "feed.atom").read_bytes())
