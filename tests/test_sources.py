"""Partners' feeds: `flask sources …` polls RSS, Atom and JSON Feed over HTTP into articles.

Every poll here goes over real HTTP to a server on 127.0.0.1 (tests/feedserver.py)."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import Article, Source, db
from syndication.fetch import FetchError, fetch, retry_after
from syndication.metrics import SOURCE_POLLS
from syndication.sources import article_id
from syndication.text import plain_text
from syndication.upstream import FeedError, parse_feed
from tests.conftest import FIXTURES, import_paths, make_app
from tests.feedserver import FeedServer, Reply

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def rss(*items: tuple[str, str, str], title: str = "Valley Courier") -> bytes:
    """An RSS 2.0 feed of (guid, title, description HTML) items."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{t}</title>"
        f"<link>https://courier.example/a/{guid}</link><description><![CDATA[{html}]]></description>"
        f"<pubDate>Tue, 24 Nov 2026 0{i}:00:00 +0000</pubDate><author>desk@courier.example (Mai Lin)</author></item>"
        for i, (guid, t, html) in enumerate(items)
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://courier.example/</link><description>News</description>{body}</channel></rss>"
    ).encode()


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://tide.example/news/">
  <title>Tide Times</title><id>urn:tide</id><updated>2026-11-25T08:00:00Z</updated>
  <entry><id>urn:tide:1</id><title type="html">Ferry &lt;b&gt;timetable&lt;/b&gt; changes</title>
    <link rel="alternate" href="ferry.html"/>
    <published>2026-11-25T08:00:00+08:00</published><updated>2026-11-25T09:30:00+08:00</updated>
    <author><name>Ana Ruiz</name></author>
    <summary>Winter sailings start Monday.</summary>
    <content type="html">&lt;p&gt;Winter sailings &lt;img src="img/ferry.jpg"&gt; start Monday.&lt;/p&gt;
&lt;script&gt;alert(1)&lt;/script&gt;
&lt;p onclick="x()"&gt;&lt;a href="javascript:alert(1)"&gt;more&lt;/a&gt;&lt;/p&gt;</content>
  </entry>
</feed>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://old.example/"><title>Old Wire</title><link>https://old.example/</link>
    <description>d</description><items><rdf:Seq><rdf:li resource="https://old.example/1"/></rdf:Seq></items></channel>
  <item rdf:about="https://old.example/1"><title>Harbour dredging ends</title><link>https://old.example/1</link>
    <description>The channel is open again.</description><dc:date>2026-11-20T10:00:00Z</dc:date></item>
