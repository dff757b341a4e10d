"""The HTML pages people open: home, category and tag listings, share pages, the old share address."""

from urllib.parse import urljoin

import lxml.html
import pytest

from .conftest import SITE_URL

HTML = "text/html; charset=utf-8"

# The five good fixture posts, newest first (published 14, 13, 12, 11, 10 January 2026).
NEWEST_FIRST = [
    ("harbour-dredging-2026", "Dredging starts in the outer harbour"),
    ("2026-01-13-hostile", "Council budget passes"),
    ("2026-01-12-markdown-no-tz", 'Storm warning & "red alert" <level 2>'),
    ("NW202601112030000002", "Night market reopens"),
    ("NW202601100900000001", "Harbour ferry timetable changes"),
]
FERRY = "NW202601100900000001"
NIGHT_MARKET = "NW202601112030000002"
HOSTILE = "2026-01-13-hostile"
MARKDOWN = "2026-01-12-markdown-no-tz"
DREDGING = "harbour-dredging-2026"


def get_page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    assert response.headers["Content-Type"] == HTML
    return response, lxml.html.document_fromstring(response.get_data(as_text=True))


def links(doc, page_url: str) -> list[tuple[str, str]]:
    """(absolute address, visible text) of every link in the page's body."""
    return [(urljoin(page_url, a.get("href")), a.text_content().strip()) for a in doc.xpath("//body//a[@href]")]


def listed_articles(doc, page_url: str) -> list[tuple[str, str]]:
    """(article id, title) of every share-page link, in page order."""
    prefix = SITE_URL + "/share/"
    return [
        (href.removeprefix(prefix).removesuffix(".html"), text)
        for href, text in links(doc, page_url)
        if href.startswith(prefix)
    ]


def alternates(doc) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for link in doc.xpath('//head/link[@rel="alternate"]'):
        found.setdefault(link.get("type"), []).append(link.get("href"))
    return found


def meta_property(doc, name: str) -> list[str]:
    return doc.xpath(f'//head/meta[@property="{name}"]/@content')


def article_of(doc):
    """The article's own content on a share page."""
    (article,) = doc.xpath("//article")
    return article


# -- home ----------------------------------------------------------------------------------------


def test_home_lists_articles_newest_first(client, good_posts):
    _, doc = get_page(client, "/")
    listed = listed_articles(doc, SITE_URL + "/")
    assert [article_id for article_id, _ in listed] == [article_id for article_id, _ in NEWEST_FIRST]
    titles = [title for _, title in listed]
    assert titles[0] == "Dredging starts in the outer harbour"
    assert titles[1].startswith("Council budget passes")
    assert titles[2:] == [title for _, title in NEWEST_FIRST[2:]]


def test_home_links_to_every_category_page_and_the_opml_index(client, good_posts):
    _, doc = get_page(client, "/")
    hrefs = {href for href, _ in links(doc, SITE_URL + "/")}
    for slug in ("harbour", "culture", "weather"):
        assert f"{SITE_URL}/category/{slug}.html" in hrefs
    assert f"{SITE_URL}/feeds.opml" in hrefs


def test_home_announces_the_site_feeds(client, good_posts):
    _, doc = get_page(client, "/")
    found = alternates(doc)
    assert found["application/rss+xml"] == [f"{SITE_URL}/feed.rss"]
    assert found["application/atom+xml"] == [f"{SITE_URL}/feed.atom"]


# -- category and tag pages ---------------------------------------------------------------------


def test_category_page_uses_the_display_name_from_the_navigation_line(client, good_posts):
    _, doc = get_page(client, "/category/harbour.html")
    assert "港口新闻" in doc.xpath("string(//h1)")
    assert "港口新闻" in doc.findtext(".//title")


def test_category_page_lists_only_that_categorys_articles(client, good_posts):
    _, doc = get_page(client, "/category/harbour.html")
    listed = [article_id for article_id, _ in listed_articles(doc, f"{SITE_URL}/category/harbour.html")]
    assert listed == [DREDGING, HOSTILE, NIGHT_MARKET, FERRY]


def test_category_page_announces_the_category_feeds(client, good_posts):
    _, doc = get_page(client, "/category/harbour.html")
    found = alternates(doc)
    assert found["application/rss+xml"] == [f"{SITE_URL}/category/harbour.rss"]
    assert found["application/atom+xml"] == [f"{SITE_URL}/category/harbour.atom"]


def test_unknown_category_is_a_404_with_its_reason(client, good_posts):
    response, doc = get_page(client, "/category/no-such-desk.html", status=404)
    text = doc.text_content()
    assert "no-such-desk" in text
    assert "Traceback" not in response.get_data(as_text=True)


def test_tag_page_for_a_chinese_tag(client, good_posts):
    url = "/tag/%E5%A4%9C%E5%B8%82.html"  # 夜市
    _, doc = get_page(client, url)
    assert listed_articles(doc, SITE_URL + url) == [(NIGHT_MARKET, "Night market reopens")]
    assert "夜市" in doc.xpath("string(//h1)")


