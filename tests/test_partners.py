"""Partner feeds: SYNDICATION_PUBLIC_CONTENT=summary keeps full content for partner tokens (Bearer or
?key=), within their categories; their copies are private and never reach the public cache; unknown,
revoked or wrong-scope tokens are refused, never answered with the public feed."""

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from models import Token, db

from .conftest import FIXTURES, SITE_URL, fresh_schema, import_paths, make_app

CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
FORMATS = ("rss", "atom", "json")
BASES = ("/feed", "/category/harbour", "/tag/ferries")
FEEDS = [f"{base}.{fmt}" for base in BASES for fmt in FORMATS]
# The ferry article is in every one of BASES; this sentence is in its body, not in its summary.
BODY_ONLY = "The last sailing back from the island"
SHARE_PAGES = [
    "NW202601100900000001",
    "NW202601112030000002",
    "2026-01-12-markdown-no-tz",
    "2026-01-13-hostile",
    "harbour-dredging-2026",
]


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def summary_app(database_url):
    """An app whose public feeds carry summaries only, with the five good posts imported."""
    app = make_app(database_url, SYNDICATION_PUBLIC_CONTENT="summary")
    fresh_schema(app)
    report = import_paths(app, FIXTURES / "good")
    assert report.counts["imported"] == 5, report.failures
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def summary_client(summary_app):
    return summary_app.test_client()


def issue(app, name: str, scope: str = "partner", categories: tuple[str, ...] = ()) -> str:
    with app.app_context():
        secret = Token.issue(name, scope, list(categories))
        db.close()
    return secret


def revoke(app, name: str) -> None:
    with app.app_context():
        assert Token.revoke(name)
        db.close()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def with_key(path: str, secret: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}key={secret}"


def items(data: bytes, fmt: str) -> list[dict]:
    """Each item's summary and full content (None where the item carries none)."""
    if fmt == "json":
        found = []
        for item in json.loads(data)["items"]:
            assert not ("content_html" in item and "content_text" in item), item
            found.append(
                {"summary": item["summary"], "content": item.get("content_html"), "text": item.get("content_text")}
            )
        return found
    root = ET.fromstring(data)
    if fmt == "rss":
        return [
            {"summary": item.findtext("description"), "content": item.findtext(f"{CONTENT_NS}encoded")}
            for item in root.iter("item")
        ]
    return [
        {"summary": entry.findtext(f"{ATOM_NS}summary"), "content": entry.findtext(f"{ATOM_NS}content")}
        for entry in root.iter(f"{ATOM_NS}entry")
    ]


def fmt_of(path: str) -> str:
    return urlsplit(path).path.rsplit(".", 1)[1]


def assert_full(response, path: str) -> None:
    assert response.status_code == 200, (path, response.status_code, response.data[:200])
    found = items(response.data, fmt_of(path))
    assert found, path
    assert all(item["content"] for item in found), path
    if fmt_of(path) == "json":
        assert all(item["text"] is None for item in found), path
    assert BODY_ONLY in response.get_data(as_text=True), path


def assert_summary(response, path: str) -> None:
    assert response.status_code == 200, (path, response.status_code, response.data[:200])
    fmt = fmt_of(path)
    found = items(response.data, fmt)
    assert found, path
    assert all(item["content"] is None for item in found), path
    assert all(item["summary"] for item in found), path
    if fmt == "rss":
        assert b"content:encoded" not in response.data
    elif fmt == "atom":
        assert f"<{ATOM_NS}content" not in response.get_data(as_text=True)
        assert b"<content" not in response.data
    else:
        assert all(item["text"] == item["summary"] for item in found), path
        assert b"content_html" not in response.data
    assert BODY_ONLY not in response.get_data(as_text=True), path


