"""Every address, every bad parameter: a sweep over every route of app.url_map (a new route is swept
without anyone adding it here) with malformed paths, parameters, methods and headers, through the whole
WSGI stack (the hot path in front of Flask, and Flask), then raw bytes no test client can send against
a real gunicorn on 127.0.0.1. Never a 5xx, never a stack trace or a file path; every 4xx says why.

And the security headers: nosniff on every response, a strict Content-Security-Policy and a
Referrer-Policy on every HTML page (whichever path answers it), no version banners.
"""

import base64
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import lxml.html
import pytest

from models import Token, db
from syndication import security

from .conftest import FIXTURES, fresh_schema, import_paths, make_app

REPO = Path(__file__).resolve().parents[1]
ARTICLE = "NW202601100900000001"  # a fixture article: in category harbour, tag ferries
# A well-formed value for each route argument; an argument not named here gets "x" (still swept).
VALID = {
    "slug": "harbour",
    "names": "ferries",
    "article_id": ARTICLE,
    "month": "2026-01",
    "day": "2026-01-10",
    "part": "1",
    "filename": "feed.xsl",
}
VALID_QUERY = {"pages.legacy_share": f"infoCode={ARTICLE}"}

# Path segments, as they appear in the address (percent-encoded where a client would encode them).
SEGMENTS = [
    "a" * 5000,
    "%00",
    "a%00b",
    "%ff%fe",
    "%c0%ae%c0%ae",  # an overlong UTF-8 '..'
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5c..%5cwindows",
    "../../etc/passwd",
    "%2e%2e",
    "..",
    ".",
    "%252e%252e%252f",
    "%0d%0aSet-Cookie:%20x=1",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%E5%A4%9C%E5%B8%82",
    "%F0%9F%98%80",
    "+",
    "a+b+",
    "%20",
    "9" * 400,
    "-1",
    "1.5",
    "1e999",
    "",
    ";x=1",
    "%",
    "%zz",
    "9999-99",
    "0000-00",
    "2026-1",
]
QUERIES = [
    "limit=0",
    "limit=-1",
    "limit=1.5",
    "limit=1e3",
    "limit=" + "9" * 400,
    "limit=",
    "limit=1&limit=2",
    "limit=%00",
    "limit=%ff%fe",
    "limit=0x10",
    "limit=%EF%BC%91",  # a full-width digit one
    "limit=101",
    "before=garbage",
    "before=%00",
    "before=99999999T999999.999999Z~x",
    "before=00010101T000000.000000Z~a",
    "before=20260101T000000.000000Z~",
    "after=20260101T000000.000000Z~a&before=20260101T000000.000000Z~a",
    "any=",
    "any=,,,",
    "any=%00",
    "any=nonexistent",
    "exclude=" + "a," * 1000,
    "tag=ferries",
    "content=xyz",
    "content=",
    "content=full&content=summary",
    "format=xyz",
    "format=atom&format=rss",
    "infoCode=",
    "infoCode=..%2f..%2fetc",
    "infoCode=%00",
    "infoCode=" + "a" * 5000,
    "key=",
    "key=%00",
    "days=-1",
    "days=" + "9" * 100,
    "feed=javascript:alert(1)",
    "unknown=1",
    "a=%ff%fe",
    "%ff=1",
    "=",
    "&&&",
    "limit",
    ";limit=1",
    "q=" + "x" * 10000,
]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO"]
HEADERS = [
    {"If-None-Match": "*"},
    {"If-None-Match": 'W/"x"'},
    {"If-None-Match": "garbage"},
    {"If-None-Match": '"'},
    {"If-None-Match": ",,,"},
    {"If-None-Match": '"a", W/"b", *'},
    {"If-None-Match": "x" * 10240},
    {"If-None-Match": '"' + "x" * 10240 + '"'},
    {"If-Modified-Since": "garbage"},
    {"If-Modified-Since": "Mon, 01 Jan 0001 00:00:00 GMT"},
    {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    {"If-Modified-Since": "-1"},
    {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 +9999"},
    {"If-None-Match": "garbage", "If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"Accept-Encoding": "gzip;q=0"},
    {"Accept-Encoding": "*"},
    {"Accept-Encoding": "garbage;;;q=x"},
    {"Accept-Encoding": "br"},
    {"Accept-Encoding": "gzip;q=nan"},
    {"Accept-Encoding": "gzip;q=1e999"},
    {"Accept-Encoding": "gzip;q=-1"},
    {"Accept-Encoding": "gzip, " * 1000},
    {"Authorization": "garbage"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "bearer syn_unknown"},
    {"Host": ""},
    {"Host": "evil.example"},
    {"Host": "a" * 300},
    {"Host": "[::1]"},
    {"Host": "host:99999"},
    {"Host": "host:abc"},
    {"Host": "ex ample"},
    {"Host": "host/path?x"},
    {"Host": "xn--fsq.xn--0zwm56d"},
    {"Cookie": "x=" + "y" * 5000},
    {"Range": "bytes=0-0"},
    {"Range": "garbage"},
    {"Accept": "garbage/;;"},
    {"X-Forwarded-For": "garbage"},
    {"Content-Length": "-1"},
    {"Content-Type": "application/json; charset=garbage"},
]
# What no response may show: a stack trace or where the code lives.
LEAKS = re.compile(r"Traceback|File \"/|site-packages|\.venv/|/usr/lib/python|" + re.escape(str(REPO)))


def route_paths(rule, **given: str) -> list[str]:
    """The rule's addresses: `given` arguments as given, the others well-formed (one address per choice
    of an any() converter)."""
    paths = [rule.rule]
    for name, converter in rule._converters.items():
        pattern = re.compile(r"<(?:[^:>]+:)?" + re.escape(name) + ">")
        if name in given:
            choices = [given[name]]
        elif hasattr(converter, "items"):
            choices = sorted(converter.items)
        else:
            choices = [VALID.get(name, "x")]
        paths = [pattern.sub(lambda m, c=choice: c, p) for p in paths for choice in choices]
    return paths


def malformed_paths(rule) -> list[str]:
    """The rule's address with each argument (but an any() one) in turn replaced by each malformed segment."""
    return [
        route_paths(rule, **{name: segment})[0]  # in one format: the others route the name the same way
        for name, converter in rule._converters.items()
        if not hasattr(converter, "items")
        for segment in SEGMENTS
    ]


def decoded(response) -> bytes:
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip" and body:
        body = gzip.decompress(body)
    return body


def reason_of(response, body: bytes) -> str:
    """The one-line reason a 4xx gives, in whichever form the route answers errors."""
    if response.mimetype == "application/json":
        return str((json.loads(body) or {}).get("error") or "")
    if response.mimetype == "text/html":
        paragraphs = lxml.html.document_fromstring(body).findall(".//p")
        return paragraphs[0].text_content() if paragraphs else ""
    text = body.decode("utf-8", "replace")
    return text.split(": ", 1)[1] if ": " in text else ""


def check_answer(response, method: str, what: str) -> None:
    status = response.status_code
    assert status < 500, (what, status, response.get_data()[:500])
    body = decoded(response)
    leak = LEAKS.search(body.decode("utf-8", "replace"))
    assert not leak, (what, status, body[max(0, leak.start() - 200) : leak.end() + 200])
    if 400 <= status < 500 and method != "HEAD":
        assert reason_of(response, body).strip(), (what, status, body[:500])
    check_security_headers(response.headers, response.mimetype, status, what)


def check_security_headers(headers, mimetype: str, status: int, what: str) -> None:
    assert headers.get("X-Content-Type-Options") == "nosniff", (what, status)
    if mimetype == "text/html":
        assert headers.get("Content-Security-Policy") == security.CONTENT_SECURITY_POLICY[1], (what, status)
        assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", (what, status)
    for banner in ("Server", "X-Powered-By"):
        assert banner not in headers, (what, banner, headers.get(banner))


@pytest.fixture
def sweep_app(database_url):
    """The fixture posts, no rate limits (one client sends thousands of requests), no SITE_URL (so the
    Host header shapes addresses, as it does by default), and errors answered as in production."""
    app = make_app(
        database_url,
        TESTING=False,
        SYNDICATION_SITE_URL="",
        SYNDICATION_RATELIMIT_FEEDS="",
        SYNDICATION_RATELIMIT_API="",
    )
    fresh_schema(app)
    assert import_paths(app, FIXTURES / "good").counts["imported"] == 5
    yield app
    if not db.is_closed():
        db.close()


def test_every_route_answers_every_malformed_request_with_a_reason_and_never_a_5xx(sweep_app, record_property):
    app = sweep_app
    with app.app_context():
        tokens = {scope: Token.issue(f"sweep-{scope}", scope, []) for scope in ("write", "partner", "admin")}
        db.close()
    headers = [*HEADERS, *({"Authorization": f"Bearer {secret}"} for secret in tokens.values())]
    # Requests Flask answers: the hot path in front of it answers the rest (304s and cached renderings).
    hot_path = app.wsgi_app
    reached_flask = Counter()
    flask_app = hot_path.flask_app

    def counting(environ, start_response):
        reached_flask["requests"] += 1
        return flask_app(environ, start_response)

    hot_path.flask_app = counting
    cache = app.extensions["syndication.cache"]
    client = app.test_client()
    sent = Counter()
    postgres = app.config["SYNDICATION_DATABASE_URL"].startswith("postgres")

    def send(method: str, path: str, what: str, **kwargs) -> int:
        sent[method] += 1
        with client.open(path, method=method, **kwargs) as response:  # a file response holds its file open
            check_answer(response, method, what)
            return response.status_code

    allowed: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        allowed.setdefault(rule.rule, set()).update(rule.methods)
    for rule in app.url_map.iter_rules():
        query = VALID_QUERY.get(rule.endpoint, "")
        for path in route_paths(rule):
            valid = f"{path}?{query}" if query else path
            what = f"{rule.endpoint} {valid}"
            for method in METHODS:
                status = send(method, valid, f"{method} {what}")
                if method not in allowed[rule.rule]:
                    assert status == 405, (method, what, status)
            # Headers reach no query: on PostgreSQL, the parts that do are swept again, these are not.
            for extra in [] if postgres else headers:
                cache.clear()  # Flask renders it
                send("GET", valid, f"{what} {extra} (Flask)", headers=extra)
                send("GET", valid, f"{what} {extra} (cached)", headers=extra)  # the hot path, where it answers
                send("HEAD", valid, f"HEAD {what} {extra}", headers=extra)
            for bad_query in QUERIES:
                send("GET", f"{path}?{bad_query}", f"{rule.endpoint} {path}?{bad_query[:80]}")
            for bad_path in malformed_paths(rule) if path == route_paths(rule)[0] else []:
                send("GET", bad_path, f"{rule.endpoint} {bad_path[:120]}")
                send("PUT", bad_path, f"PUT {rule.endpoint} {bad_path[:120]}", json={"title": "x"})
    hot_path.flask_app = flask_app
    total = sum(sent.values())
    answered_by_hot_path = total - reached_flask["requests"]
    print(f"\nswept {total} requests ({dict(sent)}); the hot path answered {answered_by_hot_path}, Flask the rest")
    record_property("requests_swept", total)  # in the JUnit report, for the record
    assert answered_by_hot_path > (10 if postgres else 500), answered_by_hot_path
    assert reached_flask["requests"] > 3000, reached_flask


# -- security headers -------------------------------------------------------------------------------

STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)


def test_the_policy_is_strict():
    policy = dict(part.split(" ", 1) for part in security.CONTENT_SECURITY_POLICY[1].split("; "))
    assert policy["default-src"] == "'none'"  # and so no script, frame, object, font or connection source
    assert "script-src" not in policy
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["img-src"] == "http: https:"  # no data:
    assert "unsafe" not in security.CONTENT_SECURITY_POLICY[1]
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+={0,2}'", h) for h in policy["style-src"].split())


PAGES = {
    "home": "/",
    "category": "/category/harbour.html",
    "tag": "/tag/ferries.html",
    "chinese tag": "/tag/%E5%A4%9C%E5%B8%82.html",
    "share": f"/share/{ARTICLE}.html",
    "older page": "/?limit=1",
    "404 page": "/category/nowhere.html",
    "400 page": "/?limit=0",
    "405 page": "/",
}


def test_every_html_page_carries_the_headers_on_both_paths_and_its_styles_are_allowed(app, good_posts):
    client = app.test_client()
    cache = app.extensions["syndication.cache"]
    hot_path = app.wsgi_app
    flask_app = hot_path.flask_app
    reached_flask = []
    hot_path.flask_app = lambda environ, start_response: reached_flask.append(1) or flask_app(environ, start_response)
    for name, path in PAGES.items():
        method = "POST" if name == "405 page" else "GET"
        cache.clear()
        first = client.open(path, method=method)  # Flask renders it
        reached_flask.clear()
        second = client.open(path, method=method)  # the hot path answers a page it has rendered
        assert bool(reached_flask) == (first.status_code != 200), name  # errors are Flask's to answer
        for response in (first, second):
            assert response.mimetype == "text/html", name
            check_security_headers(response.headers, "text/html", response.status_code, name)
            # Every inline style the page holds is one the policy allows by its digest.
            for css in STYLE.findall(response.data):
                token = "'sha256-" + base64.b64encode(hashlib.sha256(css).digest()).decode() + "'"
                assert token in response.headers["Content-Security-Policy"], (name, css[:80])
            assert b" style=" not in response.data, name  # style attributes would need 'unsafe-hashes'
        assert first.data == second.data and first.headers == second.headers, name
    hot_path.flask_app = flask_app


def test_feeds_say_nosniff_and_carry_no_page_policy(app, good_posts):
    client = app.test_client()
    for path in ("/feed.rss", "/feed.atom", "/feed.json", "/feeds.opml", "/api/v1/openapi.json", "/healthz"):
        for response in (client.get(path), client.get(path)):  # rendered, then from the cache
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert "Content-Security-Policy" not in response.headers, path  # static/feed.xsl styles feeds
    etag = client.get("/feed.rss").headers["ETag"]
    assert client.get("/feed.rss", headers={"If-None-Match": etag}).headers["X-Content-Type-Options"] == "nosniff"


# -- a real server, raw bytes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw(port: int, data: bytes) -> bytes:
    """Send bytes on a new connection; everything the server answers until it closes (or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request(line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


HOST = b"Host: 127.0.0.1"
CLOSE = b"Connection: close"
RAW_REQUESTS = {
    "a feed": request(b"GET /feed.rss HTTP/1.1", HOST, CLOSE),
    "the home page": request(b"GET / HTTP/1.1", HOST, CLOSE),
    "a share page": request(b"GET /share/" + ARTICLE.encode() + b".html HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 tag": request(b"GET /tag/\xff\xfe.rss HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 page": request(b"GET /tag/\xff\xfe.html HTTP/1.1", HOST, CLOSE),
    "overlong UTF-8 dots": request(b"GET /share/\xc0\xae\xc0\xae.html HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 root": request(b"GET /\xff HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 query": request(b"GET /feed.rss?limit=\xff HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 key": request(b"GET /feed.rss?\xff\xfe=1 HTTP/1.1", HOST, CLOSE),
    "invalid UTF-8 article": request(b"GET /api/v1/articles/\xff HTTP/1.1", HOST, CLOSE),
    "raw NUL": request(b"GET /tag/a\x00b.rss HTTP/1.1", HOST, CLOSE),
    "raw traversal": request(b"GET /../../etc/passwd HTTP/1.1", HOST, CLOSE),
    "backslash traversal": request(b"GET /static/..\\..\\app.py HTTP/1.1", HOST, CLOSE),
    "encoded traversal": request(b"GET /static/%2e%2e/%2e%2e/app.py HTTP/1.1", HOST, CLOSE),
    "garbage line": request(b"GARBAGE", CLOSE),
    "method only": request(b"GET", CLOSE),
    "HTTP/9.9": request(b"GET / HTTP/9.9", HOST, CLOSE),
    "extra token": request(b"GET / HTTP/1.1 extra", HOST, CLOSE),
    "lower-case method": request(b"get / HTTP/1.1", HOST, CLOSE),
    "odd method": request(b"G\x01T / HTTP/1.1", HOST, CLOSE),
    "overlong line": request(b"GET /" + b"a" * 10000 + b" HTTP/1.1", HOST, CLOSE),
    "overlong query": request(b"GET /feed.rss?" + b"a" * 10000 + b" HTTP/1.1", HOST, CLOSE),
    "bad escapes": request(b"GET /%%%zz HTTP/1.1", HOST, CLOSE),
    "absolute form": request(b"GET http://evil.example/feed.rss HTTP/1.1", HOST, CLOSE),
    "asterisk": request(b"GET * HTTP/1.1", HOST, CLOSE),
    "OPTIONS asterisk": request(b"OPTIONS * HTTP/1.1", HOST, CLOSE),
    "leading blank lines": b"\r\n\r\n" + request(b"GET / HTTP/1.1", HOST, CLOSE),
    "double space": request(b"GET  /  HTTP/1.1", HOST, CLOSE),
    "header without colon": request(b"GET / HTTP/1.1", HOST, b"Bad Header", CLOSE),
    "space in header name": request(b"GET / HTTP/1.1", HOST, b"Bad Name: x", CLOSE),
    "huge header": request(b"GET / HTTP/1.1", HOST, b"X-Big: " + b"x" * 100000, CLOSE),
    "many headers": request(b"GET / HTTP/1.1", HOST, *(b"X-%d: 1" % i for i in range(200)), CLOSE),
    "obsolete folding": request(b"GET / HTTP/1.1", HOST, b"X-A: 1", b" folded", CLOSE),
    "no Host in 1.1": request(b"GET /feed.rss HTTP/1.1", CLOSE),
    "no Host in 1.0": request(b"GET /feed.rss HTTP/1.0"),
    "two Hosts": request(b"GET / HTTP/1.1", HOST, b"Host: evil.example", CLOSE),
    "Host with controls": request(b"GET / HTTP/1.1", b"Host: a\x01b", CLOSE),
    "Host half IPv6": request(b"GET / HTTP/1.1", b"Host: [::1", CLOSE),
    "Host non-ASCII": request(b"GET / HTTP/1.1", b"Host: \xe4\xbe\x8b\xe5\xad\x90", CLOSE),
    "negative length": request(b"PUT /api/v1/articles/x HTTP/1.1", HOST, b"Content-Length: -1", CLOSE),
    "length not a number": request(b"PUT /api/v1/articles/x HTTP/1.1", HOST, b"Content-Length: abc", CLOSE),
    "length and chunked": request(
        b"PUT /api/v1/articles/x HTTP/1.1",
        HOST,
        b"Content-Length: 4",
        b"Transfer-Encoding: chunked",
        CLOSE,
        body=b"0\r\n\r\n",
    ),
    "bad chunk": request(
        b"PUT /api/v1/articles/x HTTP/1.1", HOST, b"Transfer-Encoding: chunked", CLOSE, body=b"zz\r\n"
    ),
    "short body": request(b"PUT /api/v1/articles/x HTTP/1.1", HOST, b"Content-Length: 100", CLOSE, body=b"{}"),
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")


@pytest.mark.slow
def test_raw_requests_against_gunicorn(tmp_path, record_property):
    """What a test client cannot send (invalid UTF-8 in the raw path, broken request lines and headers),
    sent as bytes to gunicorn with this project's gunicorn.conf.py."""
    url = f"sqlite:///{tmp_path / 'site.db'}"
    app = make_app(url)
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    port = free_port()
    env = {
        **os.environ,
        "SYNDICATION_DATABASE_URL": url,
        "SYNDICATION_BIND": f"127.0.0.1:{port}",
        "SYNDICATION_WORKERS": "1",
        "SYNDICATION_RATELIMIT_FEEDS": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [gunicorn, "--config", "gunicorn.conf.py", "wsgi:app"], cwd=REPO, env=env, stdout=output, stderr=output
        )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        statuses = Counter()
        for name, data in RAW_REQUESTS.items():
            answer = raw(port, data)
            status = STATUS_LINE.match(answer)
            assert status, (name, answer[:300])  # an HTTP answer, even to garbage
            code = int(status.group(1))
            statuses[code] += 1
            head, _, body = answer.partition(b"\r\n\r\n")
            assert code < 500, (name, answer[:500])
            assert not LEAKS.search(answer.decode("latin-1")), (name, answer[:800])
            if code >= 400:
                assert body.strip(), (name, answer[:300])  # a page that says what was wrong
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
            # gunicorn names itself without a version (and nothing can make it not send the header).
            assert headers.get("server", "gunicorn") == "gunicorn", (name, headers.get("server"))
            assert "x-powered-by" not in headers, name
            if code < 300 and headers.get("content-type", "").startswith("text/html"):
                assert headers["content-security-policy"] == security.CONTENT_SECURITY_POLICY[1], name
                assert headers["x-content-type-options"] == "nosniff", name
        print(f"\n{len(RAW_REQUESTS)} raw requests to gunicorn: statuses {dict(sorted(statuses.items()))}")
        record_property("raw_requests", len(RAW_REQUESTS))
        assert statuses[200] >= 3 and statuses[400] >= 10, statuses
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert b"Traceback" not in log.read_bytes(), log.read_text(errors="replace")[-3000:]