def test_unknown_tag_is_a_404(client, good_posts):
    get_page(client, "/tag/no-such-tag.html", status=404)
    get_page(client, "/tag/%E6%97%A0.html", status=404)  # 无


# -- share pages --------------------------------------------------------------------------------


def test_share_page_shows_title_date_source_and_body(client, good_posts):
    _, doc = get_page(client, f"/share/{FERRY}.html")
    article = article_of(doc)
    assert article.xpath("string(.//h1)") == "Harbour ferry timetable changes"
    assert doc.findtext(".//title").startswith("Harbour ferry timetable changes")
    text = article.text_content()
    # The date as it was written, with its offset.
    assert "2026-01-10 09:00" in text
    assert "+08:00" in text
    assert article.xpath(".//time/@datetime") == ["2026-01-10T09:00:00+08:00"]
    assert "港口晚报" in text
    assert "From Monday the island ferry leaves the north pier every 40 minutes" in text
    assert "The last sailing back from the island moves from 21:30 to 22:10" in text


def test_share_page_drops_the_source_link_and_navigation_lines(client, good_posts):
    response, doc = get_page(client, f"/share/{FERRY}.html")
    source = response.get_data(as_text=True)
    assert "返回首页](" not in source
    assert "返回港口新闻](" not in source
    assert "finews.withounder.com" not in source
    visible = doc.xpath("string(//body)")
    assert "http://finews" not in visible
    assert "<http" not in visible
    # The back links appear once each: the page's own, not a copy rendered from the post.
    texts = [text for _, text in links(doc, SITE_URL + f"/share/{FERRY}.html")]
    assert texts.count("返回首页") == 1
    assert texts.count("返回港口新闻") == 1


def test_share_page_links_back_to_its_category_and_home(client, good_posts):
    _, doc = get_page(client, f"/share/{FERRY}.html")
    found = links(doc, f"{SITE_URL}/share/{FERRY}.html")
    assert (f"{SITE_URL}/category/harbour.html", "返回港口新闻") in found
    assert (f"{SITE_URL}/", "返回首页") in found


def test_share_page_head_canonical_open_graph_and_feeds(client, good_posts):
    _, doc = get_page(client, f"/share/{FERRY}.html")
    canonical = f"{SITE_URL}/share/{FERRY}.html"
    assert doc.xpath('//head/link[@rel="canonical"]/@href') == [canonical]
    assert meta_property(doc, "og:title") == ["Harbour ferry timetable changes"]
    assert meta_property(doc, "og:url") == [canonical]
    assert meta_property(doc, "og:type") == ["article"]
    found = alternates(doc)
    assert f"{SITE_URL}/category/harbour.rss" in found["application/rss+xml"]
    assert f"{SITE_URL}/category/harbour.atom" in found["application/atom+xml"]


@pytest.mark.parametrize("needle", ["<script", "onclick", "onerror", "javascript:", "data:text", "<iframe"])
def test_share_page_of_hostile_post_carries_no_active_content(client, good_posts, needle):
    response, _ = get_page(client, f"/share/{HOSTILE}.html")
    assert needle not in response.get_data(as_text=True).lower()


def test_share_page_of_hostile_post_has_no_inline_styles(client, good_posts):
    _, doc = get_page(client, f"/share/{HOSTILE}.html")
    assert doc.xpath("//body//*[@style]") == []
    assert "style=" not in lxml.html.tostring(article_of(doc), encoding="unicode")


def test_share_page_of_hostile_post_keeps_its_text_and_a_plain_title(client, good_posts):
    _, doc = get_page(client, f"/share/{HOSTILE}.html")
    assert doc.xpath("//script") == []
    article = article_of(doc)
    assert article.xpath("string(.//h1)").startswith("Council budget passes")
    assert doc.findtext(".//title").startswith("Council budget passes")
    assert "<script" not in meta_property(doc, "og:title")[0]
    assert "The council approved the budget." in article.text_content()


def test_share_page_makes_site_relative_addresses_absolute(client, good_posts):
    _, doc = get_page(client, f"/share/{NIGHT_MARKET}.html")
    article = article_of(doc)
    image = f"{SITE_URL}/uploads/2026/01/night-market.jpg"
    assert image in article.xpath(".//img/@src")
    assert f"{SITE_URL}/category/culture.html" in article.xpath('.//a[normalize-space()="culture desk"]/@href')
    assert meta_property(doc, "og:image") == [image]


def test_share_page_of_post_with_front_matter_id(client, good_posts):
    _, doc = get_page(client, f"/share/{DREDGING}.html")
    assert article_of(doc).xpath("string(.//h1)") == "Dredging starts in the outer harbour"
    assert doc.xpath('//head/link[@rel="canonical"]/@href') == [f"{SITE_URL}/share/{DREDGING}.html"]


def test_share_page_renders_markdown(client, good_posts):
    _, doc = get_page(client, f"/share/{MARKDOWN}.html")
    article = article_of(doc)
    assert [s.text_content() for s in article.xpath(".//strong")] == ["level 2 storm warning"]
    items = [li.text_content().strip() for li in article.xpath(".//li")]
    assert "small boats to stay in harbour until Wednesday" in items
    assert "sea-front car parks closed overnight" in items
    assert "https://example.org/advice.html" in article.xpath(".//a/@href")


