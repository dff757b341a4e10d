"""Importing into the database: idempotence, updates in place, one transaction per post."""

import shutil

import pytest

from models import Article, ArticleTag, Category, db

from .conftest import FIXTURES, import_paths


def stored(app, article_id):
    with app.app_context():
        article = Article.find(article_id)
        db.close()
        return article


def test_import_counts_and_reimport_is_unchanged(app):
    first = import_paths(app, FIXTURES / "good")
    assert first.summary() == "5 imported, 0 updated, 0 unchanged, 0 failed"
    before = stored(app, "NW202601100900000001")
    second = import_paths(app, FIXTURES / "good")
    assert second.summary() == "0 imported, 0 updated, 5 unchanged, 0 failed"
    after = stored(app, "NW202601100900000001")
    assert after.updated == before.updated  # an unchanged post is left untouched


def test_edited_post_is_updated_in_place(app, tmp_path):
    post = tmp_path / "2026-01-10-offset-html.md"
    shutil.copy(FIXTURES / "good" / "2026-01-10-offset-html.md", post)
    import_paths(app, post)
    original = stored(app, "NW202601100900000001")
    assert original.updated == original.published  # first import: updated is the publication time

    post.write_text(post.read_text().replace("Harbour ferry timetable changes", "Ferry timetable changes again"))
    report = import_paths(app, post)
    assert report.summary() == "0 imported, 1 updated, 0 unchanged, 0 failed"
    edited = stored(app, "NW202601100900000001")
    assert edited.title == "Ferry timetable changes again"
    assert edited.updated > original.updated
    assert edited.published == original.published
    with app.app_context():
        assert Article.select().count() == 1


def test_reimport_replaces_categories_and_tags(app, tmp_path):
    post = tmp_path / "p.md"
    post.write_text("---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: [a, b]\ntags: [x, y]\n---\nBody.\n")
    import_paths(app, post)
    post.write_text("---\ntitle: T\ndate: 2026-02-01 10:00\ncategories: [b]\ntags: [y, z]\n---\nBody.\n")
    import_paths(app, post)
    article = stored(app, "p")
    assert [c.slug for c in article.categories] == ["b"]
    assert article.tags == ["y", "z"]


def test_a_bad_file_is_reported_and_the_rest_import(app):
    report = import_paths(app, FIXTURES)  # good/, bad/ and a README that is not a post
    assert report.counts["imported"] == 5
    assert report.counts["failed"] == 6
    assert {path.name for path, _ in report.failures} == {
        "no-front-matter.md",
        "broken-yaml.md",
        "no-title.md",
        "bad-date.md",
        "empty-body.md",
        "not-utf8.md",
    }


def test_a_post_is_written_whole_or_not_at_all(app, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ArticleTag, "write_many", fail)
    with pytest.raises(RuntimeError):
        import_paths(app, FIXTURES / "good" / "2026-01-10-offset-html.md")
    with app.app_context():
        assert Article.select().count() == 0
        assert Category.select().count() == 0  # the category made in the same transaction is gone too


def test_category_display_name_is_kept_when_a_later_post_has_no_navigation_line(app):
    import_paths(app, FIXTURES / "good" / "2026-01-10-offset-html.md")  # names harbour 港口新闻
    import_paths(app, FIXTURES / "good" / "2026-01-11-lists-unicode.md")  # harbour again, no name
    with app.app_context():
        assert Category.get_by_id("harbour").name == "港口新闻"
        assert Category.get_by_id("culture").name == "culture"  # never named: the slug stands in
