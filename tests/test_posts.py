"""Reading post files: each sample shape, each kind of bad file."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syndication.posts import PostError, parse_post, read_post

from .conftest import FIXTURES

SHANGHAI = ZoneInfo("Asia/Shanghai")
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"


def post(text: str, name: str = "2026-02-01-example.md"):
    return parse_post(text, name, SHANGHAI)


def test_html_post_with_offset_source_link_and_navigation():
    draft = read_post(GOOD / "2026-01-10-offset-html.md", SHANGHAI)
    assert draft.id == "NW202601100900000001"  # the source link's infoCode
    assert draft.title == "Harbour ferry timetable changes"
    assert draft.published == datetime(2026, 1, 10, 1, 0, tzinfo=UTC)
    assert draft.categories == [("harbour", "港口新闻")]  # display name from the navigation line
    assert draft.tags == ["ferries"]
    assert draft.source_name == "港口晚报"
    assert draft.source_url == "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202601100900000001"
    assert draft.summary.startswith("From Monday the island ferry leaves")
    # Page chrome is not body.
    assert "finews.zning.xyz" not in draft.body
    assert "返回" not in draft.body and "withounder" not in draft.body
    assert '<p class="em_media">（文章来源：港口晚报）</p>' in draft.body


def test_list_taxonomy_author_unicode_tag_and_image():
    draft = read_post(GOOD / "2026-01-11-lists-unicode.md", SHANGHAI)
    assert draft.categories == [("harbour", None), ("culture", None)]
    assert draft.tags == ["markets", "夜市", "community"]
    assert draft.author == "Desk reporter"
    assert draft.source_name == "Harbour Evening News"
    assert draft.image == "/uploads/2026/01/night-market.jpg"  # made absolute only on output
    assert 'href="/category/culture.html"' in draft.body


def test_markdown_post_without_offset_uses_site_zone_and_file_name_id():
    draft = read_post(GOOD / "2026-01-12-markdown-no-tz.md", SHANGHAI)
    assert draft.id == "2026-01-12-markdown-no-tz"
    assert draft.title == 'Storm warning & "red alert" <level 2>'
    assert draft.published.utcoffset() == timedelta(hours=8)
    assert draft.published == datetime(2026, 1, 11, 22, 45, tzinfo=UTC)
    assert draft.tags == [] and draft.source_url == "" and draft.source_name == ""
    assert "<strong>level 2 storm warning</strong>" in draft.body
    assert "<li>small boats to stay in harbour until Wednesday</li>" in draft.body
    assert draft.summary == "The weather office raised a level 2 storm warning for the coast early on Monday."


def test_site_zone_setting_decides_dates_without_offset():
    text = (GOOD / "2026-01-12-markdown-no-tz.md").read_text()
    draft = parse_post(text, "x.md", ZoneInfo("Europe/Berlin"))
    assert draft.published == datetime(2026, 1, 12, 5, 45, tzinfo=UTC)


def test_hostile_markup_is_removed_at_import():
    draft = read_post(GOOD / "2026-01-13-hostile.md", SHANGHAI)
    body = draft.body.lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "data:text", "<iframe", "style=", "evil.example"):
        assert bad not in body, bad
    assert "The council approved the budget." in draft.body
    assert draft.title == "Council budget passes"


def test_front_matter_id_and_excerpt():
    draft = read_post(GOOD / "2026-01-14-front-matter-id.md", SHANGHAI)
    assert draft.id == "harbour-dredging-2026"
    assert draft.summary == "Dredgers arrive on Monday."
    assert draft.tags == ["ferries", "works"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("no-front-matter.md", "has no front matter"),
        ("broken-yaml.md", "broken YAML front matter"),
        ("no-title.md", "has no title"),
        ("bad-date.md", "date that cannot be read"),
        ("empty-body.md", "empty body"),
        ("not-utf8.md", "is not UTF-8"),
    ],
)
def test_bad_files_are_refused_with_their_reason(name, reason):
    with pytest.raises(PostError, match=reason):
        read_post(BAD / name, SHANGHAI)


def test_jekyll_space_separated_categories_and_tags():
    draft = post("---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: city sport\ntags: a b a\n---\nBody.\n")
    assert [slug for slug, _ in draft.categories] == ["city", "sport"]
    assert draft.tags == ["a", "b"]


def test_date_from_file_name_when_front_matter_has_none():
    draft = post("---\ntitle: T\n---\nBody.\n", "2026-02-03-x.md")
    assert draft.published == datetime(2026, 2, 3, tzinfo=SHANGHAI)


def test_missing_date_everywhere_is_an_error():
    with pytest.raises(PostError, match="has no date"):
        post("---\ntitle: T\n---\nBody.\n", "untitled.md")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-01 08:00:00 +0800", datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
        ("2026-02-01T08:00:00Z", datetime(2026, 2, 1, 8, 0, tzinfo=UTC)),
        ("2026-02-01 08:00:00 -05:00", datetime(2026, 2, 1, 13, 0, tzinfo=UTC)),
        ("2026-02-01 08:00", datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
        ("2026-02-01", datetime(2026, 1, 31, 16, 0, tzinfo=UTC)),
    ],
)
def test_date_forms(value, expected):
    draft = post(f"---\ntitle: T\ndate: {value}\n---\nBody.\n")
    assert draft.published == expected
    assert draft.published.tzinfo is not None


@pytest.mark.parametrize("value", ["2026-02-30 10:00", "2026-02-01 24:00", "2026-02-01 10:00 +2600", "yesterday"])
def test_impossible_dates_are_errors(value):
    with pytest.raises(PostError, match="date"):
        post(f"---\ntitle: T\ndate: {value}\n---\nBody.\n")


def test_characters_xml_forbids_never_survive():
    draft = post('---\ntitle: "Bell\\x07 ring"\ndate: 2026-02-01\n---\nText\x0b with\x01 controls\ufffe.\n')
    for text in (draft.title, draft.body, draft.summary):
        assert not any(ch in text for ch in "\x07\x0b\x01\ufffe")
    assert draft.title == "Bell ring"


def test_unclosed_front_matter():
    with pytest.raises(PostError, match="never closed"):
        post("---\ntitle: T\nBody without a closing line\n")


def test_front_matter_must_be_a_mapping():
    with pytest.raises(PostError, match="key: value"):
        post("---\n- a\n- b\n---\nBody.\n")


def test_body_with_only_a_script_is_empty_after_sanitizing():
    with pytest.raises(PostError, match="empty body"):
        post("---\ntitle: T\ndate: 2026-02-01\n---\n<script>alert(1)</script>\n")


def test_unusable_names_and_ids_are_errors():
    with pytest.raises(PostError, match="unusable name"):
        post("---\ntitle: T\ndate: 2026-02-01\ntags: [a/b]\n---\nBody.\n")
    with pytest.raises(PostError, match="unusable id"):
        post("---\nid: has space\ntitle: T\ndate: 2026-02-01\n---\nBody.\n")


def test_crlf_and_bom_are_accepted():
    draft = post("\ufeff---\r\ntitle: T\r\ndate: 2026-02-01\r\n---\r\n<p>Body.</p>\r\n")
    assert draft.body == "<p>Body.</p>"


def test_summary_is_plain_text_without_spaces_inserted_into_chinese():
    draft = post("---\ntitle: T\ndate: 2026-02-01\n---\n受冷空气影响，**本周四**我市降温。\n")
    assert draft.summary == "受冷空气影响，本周四我市降温。"