def test_share_page_escapes_markup_like_text_in_the_title(client, good_posts):
    response, doc = get_page(client, f"/share/{MARKDOWN}.html")
    source = response.get_data(as_text=True)
    assert "&lt;level 2&gt;" in source
    assert "<level 2>" not in source
    title = 'Storm warning & "red alert" <level 2>'
    assert article_of(doc).xpath("string(.//h1)") == title
    assert doc.findtext(".//title").startswith(title)
    assert meta_property(doc, "og:title") == [title]


# -- the old share address, and unknown articles ------------------------------------------------


def test_old_share_address_redirects_permanently(client, good_posts):
    response = client.get(f"/html_News/NewsShare.html?infoCode={FERRY}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/share/{FERRY}.html")
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("query", ["", "?infoCode=", "?other=1"])
def test_old_share_address_without_info_code_is_a_400(client, good_posts, query):
    _, doc = get_page(client, f"/html_News/NewsShare.html{query}", status=400)
    assert "infoCode" in doc.text_content()


def test_old_share_address_with_unknown_id_is_a_404(client, good_posts):
    get_page(client, "/html_News/NewsShare.html?infoCode=NW209901010000009999", status=404)


def test_unknown_article_is_a_404(client, good_posts):
    get_page(client, "/share/NW209901010000009999.html", status=404)


@pytest.mark.parametrize(
    "path",
    [
        "/share/..%2F..%2Fetc.html",
        "/share/..%2F..%2Fetc%2Fpasswd.html",
        "/share/%2e%2e.html",
        "/share/%00.html",
        "/share/%E5.html",
        "/share/" + "x" * 300 + ".html",
        "/share/%3Cscript%3E.html",
    ],
)
def test_junk_article_addresses_are_404_not_500(client, good_posts, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


# -- listing pages ------------------------------------------------------------------------------


def older_link(doc) -> str | None:
    hrefs = doc.xpath('//a[contains(normalize-space(), "Older articles")]/@href')
    assert len(hrefs) <= 1
    return hrefs[0] if hrefs else None


def test_older_articles_link_continues_with_the_same_page_size(client, good_posts):
    url = "/?limit=2"
    _, doc = get_page(client, url)
    first = [article_id for article_id, _ in listed_articles(doc, SITE_URL + "/")]
    assert first == [DREDGING, HOSTILE]
    href = older_link(doc)
    assert href is not None
    assert "before=" in href

    next_url = urljoin("http://localhost" + url, href)
    _, doc = get_page(client, next_url)
    second = [article_id for article_id, _ in listed_articles(doc, SITE_URL + "/")]
    assert second == [MARKDOWN, NIGHT_MARKET]
    assert not set(first) & set(second)


def test_cursor_pages_through_every_article_once(client, good_posts):
    seen: list[str] = []
    url = "/?limit=2"
    for _ in range(5):
        _, doc = get_page(client, url)
        page = [article_id for article_id, _ in listed_articles(doc, SITE_URL + "/")]
        assert 1 <= len(page) <= 2
        seen += page
        href = older_link(doc)
        if href is None:
            break
        assert "limit=2" in href  # the next page keeps the page size
        url = href  # a site-relative address
        if len(seen) == 5:
            # A full last page may still offer an older link; it must lead to no articles.
            _, doc = get_page(client, url)
            assert listed_articles(doc, SITE_URL + "/") == []
            break
    assert seen == [article_id for article_id, _ in NEWEST_FIRST]


def test_malformed_cursor_is_a_400_with_a_one_line_reason(client, good_posts):
    response, doc = get_page(client, "/?before=garbage", status=400)
    reasons = [t.strip() for t in doc.xpath("//body//text()") if "before" in t]
    assert reasons, response.get_data(as_text=True)
    assert all("\n" not in reason for reason in reasons)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "1.5", "100000"])
def test_bad_limit_is_a_400(client, good_posts, limit):
    _, doc = get_page(client, f"/?limit={limit}", status=400)
    assert "limit" in doc.xpath("string(//body)")


# -- HTTP ---------------------------------------------------------------------------------------


def test_share_page_answers_a_conditional_get_with_304(client, good_posts):
    url = f"/share/{FERRY}.html"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get(url, headers={"If-None-Match": '"some-other-version"'})
    assert other.status_code == 200
    assert other.data == first.data


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/category/harbour.html",
        "/tag/%E5%A4%9C%E5%B8%82.html",
        f"/share/{FERRY}.html",
        "/share/NW209901010000009999.html",
        "/category/no-such-desk.html",
        "/?limit=abc",
        "/html_News/NewsShare.html",
    ],
)
def test_every_html_response_forbids_content_sniffing(client, good_posts, url):
    response = client.get(url)
    assert response.headers["Content-Type"] == HTML
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("code", ["%00", "a%0Ab", "x" * 300])
def test_legacy_address_with_an_impossible_id_is_404(client, good_posts, code):
    assert client.get(f"/html_News/NewsShare.html?infoCode={code}").status_code == 404