</rdf:RDF>"""


def json_feed(*items: dict) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Ridge Daily", "items": list(items)}
    ).encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
    + b']><rss version="2.0"><channel><title>&j;</title><item><title>x</title><description>&j;</description>'
    b"</item></channel></rss>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>t</title><item><title>&x;</title><description>d</description></item>'
    b"</channel></rss>"
)


# -- parsing -----------------------------------------------------------------------------------------


def test_rss2_entries():
    feed = parse_feed(rss(("g1", "Bridge reopens", "<p>After <b>two</b> years.</p>")), "https://courier.example/rss")
    assert feed.title == "Valley Courier"
    [entry] = feed.entries
    assert (entry.guid, entry.title, entry.link) == ("g1", "Bridge reopens", "https://courier.example/a/g1")
    assert "<b>two</b>" in entry.content
    assert entry.published == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert entry.author == "Mai Lin"


def test_rss1_entries():
    [entry] = parse_feed(RSS1, "https://old.example/rss").entries
    assert (entry.guid, entry.title) == ("https://old.example/1", "Harbour dredging ends")  # rdf:about
    assert entry.link == "https://old.example/1"
    assert entry.updated == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # dc:date


def test_atom_entries_resolve_relative_links_against_xml_base():
    feed = parse_feed(ATOM, "https://tide.example/feed.atom")
    [entry] = feed.entries
    assert entry.guid == "urn:tide:1"
    assert entry.link == "https://tide.example/news/ferry.html"
    assert 'src="https://tide.example/news/img/ferry.jpg"' in entry.content
    assert entry.summary == "<p>Winter sailings start Monday.</p>" or "Winter sailings start Monday." in entry.summary
    assert entry.published == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert entry.updated == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)


def test_json_feed_entries():
    feed = parse_feed(
        json_feed(
            {
                "id": 7,
                "url": "/story/7",
                "title": "Snow on the pass",
                "content_html": '<p>Chains required. <img src="pics/pass.jpg"></p>',
                "summary": "Chains <required>",
                "date_published": "2026-11-26T06:00:00+01:00",
                "authors": [{"name": "K. Sato"}],
            },
            {"id": "t", "content_text": "Line one.\n\nLine <two>.", "date_published": "yesterday"},
        ),
        "https://ridge.example/feed.json",
    )
    first, second = feed.entries
    assert (first.guid, first.link, first.author) == ("7", "https://ridge.example/story/7", "K. Sato")
    assert 'src="https://ridge.example/story/pics/pass.jpg"' in first.content
    assert first.summary == "Chains &lt;required&gt;"
    assert first.published == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert second.content == "<p>Line one.</p><p>Line &lt;two&gt;.</p>"
    assert second.published is None  # not RFC 3339: no date rather than a wrong one


@pytest.mark.parametrize(
    "body, words",
    [
        (BILLION_LAUGHS, "declares XML entities"),
        (XXE, "declares XML entities"),
        (BILLION_LAUGHS.replace(b"</rss>", b""), "declares XML entities"),  # not well-formed either
        (b"<html><body><p>Not a feed</p></body></html>", "is not an RSS or Atom feed"),
        (b"", "is not an RSS or Atom feed"),
        (b'{"items": []}', "is JSON but not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', 'without an "items" list'),
        (b"{not json", "is not JSON"),
        (b'{"a":' + b"[" * 100_000, "nested too deeply"),
        (b"<rss version='2.0'><channel><title>&#x110000;</title>", "could not be parsed"),  # feedparser's crash
    ],
)
def test_what_is_not_a_readable_feed_is_refused_with_a_reason(body, words):
    started = time.monotonic()
    with pytest.raises(FeedError, match=re.escape(words)):
        parse_feed(body, "https://x.example/feed")
    assert time.monotonic() - started < 2  # entity expansion never got going


def test_a_feed_that_is_not_well_formed_is_still_read_leniently():
    broken = rss(("g1", "Fish &amp; chips", "<p>ok</p>")).replace(b"</channel></rss>", b"")
    assert [e.title for e in parse_feed(broken, "https://x.example/").entries] == ["Fish & chips"]


# -- HTTP --------------------------------------------------------------------------------------------


def get(url, **kwargs):
    options = {"user_agent": "test", "timeout": 5, "max_bytes": 100_000, "now": NOW}
    return fetch(url, **{**options, **kwargs})


def test_conditional_get_sends_the_validators_it_was_given():
    with FeedServer() as server:
        server.replies["/f"] = Reply(304, headers={"ETag": '"v1"'})
        answer = get(server.url + "/f", etag='"v1"', last_modified="Tue, 24 Nov 2026 00:00:00 GMT")
    assert answer.status == 304 and answer.body == b""
    [sent] = server.sent("/f")
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Tue, 24 Nov 2026 00:00:00 GMT"
    assert "gzip" in sent["Accept-Encoding"] and sent["User-Agent"] == "test"


def test_size_is_capped_declared_or_not_and_after_decompression():
    with FeedServer() as server:
        server.replies["/big"] = Reply(body=b"x" * 200_000)
        server.replies["/chunked"] = Reply(body=b"x" * 200_000, headers={"Content-Length": None})
        server.replies["/bomb"] = Reply(body=b"\0" * 5_000_000, gzip=True)  # 5 MB in about 5 KB
        for path in ("/big", "/chunked", "/bomb"):
            with pytest.raises(FetchError, match="100,000 bytes allowed"):
                get(server.url + path)


def test_a_slow_server_is_given_up_on_at_the_deadline():
    with FeedServer() as server:
        server.replies["/silent"] = Reply(delay=3, body=b"<rss/>")
        server.replies["/drip"] = Reply(body=b"y" * 1000, drip=0.05)
        started = time.monotonic()
        with pytest.raises(FetchError, match="no answer within 1 s"):
            get(server.url + "/silent", timeout=1)
        with pytest.raises(FetchError, match="more than 1 s to arrive"):
            get(server.url + "/drip", timeout=1)
        assert time.monotonic() - started < 5


def test_connection_refused_is_one_line():
    with FeedServer() as server:
        url = server.url
    with pytest.raises(FetchError, match=r"cannot connect: \[Errno 111\] Connection refused"):
        get(url + "/f")


def test_permanent_redirects_report_the_new_address_temporary_ones_do_not():
    with FeedServer() as server:
        server.replies["/old"] = Reply(301, headers={"Location": "/new"})
        server.replies["/moving"] = Reply(302, headers={"Location": "/new"})
        server.replies["/new"] = Reply(body=b"<rss/>")
        assert get(server.url + "/old").moved_to == server.url + "/new"
        assert get(server.url + "/moving").moved_to == ""


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("120", NOW) == timedelta(seconds=120)
    assert retry_after(format_datetime(NOW + timedelta(hours=2), usegmt=True), NOW) == timedelta(hours=2)
    assert retry_after(format_datetime(NOW - timedelta(hours=2), usegmt=True), NOW) == timedelta(0)
    assert retry_after("soon", NOW) is None and retry_after("", NOW) is None


# -- polling into articles ---------------------------------------------------------------------------


@pytest.fixture
def server():
    with FeedServer() as server:
        yield server


def add(runner, url, *args):
    result = runner.invoke(args=["sources", "add", url, *args])
    assert result.exit_code == 0, result.output
    return result


def poll(runner, *args, ok=True):
    result = runner.invoke(args=["sources", "fetch", *args])
    assert (result.exit_code == 0) == ok, result.output
    return result


def source(app, name) -> Source:
    with app.app_context():
        found = Source.get(Source.name == name)
        db.close()
    return found


def articles(app, name) -> dict[str, Article]:
    with app.app_context():
        found = {a.id: a for a in Article.select().where(Article.path == f"source:{name}")}
        db.close()
    return found


def test_entries_become_attributed_articles_in_every_feed(app, runner, client, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "Bridge reopens", "<p>After two years.</p>")))
    add(runner, server.url + "/rss", "--category", "partners", "--tags", "valley,roads", "--name", "courier")
    result = poll(runner)
    assert "courier: 1 entries: 1 new, 0 updated, 0 unchanged" in result.output
    [article] = articles(app, "courier").values()
    assert article.id == article_id("courier", "g1")
    assert (article.source_name, article.source_url) == ("Valley Courier", "https://courier.example/a/g1")
    assert (article.title, article.author) == ("Bridge reopens", "Mai Lin")
    assert article.published == datetime(2026, 11, 24, tzinfo=UTC)

    rss_doc = feedparser.parse(client.get("/category/partners.rss").data)
    [item] = rss_doc.entries
    assert item.source.title == "Valley Courier" and item.source.href == "https://courier.example/a/g1"
    atom = client.get("/tag/roads.atom").get_data(as_text=True)
    assert 'rel="via" href="https://courier.example/a/g1"' in atom
    feed = json.loads(client.get("/feed.json").data)
    assert feed["items"][0]["external_url"] == "https://courier.example/a/g1"
    share = client.get(f"/share/{article.id}.html").get_data(as_text=True)
    assert '<a href="https://courier.example/a/g1" rel="noopener">Valley Courier</a>' in share


def test_a_second_poll_never_duplicates_and_edits_upstream_update_in_place(app, runner, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "Bridge reopens", "<p>a</p>"), ("g2", "Vote on Friday", "<p>b</p>")))
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    poll(runner)
    first = articles(app, "courier")
    assert "0 new, 0 updated, 2 unchanged" in poll(runner).output
    assert articles(app, "courier").keys() == first.keys()

    # Upstream edits one title, adds one item and drops another.
    server.replies["/rss"] = Reply(body=rss(("g1", "Bridge reopens on Monday", "<p>a</p>"), ("g3", "Late", "<p>c</p>")))
    assert "2 entries: 1 new, 1 updated, 0 unchanged" in poll(runner).output
    now = articles(app, "courier")
    assert len(now) == 3  # what left the upstream feed stays published here
    assert now[article_id("courier", "g1")].title == "Bridge reopens on Monday"


def test_entry_content_is_sanitized_like_an_import(app, runner, server):
    server.replies["/atom"] = Reply(body=ATOM, headers={"Content-Type": "application/atom+xml"})
    add(runner, server.url + "/atom", "--category", "tides", "--name", "tide")
    poll(runner)
    [article] = articles(app, "tide").values()
    assert article.title == "Ferry timetable changes"
    assert "script" not in article.body and "onclick" not in article.body and "javascript:" not in article.body
    assert 'src="https://tide.example/news/img/ferry.jpg"' in article.body
    assert article.summary == "Winter sailings start Monday."
    assert article.updated == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)


def test_json_feed_and_rss1_sources(app, runner, server):
    server.replies["/json"] = Reply(
        body=json_feed({"id": "a1", "url": "https://ridge.example/1", "title": "Pass closed", "content_text": "x"}),
        headers={"Content-Type": "application/feed+json"},
    )
    server.replies["/rdf"] = Reply(body=RSS1)
    add(runner, server.url + "/json", "--category", "ridge", "--name", "ridge")
    add(runner, server.url + "/rdf", "--category", "wire", "--name", "wire", "--title", "The Old Wire")
    poll(runner)
    assert [a.title for a in articles(app, "ridge").values()] == ["Pass closed"]
    [wire] = articles(app, "wire").values()
    assert (wire.title, wire.source_name) == ("Harbour dredging ends", "The Old Wire")


def test_entries_without_a_date_keep_their_first_poll_time(app, runner, server):
    item = {"id": "n1", "url": "https://ridge.example/1", "title": "Undated", "content_html": "<p>x</p>"}
    server.replies["/json"] = Reply(body=json_feed(item))
    add(runner, server.url + "/json", "--category", "ridge", "--name", "ridge")
    poll(runner)
    first = articles(app, "ridge")[article_id("ridge", "n1")].published
    assert "0 updated, 1 unchanged" in poll(runner, "--force").output
    assert articles(app, "ridge")[article_id("ridge", "n1")].published == first


def test_a_broken_entry_is_reported_and_the_rest_import(app, runner, server):
    empty = {"id": "e", "url": "", "title": "", "content_html": "<script>x</script>"}
    good = {"id": "g", "url": "https://ridge.example/g", "title": "Fine", "content_html": "<p>ok</p>"}
    server.replies["/json"] = Reply(body=json_feed(empty, good))
    add(runner, server.url + "/json", "--category", "ridge", "--name", "ridge")
    result = poll(runner)
    assert "1 new, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "\n  e: has no title" in result.output  # no title of its own, no text to make one from
    assert [a.title for a in articles(app, "ridge").values()] == ["Fine"]


def test_an_entry_whose_link_is_not_http_is_refused(app, runner, server):
    hostile = {"id": "h", "url": "javascript:alert(1)", "title": "Click", "content_html": "<p>x</p>"}
    data = {"id": "d", "url": "data:text/html,<script>alert(1)</script>", "title": "D", "content_html": "<p>x</p>"}
    good = {"id": "g", "url": "https://ridge.example/g", "title": "Fine", "content_html": "<p>ok</p>"}
    server.replies["/json"] = Reply(body=json_feed(hostile, data, good))
    server.replies["/rss"] = Reply(
        body=rss(("r", "Click", "<p>x</p>")).replace(b"https://courier.example/a/r", b"javascript:alert(2)")
    )
    add(runner, server.url + "/json", "--category", "ridge", "--name", "ridge")
    add(runner, server.url + "/rss", "--category", "ridge", "--name", "courier")
    result = poll(runner)
    assert "ridge: 3 entries: 1 new, 0 updated, 0 unchanged, 2 failed" in result.output
    assert "javascript:alert(1): has a 'source_url' value that is not an http(s) address" in result.output
    assert [a.source_url for a in articles(app, "ridge").values()] == ["https://ridge.example/g"]
    assert all("javascript:" not in a.source_url for a in articles(app, "courier").values())


def test_an_article_withdrawn_here_is_not_brought_back_by_a_poll(app, runner, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "Retracted", "<p>a</p>")))
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    poll(runner)
    assert runner.invoke(args=["delete-post", article_id("courier", "g1")]).exit_code == 0
    assert "0 new, 0 updated, 0 unchanged, 1 withdrawn here" in poll(runner, "--force").output
    assert articles(app, "courier")[article_id("courier", "g1")].withdrawn is not None


def test_not_modified_keeps_everything_and_the_validators(app, runner, server):
    body = rss(("g1", "Bridge reopens", "<p>a</p>"))
    server.replies["/rss"] = [
        Reply(body=body, headers={"ETag": '"e1"', "Last-Modified": "Tue, 24 Nov 2026 00:00:00 GMT"}),
        Reply(304, headers={"ETag": '"e1"'}),
    ]
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    poll(runner)
    assert "courier: not modified (304)" in poll(runner).output
    second = server.sent("/rss")[1]
    assert (second["If-None-Match"], second["If-Modified-Since"]) == ('"e1"', "Tue, 24 Nov 2026 00:00:00 GMT")
    s = source(app, "courier")
    assert (s.etag, s.last_modified, s.failures) == ('"e1"', "Tue, 24 Nov 2026 00:00:00 GMT", 0)
    assert len(articles(app, "courier")) == 1


def test_429_is_honoured_and_failures_back_off(app, runner, server):
    server.replies["/rss"] = Reply(429, headers={"Retry-After": "7200"})
    server.replies["/down"] = Reply(500)
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    add(runner, server.url + "/down", "--category", "partners", "--name", "down")
    before = datetime.now(UTC)
    result = poll(runner, ok=False)
    assert "courier: HTTP 429, asked to wait 7200 s" in result.output
    assert "down: HTTP 500" in result.output
    assert source(app, "courier").next_fetch >= before + timedelta(hours=2)
    assert before + timedelta(minutes=15) <= source(app, "down").next_fetch < before + timedelta(minutes=16)

    # Not due: nobody is asked again; a forced poll asks, and the back-off doubles.
    assert "0 source(s) polled" in poll(runner).output
    assert len(server.requests) == 2
    poll(runner, "down", "--force", ok=False)
    s = source(app, "down")
    assert s.failures == 2 and s.next_fetch >= datetime.now(UTC) + timedelta(minutes=29)

    # A success clears it.
    server.replies["/down"] = Reply(body=rss(("g1", "Back", "<p>a</p>")))
    poll(runner, "down", "--force")
    s = source(app, "down")
    assert (s.failures, s.next_fetch) == (0, None)


def test_503_with_a_date_and_a_broken_body_are_failures_with_reasons(app, runner, server):
    later = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    server.replies["/busy"] = Reply(503, headers={"Retry-After": later})
    server.replies["/html"] = Reply(body=b"<html><body>Moved to our app!</body></html>")
    add(runner, server.url + "/busy", "--category", "p", "--name", "busy")
    add(runner, server.url + "/html", "--category", "p", "--name", "html")
    result = poll(runner, ok=False)
    assert re.search(r"busy: HTTP 503, asked to wait 10[78]\d\d s", result.output)
    assert "html: the response is not an RSS or Atom feed" in result.output
    assert "2 source(s) polled, 2 failed" in result.output
    listed = runner.invoke(args=["sources", "list"]).output
    assert "html\t" in listed and "is not an RSS or Atom feed" in listed


def test_a_permanent_move_is_followed_from_then_on(app, runner, server):
    server.replies["/old"] = Reply(301, headers={"Location": "/new"})
    server.replies["/new"] = Reply(body=rss(("g1", "Moved", "<p>a</p>")))
    add(runner, server.url + "/old", "--category", "partners", "--name", "courier")
    poll(runner)
    assert source(app, "courier").url == server.url + "/new"


def test_quiet_prints_failures_and_the_summary_only(app, runner, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "x", "<p>a</p>")))
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    add(runner, server.url + "/gone", "--category", "partners", "--name", "gone")
    result = poll(runner, "--quiet", ok=False)
    assert result.output == "gone: HTTP 404\n2 source(s) polled, 1 failed\n"


def test_poll_metrics_count_outcomes(app, runner, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "x", "<p>a</p>")))
    add(runner, server.url + "/rss", "--category", "partners", "--name", "courier")
    before = SOURCE_POLLS.labels("fetched")._value.get()
    poll(runner)
    assert SOURCE_POLLS.labels("fetched")._value.get() == before + 1


# -- the CLI -----------------------------------------------------------------------------------------


def test_add_list_and_remove(app, runner, server):
    server.replies["/rss"] = Reply(body=rss(("g1", "Bridge", "<p>a</p>")))
    result = add(runner, server.url + "/rss", "--category", "partners", "--tags", "a, b")
    assert "Source '127.0.0.1' added" in result.output
    for bad, words in [
        (["ftp://x.example/f", "--category", "c"], "is not an http(s) address"),
        ([server.url + "/other", "--category", "c", "--name", "a b"], "Unusable name 'a b'"),
        ([server.url + "/other", "--category", "c/d"], "Unusable category 'c/d'"),
        ([server.url + "/rss", "--category", "c", "--name", "again"], "already polls"),
        ([server.url + "/x"], "Missing option '--category'"),
    ]:
        result = runner.invoke(args=["sources", "add", *bad])
        assert result.exit_code != 0 and words in result.output, result.output
    poll(runner)
    assert re.search(
        r"^127\.0\.0\.1\t.*/rss\tpartners\ta,b\t.*: 1 entries: 1 new",
        runner.invoke(args=["sources", "list"]).output,
        re.M,
    )

    assert "No source named 'nope'" in runner.invoke(args=["sources", "fetch", "nope"]).output
    assert "No source named 'nope'" in runner.invoke(args=["sources", "remove", "nope"]).output
    result = runner.invoke(args=["sources", "remove", "127.0.0.1", "--withdraw"])
    assert result.exit_code == 0 and "1 article(s) withdrawn" in result.output
    assert runner.invoke(args=["sources", "list"]).output == ""
    assert all(a.withdrawn for a in articles(app, "127.0.0.1").values())


@pytest.mark.parametrize("command", ["add", "list", "remove", "fetch"])
def test_every_sources_command_has_help(runner, command):
    result = runner.invoke(args=["sources", command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


# -- the round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_round_trip_from_this_servers_own_export(app, runner, tmp_path, fmt):
    """Instance A exports its feeds as static files; instance B polls them: the same items arrive."""
    export = tmp_path / "export"
    with FeedServer(folder=export) as server:
        origin = make_app(f"sqlite:///{tmp_path / 'origin.db'}", SYNDICATION_SITE_URL=server.url)
        with origin.app_context():
            from models.schema import migrate

            migrate(db)
            db.close()
        assert import_paths(origin, FIXTURES / "good").counts["imported"] == 5
        assert origin.test_cli_runner().invoke(args=["export-static", str(export)]).exit_code == 0
        with origin.app_context():
            originals = {f"{server.url}/share/{a.id}.html": a for a in Article.select()}
            db.close()

        add(runner, f"{server.url}/feed.{fmt}", "--category", "mirror", "--name", "origin")
        assert "5 entries: 5 new" in poll(runner).output
        # The static server answers the next poll with a 304 (it sent Last-Modified).
        assert "origin: not modified (304)" in poll(runner, "--force").output

    copies = articles(app, "origin")
    assert sorted(a.source_url for a in copies.values()) == sorted(originals)
    for copy in copies.values():
        original = originals[copy.source_url]
        assert copy.title == original.title
        assert copy.published == original.published
        assert copy.author == original.author
        assert plain_text(copy.body) == plain_text(original.body)
        assert copy.summary == original.summary
        assert copy.source_name == "Harbour Gazette"


# -- hostile feeds -----------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<rss version='2.0'>", "<channel>", "<item>", "</item>", "<title>", "</title>", "<guid>", "</guid>",
        "<description>", "</description>", "<![CDATA[", "]]>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
        "<entry>", "<content type='html'>", "&lt;script&gt;", "&amp;", "&bogus;", "&#0;", "&#x110000;",
        "<!DOCTYPE x>", "<?xml version='1.0'?>", '{"version": "https://jsonfeed.org/version/1.1"',
        ', "items": [', '{"id": 1, "content_html": "<p>x</p>", "date_published": "2026-13-40T99:00:00Z"}',
        "]", "}", "\x00", "\ufeff", "<pubDate>Mon, 99 Foo 2026</pubDate>", "<link>javascript:alert(1)</link>",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=40), st.sampled_from(["", "application/json"]))
def test_any_bytes_parse_or_fail_with_a_reason(parts, content_type):
    """Whatever a source sends, parsing gives entries or a FeedError: never another exception."""
    body = "".join(parts).encode("utf-8", "surrogatepass")
    try:
        feed = parse_feed(body, "https://x.example/feed", content_type)
    except FeedError as e:
        assert str(e)
    else:
        for entry in feed.entries:
            assert entry.published is None or entry.published.tzinfo is not None
