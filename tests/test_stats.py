"""Subscriber statistics: the User-Agent parser on real aggregators' agents, the daily rollup (latest count
wins, several feed ids, distinct pollers, the daily salt, no address stored), recording on the hot path
and the Flask path, flushing, `flask stats` and the /stats page."""

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from models import Token, db
from models.stats import Poller, PollerDay, StatsSalt, SubscriberCount, report
from syndication import stats
from syndication.config import ConfigError
from syndication.stats import GRACE, Recorder, feed_address
from syndication.useragents import MAX_NAME, subscribers
from syndication.views.stats import daily_chart

from .conftest import FIXTURES, fresh_schema, import_paths, make_app

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

# Real agents, as aggregators send them (sources: their documentation, publishers' logs and published
# user-agent lists), and what they report.
REPORTING = [
    (FEEDLY, ("Feedly", "", 462)),
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 50 subscribers; like FeedFetcher-Google)", ("Feedly", "", 50)),
    ("Feedly/1.0 (poller; 131 subscribers;)", ("Feedly", "", 131)),
    ("Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", ("Inoreader", "", 114)),
    ("Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 45 subscribers; )", ("Inoreader", "", 45)),
    (
        "NewsBlur Feed Fetcher - 27 subscribers - https://www.newsblur.com/site/7704055/rendezvous-with-cassidoo "
        '("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) '
        'Version/14.0.1 Safari/605.1.15")',
        ("NewsBlur", "7704055", 27),
    ),
    (
        "NewsBlur Feed Fetcher - 1 subscriber - http://www.newsblur.com/site/0000000/webpage (Mozilla/5.0 "
        "(Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.1 Safari/605.1.15)",
        ("NewsBlur", "0000000", 1),
    ),
    ("Feedbin feed-id:1697787 - 102 subscribers", ("Feedbin", "1697787", 102)),
    ("Feedbin - 1 subscribers", ("Feedbin", "", 1)),
    (
        "Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=cead6c3a837650eeefd8fe4a)",
        ("The Old Reader", "cead6c3a837650eeefd8fe4a", 1),
    ),
    ("Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 1 subscribers)", ("BazQux", "", 1)),
    (
        "FeedHQ/2.0 (https://github.com/feedhq/feedhq; 3 subscribers; https://github.com/feedhq/feedhq/wiki/User-Agent)",
        ("FeedHQ", "", 3),
    ),
    ("Netvibes (http://www.netvibes.com/; 1 subscribers; feedID: 6639445)", ("Netvibes", "6639445", 1)),
    ("Bloglovin/1.0 (http://www.bloglovin.com; 1 subscribers)", ("Bloglovin", "", 1)),
    ("NewsGatorOnline/2.0 (http://www.newsgator.com; 20 subscribers)", ("NewsGator", "", 20)),
    (
        "Feed Wrangler/1.0 (1 subscriber; feed-id=479901; http://feedwrangler.net; Allow like Gecko)",
        ("Feed Wrangler", "479901", 1),
    ),
    (
        "Feedfetcher-Google; (+http://www.google.com/feedfetcher.html; 4 subscribers; feed-id=9048986372668769311)",
        ("Google Feedfetcher", "9048986372668769311", 4),
    ),
    ("Bloglines/3.1 (http://www.bloglines.com; 7 subscribers)", ("Bloglines", "", 7)),
    (
        "Dreamwidth Studios (webmaster@dreamwidth.org; for https://www.dreamwidth.org/users/vikingschoice_feed/; "
        "2 readers)",
        ("Dreamwidth", "", 2),
    ),
    (
        "LiveJournal.com (webmaster@livejournal.com; for http://www.livejournal.com/users/example/; 1 readers)",
        ("LiveJournal", "", 1),
    ),
    (
        "YahooFeedSeeker/2.0 (compatible; Mozilla 4.0; MSIE 5.5; http://publisher.yahoo.com/rssguide; users 10; "
        "views 0)",
        ("Yahoo", "", 10),
    ),
    (
        "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.2.1; Rojo 1.0; http://www.rojo.com/corporate/help/agg/; "
        "Aggregating on behalf of 1 subscriber(s) online at http://www.rojo.com/?feed-id=4235367) Gecko/20021130",
        ("Rojo", "4235367", 1),
    ),
    (
        "Overcast/1.0 Podcast Sync (1190 subscribers; feed-id=554901; +http://overcast.fm/)",
        ("Overcast", "554901", 1190),
    ),
    # An aggregator this module does not know is named by its product token.
    ("Magpie-Reader/3.1 (+https://reader.example/bot; 12 subscribers)", ("Magpie-Reader", "", 12)),
    ("Mozilla/5.0 (compatible; Harbour Reader; 5 readers)", ("Harbour Reader", "", 5)),
]
SILENT = [
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
    "Feedspot/1.0 (+https://www.feedspot.com/fs/fetcher; like FeedFetcher-Google)",
    "Superfeedr bot/2.0 http://superfeedr.com - Make your feeds realtime: get in touch - feed-id:123456",
    "Feedfetcher-Google; (+http://www.google.com/feedfetcher.html; feed-id=6486597085114830250)",
    "FeedHQ/2.0 (https://github.com/feedhq/feedhq; feed checker; https://github.com/feedhq/feedhq/wiki/User-Agent)",
    "Mozilla/5.0 (compatible; Miniflux/2.2.3; +https://miniflux.app)",
    "Tiny Tiny RSS/24.02 (https://tt-rss.org/)",
    "FreshRSS/1.24.3 (Linux; https://freshrss.org)",
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Newsboat/2.36 (Linux x86_64)",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    BROWSER,
    "",
]


