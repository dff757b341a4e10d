"""Polite rate limits: per-client budgets on feeds and the API, 429 with an honest Retry-After, 304s
cheaper than 200s; counters in memory or shared in Redis."""

import os

import pytest

from models import Token, db

from .conftest import FIXTURES, fresh_schema, import_paths, make_app

REDIS_URL = os.environ.get("SYNDICATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as e:
        if os.environ.get("SYNDICATION_TEST_REQUIRE_REDIS"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {e} (SYNDICATION_TEST_REQUIRE_REDIS is set)")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {e}")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    return "memory://" if request.param == "memory" else redis_or_skip()


def limited_app(database_url, storage, **settings):
    app = make_app(database_url, SYNDICATION_RATELIMIT_STORAGE=storage, **settings)
    app.extensions["syndication.ratelimit"].reset()  # counters left by earlier tests
    return app


@pytest.fixture
def feeds_app(database_url, storage):
    app = limited_app(database_url, storage, SYNDICATION_RATELIMIT_FEEDS="12/minute")
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    return app


def test_full_responses_spend_the_budget_and_then_429_with_retry_after(feeds_app):
    client = feeds_app.test_client()
    # A 200 costs 4 units of 12: three fit (the first rendered by Flask, the rest from the hot path).
    assert [client.get("/feed.rss").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/feed.rss")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.data.startswith(b"429 Too Many Requests: This client's budget is spent; try again in ")
    assert b"Traceback" not in refused.data
    # Flask's path answers alike (a parameter keeps the request away from the hot path).
    assert client.get("/feed.atom?limit=5").status_code == 429


def test_304s_cost_less_than_200s(feeds_app):
    client = feeds_app.test_client()
    etag = client.get("/feed.rss").headers["ETag"]  # 4 units spent
    statuses = [client.get("/feed.rss", headers={"If-None-Match": etag}).status_code for _ in range(8)]
    assert statuses == [304] * 8  # 1 unit each: 12 in all
    assert client.get("/feed.rss", headers={"If-None-Match": etag}).status_code == 429


def test_clients_are_told_apart(feeds_app):
    one = feeds_app.test_client()
    for _ in range(3):
        one.get("/feed.rss", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert one.get("/feed.rss", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429
    assert one.get("/feed.rss", environ_base={"REMOTE_ADDR": "192.0.2.2"}).status_code == 200


def test_a_partner_is_charged_by_its_token_not_its_address(feeds_app):
    with feeds_app.app_context():
        secret = Token.issue("wire", "partner", [])
        db.close()
    client = feeds_app.test_client()
    for _ in range(3):
        client.get("/feed.rss")
    assert client.get("/feed.rss").status_code == 429  # the address's budget is spent
    keyed = client.get("/feed.rss", headers={"Authorization": f"Bearer {secret}"})
    assert keyed.status_code == 200  # the token has its own


def test_the_api_has_its_own_budget(database_url, storage):
    app = limited_app(database_url, storage, SYNDICATION_RATELIMIT_API="3/minute")
    fresh_schema(app)
    client = app.test_client()
    statuses = [client.get("/api/v1/openapi.json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/openapi.json")
    assert refused.is_json and "budget" in refused.json["error"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_redis_counters_are_shared_between_workers(database_url):
    """Two apps (two workers, or two hosts) on one Redis share each client's budget."""
    url = redis_or_skip()
    first = limited_app(database_url, url, SYNDICATION_RATELIMIT_FEEDS="8/minute")
    fresh_schema(first)
    import_paths(first, FIXTURES / "good")
    second = make_app(database_url, SYNDICATION_RATELIMIT_STORAGE=url, SYNDICATION_RATELIMIT_FEEDS="8/minute")
    assert first.test_client().get("/feed.rss").status_code == 200
    assert second.test_client().get("/feed.rss").status_code == 200
    assert second.test_client().get("/feed.rss").status_code == 429


def test_no_limit_when_the_setting_is_empty(database_url):
    app = make_app(database_url, SYNDICATION_RATELIMIT_FEEDS="")
    fresh_schema(app)
    client = app.test_client()
    assert {client.get("/feed.rss").status_code for _ in range(400)} == {200}


def test_a_malformed_limit_is_refused_at_start(database_url):
    from syndication.config import ConfigError

    with pytest.raises(ConfigError, match="SYNDICATION_RATELIMIT_FEEDS"):
        make_app(database_url, SYNDICATION_RATELIMIT_FEEDS="lots")


def test_local_windows_count_per_clock_aligned_window_and_say_when_it_ends():
    from limits import parse

    from syndication.ratelimit import LocalWindows

    now = [1_000_040.0]  # 20 s into a minute (1,000,020 is a multiple of 60)
    windows = LocalWindows(clock=lambda: now[0])
    budget = parse("10/minute")
    assert [windows.charge(budget, "feeds", "a", 4) for _ in range(2)] == [0, 0]
    assert windows.charge(budget, "feeds", "a", 4) == 40  # 12 > 10: refused until the minute is over
    assert windows.charge(budget, "feeds", "b", 4) == 0  # another client, its own count
    assert windows.charge(budget, "api", "a", 4) == 0  # another bucket too
    now[0] = 1_000_059.5
    assert windows.charge(budget, "feeds", "a", 1) == 21  # refused requests count, as in `limits`
    now[0] = 1_000_080.0  # the next minute
    assert windows.charge(budget, "feeds", "a", 10) == 0


def test_local_windows_forget_finished_windows_when_many_clients_came():
    from limits import parse

    from syndication.ratelimit import LocalWindows

    now = [0.0]
    windows = LocalWindows(clock=lambda: now[0])
    windows.MAX_CLIENTS = 100
    budget = parse("10/minute")
    for i in range(100):
        windows.charge(budget, "feeds", f"c{i}", 1)
    now[0] = 60.0
    windows.charge(budget, "feeds", "late", 1)  # a new window and a full dict: the old minute is swept
    assert len(windows._counters) == 1


def test_memory_counters_start_no_threads(database_url):
    """limits' MemoryStorage started a Timer thread every 10 ms while a key lived (a hundred a second in a
    busy worker); the local counters start none."""
    import threading

    app = make_app(database_url, SYNDICATION_RATELIMIT_STORAGE="memory://")
    limiter = app.extensions["syndication.ratelimit"]
    before = threading.active_count()
    for _ in range(50):
        limiter.charge("feeds", "addr:1", 1)
    assert threading.active_count() == before
