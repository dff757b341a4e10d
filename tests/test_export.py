"""`flask export-static`: every feed, the OPML and every page as files, and incremental re-export."""

import gzip
import shutil

from .conftest import FIXTURES, import_paths, make_app


def export(runner, folder):
    result = runner.invoke(args=["export-static", str(folder)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_export_writes_every_address_with_gzip_beside_it(app, client, runner, good_posts, tmp_path):
    out = tmp_path / "site"
    summary = export(runner, out)
    expected = [
        "index.html",
        "feeds.opml",
        "feed.rss",
        "feed.atom",
        "category/harbour.html",
        "category/harbour.rss",
        "category/weather.atom",
        "tag/夜市.html",
        "tag/夜市.rss",
        "tag/ferries.atom",
        "share/NW202601100900000001.html",
        "share/harbour-dredging-2026.html",
    ]
    for name in expected:
        path = out / name
        assert path.exists(), name
        assert path.stat().st_mode & 0o044 == 0o044, f"{name} must be readable by the web server"
        assert gzip.decompress((out / f"{name}.gz").read_bytes()) == path.read_bytes()
    # The files are what the server answers at the same addresses.
    assert (out / "feed.rss").read_bytes() == client.get("/feed.rss").data
    assert (out / "tag/夜市.rss").read_bytes() == client.get("/tag/%E5%A4%9C%E5%B8%82.rss").data
    assert b"https://news.example/share/" in (out / "feed.atom").read_bytes()
    written = int(summary.split()[0])
    # 1 home + 1 OPML + 3 site feeds + 4 × (3 categories + 6 tags) + 5 share pages
    assert summary == f"{written} written, 0 unchanged" and written == 1 + 1 + 3 + 4 * (3 + 6) + 5


def test_a_second_export_rewrites_only_what_changed(app, runner, tmp_path):
    post = tmp_path / "posts" / "2026-01-10-offset-html.md"
    post.parent.mkdir()
    shutil.copy(FIXTURES / "good" / "2026-01-10-offset-html.md", post)
    import_paths(app, post.parent, FIXTURES / "good" / "2026-01-12-markdown-no-tz.md")
    out = tmp_path / "site"
    export(runner, out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    assert export(runner, out).startswith("0 written")

    post.write_text(post.read_text().replace("every 40 minutes", "every 30 minutes"))
    import_paths(app, post)
    summary = export(runner, out)
    changed = {p.relative_to(out).as_posix() for p in stamps if p.stat().st_mtime_ns != stamps[p]}
    changed -= {".export-manifest.json"}
    rewritten = {
        "index.html", "feeds.opml", "feed.rss", "feed.atom", "feed.json",
        "category/harbour.html", "category/harbour.rss", "category/harbour.atom", "category/harbour.json",
        "tag/ferries.html", "tag/ferries.rss", "tag/ferries.atom", "tag/ferries.json",
        "share/NW202601100900000001.html",
    }  # fmt: skip
    assert changed == rewritten | {f"{name}.gz" for name in rewritten}
    assert summary.startswith(f"{len(rewritten)} written")
    assert b"every 30 minutes" in (out / "share/NW202601100900000001.html").read_bytes()
    assert b"every 30 minutes" not in (out / "category/weather.rss").read_bytes()


def test_export_needs_the_public_address(database_url, tmp_path):
    app = make_app(database_url, SYNDICATION_SITE_URL="")
    result = app.test_cli_runner().invoke(args=["export-static", str(tmp_path / "site")])
    assert result.exit_code != 0
    assert "SYNDICATION_SITE_URL" in result.output