@pytest.mark.parametrize(("agent", "expected"), REPORTING)
def test_aggregators_that_report_counts(agent, expected):
    assert subscribers(agent) == expected


@pytest.mark.parametrize("agent", SILENT)
def test_agents_that_report_nothing(agent):
    assert subscribers(agent) is None


@pytest.mark.parametrize(
    "agent",
    [
        "Feedly/1.0 (5 subscribers)\x00",  # control characters: no honest header has them
        "Feedly/1.0 (5 subscribers)\r\nX-Injected: 1",
        "Feedly/1.0 (1234567890 subscribers)",  # ten digits: not the last nine of them
        "Feedly/1.0 (100000001 subscribers)",  # more than any aggregator has users
        "Feedly/1.0 (99999999999999999999999999999999 subscribers)",
        "Feedly/1.0 (5 subscribers; 6 readers)",  # two counts that disagree
        "Feedly/1.0 (٥ subscribers)",  # digits of another script
        "Feedly/1.0 (-5 subscribers)" + "; " * 10,
        "Feedly/1.0 (1.5 subscribers)",
        "x" * 2000 + " 5 subscribers",  # beyond what is read of an agent
        None,
        b"Feedly/1.0 (5 subscribers)",
    ],
)
def test_hostile_agents_report_nothing(agent):
    assert subscribers(agent) is None


def test_hostile_agents_are_read_within_bounds():
    # A huge agent is cut, not rejected: the count near its start still counts.
    assert subscribers("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 5 subscribers; )" + "x" * 1_000_000) == (
        "Feedly",
        "",
        5,
    )
    # Names and feed ids read from unknown agents are short and printable, whatever was sent.
    name, feed_id, count = subscribers("<script>alert(1)</script>/1.0 (feed-id=" + "a" * 500 + "; 3 subscribers)")
    assert count == 3 and len(feed_id) == 64 and "<" not in name and ">" not in name
    name, _, _ = subscribers("Z" * 500 + "/1.0 (3 subscribers)")
    assert 0 < len(name) <= MAX_NAME
    # Pathological repetitions finish (the expressions have no nested repetition to backtrack through).
    assert subscribers("1 " * 500_000) is None
    assert subscribers("users " * 200_000) is None