def location(response) -> tuple[str, dict[str, list[str]]]:
    """The path and query of a redirect's target (which must stay on this site)."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", urlsplit(SITE_URL).netloc, "localhost"), response.headers["Location"]
    return parts.path, parse_qs(parts.query)


def assert_private(response) -> None:
    cache_control = response.headers["Cache-Control"]
    assert cache_control.startswith("private, max-age="), cache_control
    assert "public" not in cache_control, cache_control
    assert int(cache_control.split("max-age=")[1].split(",")[0]) > 0


def assert_public(response) -> None:
    assert response.headers["Cache-Control"].startswith("public, max-age="), response.headers["Cache-Control"]


class FlaskCalls:
    """Counts the requests the hot path hands on to Flask (the rest it answered itself)."""

    def __init__(self, app, monkeypatch):
        hot_path = app.wsgi_app
        self.real = hot_path.flask_app
        self.count = 0
        monkeypatch.setattr(hot_path, "flask_app", self)

    def __call__(self, environ, start_response):
        self.count += 1
        return self.real(environ, start_response)


# ---------------------------------------------------------------------------------- the default: full


@pytest.mark.parametrize("path", FEEDS)
def test_public_feeds_carry_full_content_by_default(app, client, good_posts, path):
    assert app.config["SYNDICATION_PUBLIC_CONTENT"] == "full"
    response = client.get(path)
    assert_full(response, path)
    assert_public(response)
    if path.endswith(".rss"):
        assert b"<content:encoded>" in response.data


def test_an_unknown_key_is_refused_even_where_public_feeds_are_full(client, good_posts):
    for response in (
        client.get("/feed.rss?key=syn_nosuchtoken"),
        client.get("/feed.rss", headers=bearer("syn_nosuchtoken")),
    ):
        assert response.status_code == 403
        assert b"unknown or revoked" in response.data


# -------------------------------------------------------------------------- summary mode, no token


@pytest.mark.parametrize("path", FEEDS)
def test_public_feeds_carry_summaries_only_in_summary_mode(summary_client, path):
    response = summary_client.get(path)
    assert response.status_code == 200  # canonical as it is: no content= parameter, no redirect
    assert_summary(response, path)
    assert_public(response)
    # The feed's own links (self, alternate, paging) name no content= parameter.
    assert not re.search(rb"[?&;]content=", response.data), path
    if path.endswith(".json"):
        assert json.loads(response.data)["feed_url"] == SITE_URL + path


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json"])
def test_asking_for_full_content_without_a_token_is_403_with_a_reason(summary_client, path):
    response = summary_client.get(f"{path}?content=full")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "partner" in text
    assert BODY_ONLY not in text


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json"])
def test_content_summary_is_the_default_there_and_redirects_away(summary_client, path):
    response = summary_client.get(f"{path}?content=summary")
    assert response.status_code == 301
    assert location(response) == (path, {})
    assert_summary(summary_client.get(path), path)


def test_summary_default_with_other_parameters_redirects_to_them_alone(summary_client):
    response = summary_client.get("/category/harbour.rss?limit=5&content=summary")
    assert response.status_code == 301
    assert location(response) == ("/category/harbour.rss", {"limit": ["5"]})
    assert_summary(summary_client.get("/category/harbour.rss?limit=5"), "/category/harbour.rss")


# -------------------------------------------------------------------------------------- partner token


@pytest.mark.parametrize("path", FEEDS)
def test_a_partner_token_unlocks_full_content_by_bearer_and_by_key(summary_app, summary_client, path):
    secret = issue(summary_app, "wire-service")
    public = summary_client.get(path)
    assert_summary(public, path)

    by_header = summary_client.get(path, headers=bearer(secret))
    assert_full(by_header, path)
    assert_private(by_header)
    assert by_header.headers["ETag"] != public.headers["ETag"]

    by_key = summary_client.get(with_key(path, secret))
    assert by_key.status_code == 200  # canonical: the key is not one of the address's parameters
    assert_full(by_key, path)
    assert_private(by_key)
    assert by_key.headers["ETag"] != public.headers["ETag"]


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json"])
def test_a_partner_copy_answers_304_with_the_token_only(summary_app, summary_client, path):
    secret = issue(summary_app, "wire-service")
    public_etag = summary_client.get(path).headers["ETag"]
    first = summary_client.get(path, headers=bearer(secret))
    etag = first.headers["ETag"]

    again = summary_client.get(path, headers={**bearer(secret), "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert_private(again)
    by_key = summary_client.get(with_key(path, secret), headers={"If-None-Match": etag})
    assert by_key.status_code == 304
    assert_private(by_key)

    # The partner's tag does not validate the public copy, nor the public tag the partner's copy.
    anonymous = summary_client.get(path, headers={"If-None-Match": etag})
    assert anonymous.status_code == 200
    assert_summary(anonymous, path)
    assert_public(anonymous)
    partner_with_public_tag = summary_client.get(path, headers={**bearer(secret), "If-None-Match": public_etag})
    assert partner_with_public_tag.status_code == 200
    assert_full(partner_with_public_tag, path)


def test_partner_responses_are_private_with_gzip_too(summary_app, summary_client):
    secret = issue(summary_app, "wire-service")
    response = summary_client.get("/feed.atom", headers={**bearer(secret), "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert_private(response)


def test_a_partner_may_still_ask_for_summaries(summary_app, summary_client):
    secret = issue(summary_app, "wire-service")
    response = summary_client.get(with_key("/feed.rss?content=summary", secret))
    assert response.status_code == 200  # not the partner's default, so it stays in the address
    assert_summary(response, "/feed.rss")
    assert_private(response)


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        ("/feed.rss?limit=20", ("/feed.rss", {})),
        ("/feed.rss?content=full", ("/feed.rss", {})),  # full is a partner's default
        ("/tag/ferries.atom?exclude=works,budget", ("/tag/ferries.atom", {"exclude": ["budget,works"]})),
        (
            "/category/harbour.json?limit=5&any=markets",
            ("/category/harbour.json", {"any": ["markets"], "limit": ["5"]}),
        ),
        ("/tag/works+ferries.rss", ("/tag/ferries+works.rss", {})),
    ],
)
def test_a_non_canonical_address_with_a_key_redirects_and_keeps_the_key(summary_app, summary_client, asked, canonical):
    secret = issue(summary_app, "wire-service")
    response = summary_client.get(with_key(asked, secret))
    assert response.status_code == 301
    path, query = location(response)
    assert query.pop("key") == [secret]
    assert (path, query) == canonical
    followed = summary_client.get(response.headers["Location"])
    assert followed.status_code == 200
    assert all(item["content"] for item in items(followed.data, fmt_of(path)))
    assert_private(followed)


def test_the_key_may_come_anywhere_in_a_canonical_query(summary_app, summary_client):
    secret = issue(summary_app, "wire-service")
    for asked in (f"/feed.rss?key={secret}&limit=5", f"/feed.rss?limit=5&key={secret}"):
        response = summary_client.get(asked)
        assert response.status_code == 200, asked
        assert len(items(response.data, "rss")) == 5
        assert all(item["content"] for item in items(response.data, "rss"))


def test_a_token_made_with_the_cli_unlocks_full_content(summary_app, summary_client):
    runner = summary_app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "reader-app", "--scope", "partner"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert_full(summary_client.get("/feed.json", headers=bearer(secret)), "/feed.json")
    listed = runner.invoke(args=["tokens", "list"])
    assert "reader-app\tpartner\t*\tlive" in listed.stdout
    assert secret not in listed.stdout


# ------------------------------------------------------------------------- partner limited to categories


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_category_partner_reads_its_category_in_full(summary_app, summary_client, fmt):
    secret = issue(summary_app, "harbour-desk", categories=("harbour",))
    path = f"/category/harbour.{fmt}"
    by_header = summary_client.get(path, headers=bearer(secret))
    assert_full(by_header, path)
    assert_private(by_header)
    by_key = summary_client.get(with_key(path, secret))
    assert_full(by_key, path)
    assert_private(by_key)


@pytest.mark.parametrize(
    "path", ["/category/culture.rss", "/category/weather.json", "/feed.rss", "/feed.atom", "/tag/ferries.rss"]
)
def test_a_category_partner_is_refused_elsewhere_naming_its_categories(summary_app, summary_client, path):
    secret = issue(summary_app, "harbour-desk", categories=("harbour",))
    for response in (summary_client.get(path, headers=bearer(secret)), summary_client.get(with_key(path, secret))):
        assert response.status_code == 403, path
        text = response.get_data(as_text=True)
        assert "harbour" in text
        assert BODY_ONLY not in text


# ---------------------------------------------------------------------------- refused tokens: never public


def _refused(summary_app, kind: str) -> str:
    if kind == "unknown":
        return "syn_" + "x" * 43
    secret = issue(summary_app, kind, scope="write" if kind == "write" else "partner")
    if kind == "revoked":
        revoke(summary_app, kind)
    return secret


@pytest.mark.parametrize("kind", ["unknown", "revoked", "write"])
@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json", "/feed/2026-01.rss"])
def test_a_refused_token_is_403_never_the_public_feed(summary_app, summary_client, kind, path):
    secret = _refused(summary_app, kind)
    reason = "scope is write" if kind == "write" else "unknown or revoked"
    for response in (summary_client.get(path, headers=bearer(secret)), summary_client.get(with_key(path, secret))):
        assert response.status_code == 403, (kind, path, response.status_code)
        assert reason in response.get_data(as_text=True)
        assert "Cache-Control" not in response.headers or "public" not in response.headers["Cache-Control"]


def test_a_refused_key_on_a_non_canonical_address_is_403_not_a_redirect(summary_client):
    response = summary_client.get("/feed.rss?limit=20&key=syn_nosuchtoken")
    assert response.status_code == 403


def test_revocation_takes_effect_on_the_next_request(summary_app, summary_client):
    secret = issue(summary_app, "wire-service")
    first = summary_client.get("/feed.rss", headers=bearer(secret))
    assert_full(first, "/feed.rss")
    assert (
        summary_client.get("/feed.rss", headers={**bearer(secret), "If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )
    assert_full(summary_client.get(with_key("/feed.rss", secret)), "/feed.rss")

    revoke(summary_app, "wire-service")
    # Neither the rendered copy in memory nor the client's tag lets the revoked token through.
    assert summary_client.get("/feed.rss", headers=bearer(secret)).status_code == 403
    assert (
        summary_client.get("/feed.rss", headers={**bearer(secret), "If-None-Match": first.headers["ETag"]}).status_code
        == 403
    )
    assert summary_client.get(with_key("/feed.rss", secret)).status_code == 403
    assert_summary(summary_client.get("/feed.rss"), "/feed.rss")


def test_revocation_reaches_another_app_on_the_same_database(summary_app, database_url):
    secret = issue(summary_app, "wire-service")
    worker = make_app(database_url, SYNDICATION_PUBLIC_CONTENT="summary")  # another worker: its own cache
    client = worker.test_client()
    warm = client.get("/category/harbour.rss", headers=bearer(secret))
    assert_full(warm, "/category/harbour.rss")
    assert_full(client.get(with_key("/category/harbour.rss", secret)), "/category/harbour.rss")

    revoked = summary_app.test_cli_runner().invoke(args=["tokens", "revoke", "wire-service"])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/category/harbour.rss", headers=bearer(secret)).status_code == 403
    assert (
        client.get(
            "/category/harbour.rss", headers={**bearer(secret), "If-None-Match": warm.headers["ETag"]}
        ).status_code
        == 403
    )
    assert client.get(with_key("/category/harbour.rss", secret)).status_code == 403
    assert summary_app.test_client().get("/category/harbour.rss", headers=bearer(secret)).status_code == 403
    with worker.app_context():
        db.close()


# ------------------------------------------------------------------------------ the public cache stays clean


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json"])
@pytest.mark.parametrize("how", ["bearer", "key"])
def test_a_partner_fetch_first_does_not_reach_the_public(summary_app, summary_client, monkeypatch, path, how):
    secret = issue(summary_app, "wire-service")
    calls = FlaskCalls(summary_app, monkeypatch)
    if how == "bearer":
        partner = summary_client.get(path, headers=bearer(secret))
    else:
        partner = summary_client.get(with_key(path, secret))
    assert_full(partner, path)
    assert_private(partner)

    first = summary_client.get(path)
    flask_before_second = calls.count
    second = summary_client.get(path)
    assert calls.count == flask_before_second, "the second public request should be the hot path's"
    for response in (first, second):
        assert_summary(response, path)
        assert_public(response)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"] != partner.headers["ETag"]
    # Nor does the hot path answer a public request with the partner's tag as a 304.
    assert summary_client.get(path, headers={"If-None-Match": partner.headers["ETag"]}).status_code == 200


@pytest.mark.parametrize("path", ["/feed.rss", "/category/harbour.atom", "/tag/ferries.json"])
@pytest.mark.parametrize("how", ["bearer", "key"])
def test_a_public_fetch_first_does_not_reach_the_partner(summary_app, summary_client, monkeypatch, path, how):
    secret = issue(summary_app, "wire-service")
    calls = FlaskCalls(summary_app, monkeypatch)
    public = summary_client.get(path)
    summary_client.get(path)  # now in memory: the hot path serves it
    assert calls.count == 1
    assert_summary(public, path)

    if how == "bearer":
        partner = summary_client.get(path, headers=bearer(secret))
    else:
        partner = summary_client.get(with_key(path, secret))
    assert calls.count == 2  # partners' requests are Flask's
    assert_full(partner, path)
    assert_private(partner)

    after = summary_client.get(path)
    assert_summary(after, path)
    assert_public(after)
    assert after.data == public.data


def test_two_partners_get_their_own_copies(summary_app, summary_client):
    everything = issue(summary_app, "wire-service")
    harbour = issue(summary_app, "harbour-desk", categories=("harbour",))
    one = summary_client.get("/category/harbour.rss", headers=bearer(everything))
    two = summary_client.get("/category/harbour.rss", headers=bearer(harbour))
    assert_full(one, "/category/harbour.rss")
    assert_full(two, "/category/harbour.rss")
    assert one.headers["ETag"] != two.headers["ETag"]
    # The limited partner's copy does not open the site feed to it.
    assert (
        summary_client.get("/feed.rss", headers={**bearer(harbour), "If-None-Match": one.headers["ETag"]}).status_code
        == 403
    )


# ----------------------------------------------------------------------------------------- static export


def test_export_static_writes_summaries_only_even_with_partner_tokens(summary_app, summary_client, tmp_path):
    secret = issue(summary_app, "wire-service")
    issue(summary_app, "harbour-desk", categories=("harbour",))
    # A partner's copy rendered before the export must not end up in it.
    assert_full(summary_client.get("/feed.rss", headers=bearer(secret)), "/feed.rss")
    out = tmp_path / "site"
    result = summary_app.test_cli_runner().invoke(args=["export-static", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("feed.rss", "category/harbour.rss", "tag/ferries.rss"):
        data = (out / name).read_bytes()
        assert b"content:encoded" not in data, name
        assert BODY_ONLY.encode() not in data, name
        assert data == summary_client.get(f"/{name}").data
    for name in ("feed.atom", "category/harbour.atom", "tag/ferries.atom"):
        assert all(item["content"] is None for item in items((out / name).read_bytes(), "atom")), name
    for name in ("feed.json", "category/harbour.json", "tag/ferries.json"):
        assert b"content_html" not in (out / name).read_bytes(), name


# --------------------------------------------------------------------------------------- share pages


def test_share_pages_show_the_whole_article_whatever_the_setting(summary_app, summary_client, database_url):
    full_app = make_app(database_url)  # the same database, public content full
    full_client = full_app.test_client()
    for article_id in SHARE_PAGES:
        path = f"/share/{article_id}.html"
        summary_page, full_page = summary_client.get(path), full_client.get(path)
        assert summary_page.status_code == full_page.status_code == 200, path
        assert summary_page.data == full_page.data, path
        assert_public(summary_page)
    ferry = summary_client.get(f"/share/{SHARE_PAGES[0]}.html").get_data(as_text=True)
    assert BODY_ONLY in ferry
    assert "Musicians will play" in summary_client.get(f"/share/{SHARE_PAGES[1]}.html").get_data(as_text=True)
    with full_app.app_context():
        db.close()


def test_share_pages_ignore_a_partner_token(summary_app, summary_client):
    secret = issue(summary_app, "harbour-desk", categories=("harbour",))
    path = f"/share/{SHARE_PAGES[1]}.html"
    public = summary_client.get(path)
    assert summary_client.get(path, headers=bearer(secret)).data == public.data
