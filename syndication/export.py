"""Static export: every feed, the OPML index and every page as files (with a .gz beside each), for nginx
or a CDN to serve. Incremental: a file is rendered and written again only when its ETag has changed
since the last export (a manifest in the export folder remembers them), so a second export after a few
edits costs one version read per address, and rewrites only what those edits changed.
"""

import gzip
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from flask import Flask

from models import Article, Category, Tag, db

from . import site as urls
from .render import MIMETYPES

MANIFEST = ".export-manifest.json"


def addresses() -> Iterator[str]:
    """Every public address that has one representation: feeds, first pages, share pages, the OPML."""
    yield urls.home_path()
    yield urls.opml_path()  # the default (RSS) index; ?format= variants are not files
    for fmt in MIMETYPES:
        yield urls.site_feed_path(fmt)
    for category in Category.select(Category.slug).order_by(Category.slug):
        yield urls.category_path(category.slug)
        for fmt in MIMETYPES:
            yield urls.category_path(category.slug, fmt)
    for tag in Tag.select(Tag.name).order_by(Tag.name):
        yield urls.tag_path(tag.name)
        for fmt in MIMETYPES:
            yield urls.tag_path(tag.name, fmt)
    live = Article.select(Article.id).where(Article.withdrawn.is_null()).order_by(Article.id)
    for (article_id,) in live.tuples().iterator():
        yield urls.share_path(article_id)


def withdrawn_addresses() -> Iterator[str]:
    gone = Article.select(Article.id).where(Article.withdrawn.is_null(False)).order_by(Article.id)
    for (article_id,) in gone.tuples().iterator():
        yield urls.share_path(article_id)


def file_for(root: Path, address: str) -> Path:
    """Where nginx looks for an address: the decoded path under the root, index.html for '/'."""
    relative = unquote(address).lstrip("/") or "index.html"
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"{address!r} would be written outside {root}")
    return path


class WriteError(OSError):
    """A file could not be written: which, and why, in one line (`flask export-static` prints it)."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror[:1].lower()}{self.strerror[1:]}"


def write_atomically(files: dict[Path, bytes]) -> None:
    """Each file is either the old one or the new one, never half of either, and all are written before
    any is replaced, so a feed and its .gz never disagree (a full disk included). No temporary file is
    left behind."""
    temporaries: dict[Path, str] = {}
    try:
        for path, data in files.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, temporaries[path] = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(temporaries[path], 0o644)  # mkstemp makes it private; the web server must read it
            except OSError as e:
                raise WriteError(e.errno, e.strerror or str(e), str(path)) from e
        for path in files:
            os.replace(temporaries.pop(path), path)
    finally:
        for temporary in temporaries.values():
            Path(temporary).unlink(missing_ok=True)


def export_static(app: Flask, root: Path) -> Counter:
    """Export into root; return counts of written and unchanged files."""
    if not app.config["SYNDICATION_SITE_URL"]:
        raise ValueError("set SYNDICATION_SITE_URL: exported files carry the public address, not a guess")
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    hot_path = app.wsgi_app  # its address → target mapping is the server's own
    cache = app.extensions["syndication.cache"]
    client = app.test_client()
    counts: Counter = Counter()
    seen = {}
    with app.app_context():
        for address in addresses():
            # As a WSGI server would pass it: decoded, UTF-8 bytes as latin-1 text.
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": unquote(address).encode().decode("latin-1")}
            target, _ = hot_path.target(environ)
            etag = cache.validators(target)[0]
            path = file_for(root, address)
            seen[address] = etag
            if manifest.get(address) == etag and path.exists() and Path(f"{path}.gz").exists():
                counts["unchanged"] += 1
                continue
            response = client.get(address)
            if response.status_code != 200:
                raise RuntimeError(f"{address}: {response.status_code} {response.get_data(as_text=True)[:200]}")
            body = response.get_data()
            write_atomically({path: body, Path(f"{path}.gz"): gzip.compress(body, compresslevel=9, mtime=0)})
            counts["written"] += 1
        for address in withdrawn_addresses():
            # A withdrawn article's page must not outlive it in the export (the server answers 410).
            path = file_for(root, address)
            for stale in (path, Path(f"{path}.gz")):
                if stale.exists():
                    stale.unlink()
                    counts["removed"] += 1
        db.close()
    write_atomically({manifest_path: json.dumps(seen, ensure_ascii=False, sort_keys=True).encode()})
    return counts