# ---------------------------------------------------------------------------------------------- rollup

DAY = date(2026, 3, 1)
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, moment: float):
        self.moment = moment

    def __call__(self) -> float:
        return self.moment


def poll(recorder: Recorder, path: str, agent: str, address: str = "198.51.100.7") -> None:
    recorder.record({"PATH_INFO": path, "REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})


def store(app, recorder: Recorder, now: float) -> int:
    with app.app_context():
        stored = recorder.flush(now=datetime.fromtimestamp(now, UTC))
        db.close()
    return stored


def rows_of(app, model) -> list[dict]:
    with app.app_context():
        rows = list(model.select().dicts())
        db.close()
    return rows


def stats_report(app, since: date = DAY, feeds=None):
    with app.app_context():
        rows = report(since, feeds)
        db.close()
    return rows


def quiet_recorder(moment: float = NOON) -> Recorder:
    """A recorder that stores only when told."""
    return Recorder(clock=Clock(moment), background=False)


def test_latest_count_of_the_day_wins(app):
    worker = quiet_recorder()
    poll(worker, "/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 5 subscribers; )")
    worker.clock.moment = NOON + 60
    poll(worker, "/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 7 subscribers; )")
    worker.clock.moment = NOON + 30  # an older poll, later in the buffer: still older
    poll(worker, "/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 6 subscribers; )")
    assert store(app, worker, NOON + 120) == 3
    [row] = rows_of(app, SubscriberCount)
    assert (row["day"], row["feed"], row["aggregator"], row["feed_id"], row["subscribers"]) == (
        DAY,
        "/feed.rss",
        "Feedly",
        "",
        7,
    )

    # Another worker's batch arrives later but holds an older poll: the newer count stays.
    other = quiet_recorder(NOON + 10)
    poll(other, "/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 3 subscribers; )")
    store(app, other, NOON + 180)
    assert [r["subscribers"] for r in rows_of(app, SubscriberCount)] == [7]
    # A newer one replaces it, and the report says so.
    other.clock.moment = NOON + 3600
    poll(other, "/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 9 subscribers; )")
    store(app, other, NOON + 3601)
    assert [(r.feed, r.subscribers, r.pollers, r.total) for r in stats_report(app)] == [("/feed.rss", 9, 0, 9)]


def test_every_feed_id_counts_and_aggregators_add_up(app):
    worker = quiet_recorder()
    poll(worker, "/feed.atom", "Feedbin feed-id:1001 - 10 subscribers")  # the http subscription
    poll(worker, "/feed.atom", "Feedbin feed-id:1002 - 4 subscribers")  # and the https one
    poll(worker, "/feed.atom", "Feedbin feed-id:1001 - 11 subscribers")  # a later poll of the first
    poll(worker, "/feed.atom", "Mozilla/5.0 (compatible; inoreader.com; 6 subscribers)")
    poll(worker, "/category/harbour.rss", FEEDLY)
    store(app, worker, NOON + 1)
    rows = {(r.feed, r.subscribers, r.pollers) for r in stats_report(app)}
    assert rows == {("/feed.atom", 11 + 4 + 6, 0), ("/category/harbour.rss", 462, 0)}
    with app.app_context():
        assert SubscriberCount.by_aggregator(DAY) == [("Feedly", 462), ("Feedbin", 15), ("Inoreader", 6)]
        assert SubscriberCount.by_aggregator(DAY, ["/feed.atom"]) == [("Feedbin", 15), ("Inoreader", 6)]
        db.close()


def test_other_pollers_are_counted_once_a_day_and_never_stored_by_address(app):
    worker = quiet_recorder()
    for _ in range(3):
        poll(worker, "/feed.rss", BROWSER, "203.0.113.7")
    poll(worker, "/feed.rss", BROWSER, "203.0.113.8")  # another client
    poll(worker, "/feed.rss", "Newsboat/2.36 (Linux x86_64)", "203.0.113.7")  # another reader, same address
    poll(worker, "/feed.rss", FEEDLY, "203.0.113.9")  # counted as Feedly's subscribers, not as a poller
    poll(worker, "/tag/ferries.json", BROWSER, "203.0.113.7")  # the same client on another feed
    store(app, worker, NOON + 1)
    # A second worker sees the first client again: the same digest, not a new poller.
    other = quiet_recorder(NOON + 600)
    poll(other, "/feed.rss", BROWSER, "203.0.113.7")
    store(app, other, NOON + 601)

    assert {(r.feed, r.subscribers, r.pollers, r.total) for r in stats_report(app)} == {
        ("/feed.rss", 462, 3, 465),
        ("/tag/ferries.json", 0, 1, 1),
    }
    stored = rows_of(app, Poller)
    assert len(stored) == 4 and all(re.fullmatch(r"[0-9a-f]{32}", row["digest"]) for row in stored)
    everything = repr([rows_of(app, model) for model in (SubscriberCount, Poller, PollerDay, StatsSalt)])
    for secret in ("203.0.113.", "Firefox", "Newsboat"):
        assert secret not in everything


def test_the_salt_is_daily_shared_and_forgotten_when_the_day_is_over(app):
    late = datetime(2026, 3, 1, 23, 59, tzinfo=UTC).timestamp()
    worker = quiet_recorder(late)
    poll(worker, "/feed.rss", BROWSER, "203.0.113.7")
    store(app, worker, late + 1)
    other = quiet_recorder(late + 10)  # another worker uses the salt the first one made
    poll(other, "/feed.rss", BROWSER, "203.0.113.7")
    store(app, other, late + 11)
    [salt] = rows_of(app, StatsSalt)
    assert salt["day"] == DAY and len(salt["salt"]) == 64
    [first] = rows_of(app, Poller)

    # After midnight: a new day, a new salt, so the same client's digest cannot be matched across days.
    midnight = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    worker.clock.moment = midnight + 60
    poll(worker, "/feed.rss", BROWSER, "203.0.113.7")
    store(app, worker, midnight + 61)
    days = {row["day"]: row["digest"] for row in rows_of(app, Poller)}
    assert set(days) == {DAY, DAY + timedelta(days=1)} and days[DAY] == first["digest"]
    assert days[DAY + timedelta(days=1)] != first["digest"]
    assert {row["day"] for row in rows_of(app, StatsSalt)} == {DAY, DAY + timedelta(days=1)}  # yesterday's: grace

    # Once the grace is over, the first flush forgets yesterday's salt and folds its digests into a count.
    after = midnight + GRACE.total_seconds() + 60
    worker.clock.moment = after
    poll(worker, "/feed.rss", BROWSER, "203.0.113.8")
    store(app, worker, after + 1)
    assert {row["day"] for row in rows_of(app, StatsSalt)} == {DAY + timedelta(days=1)}
    assert {row["day"] for row in rows_of(app, Poller)} == {DAY + timedelta(days=1)}
    assert [(r["day"], r["feed"], r["pollers"]) for r in rows_of(app, PollerDay)] == [(DAY, "/feed.rss", 1)]
    assert [(r.day, r.pollers) for r in stats_report(app)] == [(DAY + timedelta(days=1), 2), (DAY, 1)]

    # A straggler for the day that is over is not counted (its salt is gone: it could not be matched).
    other.clock.moment = midnight - 5
    poll(other, "/feed.rss", BROWSER, "203.0.113.99")
    store(app, other, after + 2)
    assert {row["day"] for row in rows_of(app, StatsSalt)} == {DAY + timedelta(days=1)}
    assert [(r.day, r.pollers) for r in stats_report(app)] == [(DAY + timedelta(days=1), 2), (DAY, 1)]


def test_the_report_is_filtered_by_day_and_feed(app):
    worker = quiet_recorder()
    poll(worker, "/feed.rss", FEEDLY)
    worker.clock.moment = NOON + 86400
    poll(worker, "/category/harbour.atom", BROWSER)
    poll(worker, "/feed.rss", BROWSER)
    store(app, worker, NOON + 86401)
    tomorrow = DAY + timedelta(days=1)
    assert [(r.day, r.feed) for r in stats_report(app)] == [
        (tomorrow, "/category/harbour.atom"),
        (tomorrow, "/feed.rss"),
        (DAY, "/feed.rss"),
    ]
    assert [(r.day, r.feed) for r in stats_report(app, tomorrow)] == [
        (tomorrow, "/category/harbour.atom"),
        (tomorrow, "/feed.rss"),
    ]
    assert [(r.day, r.total) for r in stats_report(app, DAY, ["/feed.rss"])] == [(tomorrow, 1), (DAY, 462)]
    assert stats_report(app, DAY, []) == []


def test_only_feed_addresses_are_recorded():
    assert feed_address("/feed.rss") == "/feed.rss"
    assert feed_address("https://news.example/category/harbour.atom?limit=5") == "/category/harbour.atom"
    assert feed_address("/tag/%E5%A4%9C%E5%B8%82.json") == "/tag/夜市.json"
    assert feed_address("/tag/ferries+works.rss") == "/tag/ferries+works.rss"
    for other in ("/", "/share/x.html", "/category/harbour.html", "/feeds.opml", "/feed/2026-01.rss", "/stats"):
        assert feed_address(other) is None
    assert feed_address("/tag/" + "a" * 300 + ".rss") is None


def test_a_batch_skips_what_is_not_a_feed(app):
    worker = quiet_recorder()
    poll(worker, "/share/x.html", BROWSER)
    poll(worker, "/tag/" + "夜市".encode().decode("latin-1") + ".rss", BROWSER)  # as WSGI spells UTF-8
    poll(worker, "/tag/\xff.rss", BROWSER)  # not UTF-8
    store(app, worker, NOON + 1)
    assert [(r.feed, r.pollers) for r in stats_report(app)] == [("/tag/夜市.rss", 1)]


# ---------------------------------------------------------------------------------------------- flushing


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_background_thread_flushes_every_few_seconds_and_when_the_buffer_fills(app):
    now = time.time()
    ticking = Recorder(flush_seconds=0.05, batch=10**6, clock=Clock(now))
    filling = Recorder(flush_seconds=3600, batch=3, clock=Clock(now))
    try:
        poll(ticking, "/feed.rss", FEEDLY)
        assert wait_for(lambda: ticking.pending() == 0 and len(rows_of(app, SubscriberCount)) == 1)
        for n in range(3):
            poll(filling, "/feed.atom", BROWSER, f"198.51.100.{n}")
        assert wait_for(lambda: filling.pending() == 0 and len(rows_of(app, Poller)) == 3)
    finally:
        ticking.close()
        filling.close()
    # Closing flushes what is left.
    closing = Recorder(flush_seconds=3600, batch=10**6, clock=Clock(now))
    poll(closing, "/feed.rss", BROWSER)
    closing.close()
    assert closing.pending() == 0 and len(rows_of(app, Poller)) == 4


def test_a_flush_that_fails_loses_those_polls_and_never_raises(app, caplog):
    worker = quiet_recorder()
    poll(worker, "/feed.rss", FEEDLY)
    with app.app_context():
        db.execute_sql('DROP TABLE "stats_subscriber_count"')
        db.close()
    worker._flush_quietly()
    assert worker.pending() == 0
    assert "Storing subscriber statistics failed" in caplog.text


# ---------------------------------------------------------------------------------------------- the two paths


@pytest.fixture
def polled_app(database_url):
    """An app with the good posts (a test app's recorder stores only when the test says so)."""
    app = make_app(database_url, SYNDICATION_PUBLIC_CONTENT="summary")
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    yield app
    if not db.is_closed():
        db.close()


def hot(status: str) -> float:
    return REGISTRY.get_sample_value("syndication_requests_total", {"route": "hot:feed", "status": status}) or 0.0


def issue(app, name: str, scope: str, categories: tuple[str, ...] = ()) -> str:
    with app.app_context():
        secret = Token.issue(name, scope, list(categories))
        db.close()
    return secret


def test_polls_are_recorded_on_the_hot_path_and_the_flask_path(polled_app):
    app, client = polled_app, polled_app.test_client()
    recorder = stats.recorder(app)
    agent = {"User-Agent": FEEDLY}

    first = client.get("/feed.rss", headers=agent)  # not rendered yet: Flask answers
    assert first.status_code == 200 and recorder.pending() == 1
    hits = hot("200")
    assert client.get("/feed.rss", headers=agent).status_code == 200  # the hot path answers
    assert hot("200") == hits + 1 and recorder.pending() == 2
    revalidations = hot("304")
    conditional = {**agent, "If-None-Match": first.headers["ETag"]}
    assert client.get("/feed.rss", headers=conditional).status_code == 304
    assert hot("304") == revalidations + 1 and recorder.pending() == 3

    partner = {"Authorization": "Bearer " + issue(app, "wire", "partner"), "User-Agent": BROWSER}
    full = client.get("/category/harbour.atom", headers=partner)  # partners are always Flask's
    assert full.status_code == 200 and recorder.pending() == 4
    again = client.get("/category/harbour.atom", headers={**partner, "If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and recorder.pending() == 5

    # Not polls of a feed, or not answered: not recorded.
    for path in ("/", "/category/harbour.html", "/share/harbour-dredging-2026.html", "/feeds.opml"):
        assert client.get(path, headers=agent).status_code == 200
    assert client.get("/category/nowhere.rss", headers=agent).status_code == 404
    assert client.get("/tag/works+ferries.rss", headers=agent).status_code == 301
    assert client.get("/feed.rss?limit=0", headers=agent).status_code == 400
    assert client.get("/feed.rss?content=full", headers=agent).status_code == 403
    assert recorder.pending() == 5

    with app.app_context():
        assert recorder.flush() == 5
        db.close()
    assert recorder.pending() == 0
    today = datetime.now(UTC).date()
    assert {(r.feed, r.subscribers, r.pollers) for r in stats_report(app, today)} == {
        ("/feed.rss", 462, 0),
        ("/category/harbour.atom", 0, 1),
    }


def test_statistics_can_be_turned_off(database_url):
    app = make_app(database_url, SYNDICATION_STATS="off")
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    client = app.test_client()
    for _ in range(2):  # the Flask path, then the hot path
        assert client.get("/feed.rss", headers={"User-Agent": FEEDLY}).status_code == 200
    assert stats.recorder(app).pending() == 0
    # Recording changes no response: the same feed has the same ETag either way.
    recording = make_app(database_url, SYNDICATION_STATS="on")
    etag = recording.test_client().get("/feed.rss").headers["ETag"]
    assert client.get("/feed.rss").headers["ETag"] == etag
    with pytest.raises(ConfigError, match="SYNDICATION_STATS"):
        make_app(database_url, SYNDICATION_STATS="maybe")


# ---------------------------------------------------------------------------------------------- flask stats


def record_today(app, polls: list[tuple[str, str, str]]) -> None:
    worker = Recorder(background=False)
    for path, agent, address in polls:
        poll(worker, path, agent, address)
    with app.app_context():
        worker.flush()
        db.close()


def test_flask_stats_prints_a_table(app, runner):
    today = datetime.now(UTC).date().isoformat()
    assert runner.invoke(args=["stats"]).output == f"No feed polls recorded since {_days_ago(6)}.\n"
    record_today(
        app,
        [
            ("/feed.rss", FEEDLY, "198.51.100.1"),
            ("/feed.rss", "Feedbin feed-id:1 - 1500 subscribers", "198.51.100.2"),
            ("/feed.rss", BROWSER, "198.51.100.3"),
            ("/category/harbour.atom", BROWSER, "198.51.100.3"),
        ],
    )
    result = runner.invoke(args=["stats"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["day", "feed", "aggregators", "other pollers", "total"]
    assert re.split(r"\s{2,}", lines[1]) == [today, "/category/harbour.atom", "0", "1", "1"]
    assert re.split(r"\s{2,}", lines[2]) == [today, "/feed.rss", "1,962", "1", "1,963"]
    assert len(lines) == 3

    for feed in ("/feed.rss", "https://news.example/feed.rss"):
        only = runner.invoke(args=["stats", "--feed", feed, "--days", "1"])
        assert only.exit_code == 0 and [line.split()[1] for line in only.output.splitlines()[1:]] == ["/feed.rss"]
    none = runner.invoke(args=["stats", "--feed", "/tag/ferries.rss"])
    assert none.output == f"No feed polls recorded since {_days_ago(6)} for /tag/ferries.rss.\n"


def _days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--feed", "/share/x.html"], "is not a feed address"),
        (["--days", "0"], "0 is not in the range"),
        (["--days", "many"], "is not a valid integer"),
    ],
)
def test_flask_stats_refuses_bad_options(runner, args, reason):
    result = runner.invoke(args=["stats", *args])
    assert result.exit_code == 2 and reason in result.output


# ---------------------------------------------------------------------------------------------- /stats


def test_stats_page_needs_a_partner_or_admin_token(app, client, runner):
    assert client.get("/stats").status_code == 401
    assert client.get("/stats", headers={"Authorization": "Bearer syn_nothing"}).status_code == 403
    assert client.get("/stats?key=").status_code == 403
    writer = issue(app, "newsroom", "write")
    refused = client.get("/stats", headers={"Authorization": f"Bearer {writer}"})
    assert refused.status_code == 403 and b"needs partner or admin" in refused.data

    made = runner.invoke(args=["tokens", "create", "ops", "--scope", "admin"])
    assert made.exit_code == 0, made.output
    admin = made.output.splitlines()[0]
    page = client.get("/stats", headers={"Authorization": f"Bearer {admin}"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    assert page.content_type == "text/html; charset=utf-8"
    assert client.get(f"/stats?key={admin}").status_code == 200
    with app.app_context():
        Token.revoke("ops")
        db.close()
    assert client.get("/stats", headers={"Authorization": f"Bearer {admin}"}).status_code == 403


def feed_cells(html: str) -> set[tuple[str, ...]]:
    """(feed, aggregators, other pollers, total) of each row of the page's table."""
    table = html.split('<table class="feeds">', 1)[1] if '<table class="feeds">' in html else ""
    cell = r"<td>([^<]+)</td>"
    return set(re.findall(rf"<tr><td>[^<]+</td><td><a [^>]*>([^<]+)</a></td>{cell}{cell}{cell}", table))


def test_stats_page_shows_the_table_and_a_chart(app, client):
    record_today(
        app,
        [
            ("/feed.rss", FEEDLY, "198.51.100.1"),
            ("/feed.rss", BROWSER, "198.51.100.3"),
            ("/category/harbour.atom", "Mozilla/5.0 (compatible; inoreader.com; 38 subscribers)", "198.51.100.2"),
            ("/category/harbour.rss", BROWSER, "198.51.100.3"),
            ("/category/weather.rss", BROWSER, "198.51.100.3"),
        ],
    )
    admin = {"Authorization": "Bearer " + issue(app, "ops", "admin")}
    html = client.get("/stats", headers=admin).get_data(as_text=True)
    assert feed_cells(html) == {
        ("/feed.rss", "462", "1", "463"),
        ("/category/harbour.atom", "38", "0", "38"),
        ("/category/harbour.rss", "0", "1", "1"),
        ("/category/weather.rss", "0", "1", "1"),
    }
    assert "<td>Feedly</td><td>462</td>" in html and "<td>Inoreader</td><td>38</td>" in html
    # The chart is drawn on the server: shapes only, no script, no style attributes (the CSP allows neither).
    assert "<svg" in html and 'class="subscribers"' in html and 'class="pollers"' in html
    assert "<script" not in html and "style=" not in html
    assert len(re.findall(r'<g class="day">', html)) == 30

    one = client.get("/stats?feed=/feed.rss&days=7", headers=admin).get_data(as_text=True)
    assert feed_cells(one) == {("/feed.rss", "462", "1", "463")}
    assert len(re.findall(r'<g class="day">', one)) == 7
    assert 'href="/stats?days=7"' in one  # back to every feed, keeping the period

    # A partner limited to a category sees that category's feeds only, and the links keep its key.
    wire = issue(app, "wire", "partner", ("harbour",))
    mine = client.get(f"/stats?key={wire}").get_data(as_text=True)
    assert feed_cells(mine) == {("/category/harbour.atom", "38", "0", "38"), ("/category/harbour.rss", "0", "1", "1")}
    assert f'href="/stats?feed=/category/harbour.rss&amp;key={wire}"' in mine
    assert client.get(f"/stats?key={wire}&feed=/feed.rss").status_code == 403
    assert client.get(f"/stats?key={wire}&feed=/category/harbour.atom").status_code == 200
    # An unlimited partner sees every feed.
    everyone = issue(app, "agency", "partner")
    assert len(feed_cells(client.get(f"/stats?key={everyone}").get_data(as_text=True))) == 4


@pytest.mark.parametrize(
    "query",
    ["days=0", "days=367", "days=ten", "days=%EF%BC%95", "feed=/share/x.html", "feed=", "colour=red", "days=7&days=8"],
)
def test_stats_page_refuses_bad_parameters(app, client, query):
    admin = issue(app, "ops", "admin")
    response = client.get(f"/stats?{query}", headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 400 and response.data.startswith(b"400 Bad Request: ")


def test_the_chart_stacks_each_day_to_scale():
    from models.stats import FeedDay

    since = DAY
    rows = [
        FeedDay(DAY, "/feed.rss", 6, 2),
        FeedDay(DAY, "/feed.atom", 2, 0),
        FeedDay(DAY + timedelta(days=2), "/feed.rss", 3, 1),
    ]
    chart = daily_chart(rows, since, DAY + timedelta(days=2), width=356, height=134)
    first, empty, third = chart.bars
    assert (first.subscribers, first.pollers, empty.subscribers + empty.pollers) == (8, 2, 0)
    assert chart.grid == [(110, "0"), (60, "5"), (10, "10")]  # 10 is the round top above the largest, 10
    assert (first.subscribers_y, first.subscribers_height) == (30, 80)
    assert (first.pollers_y, first.pollers_height) == (10, 20)
    assert third.subscribers_height == 30 and third.pollers_height == 10
    assert first.x < empty.x < third.x and first.width == empty.width == third.width == 80


def test_the_chart_keeps_its_day_labels_inside_it():
    """The first and last labels sit under the first and last bars, but no further out than half a label
    from the edges: the last one was cut off at the chart's right edge."""
    since = DAY - timedelta(days=29)
    chart = daily_chart([], since, DAY, width=720, height=220)
    xs = [x for x, _ in chart.labels]
    assert [text for _, text in chart.labels] == [
        since.isoformat(),
        (since + timedelta(days=15)).isoformat(),
        DAY.isoformat(),
    ]
    assert min(xs) >= chart.left + 34 and max(xs) <= chart.width - 34
