"""What the fault tests need: a TCP proxy that cuts PostgreSQL off, the app under a real server, many
generated posts, a tmpfs of a given size, and a check that what an import stored is whole."""

import http.client
import os
import socket
import subprocess
import threading
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from models import Article, ArticleCategory, ArticleTag, Category, Tag, db
from models.version import SITE, FeedVersion, article_key, category_key, tag_key

WAIT = 10  # seconds: the longest any single step of these tests may take


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream`. cut() closes every connection through it and
    refuses new ones (accepted and closed at once, as a server that is gone); restore() lets them through."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)  # the accept loop looks at `closing` this often
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, name="pg-proxy", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=WAIT)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _close(self, *sockets: socket.socket) -> None:
        with self.lock:
            for s in sockets:
                self.open.discard(s)
        for s in sockets:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked on it
            s.close()

    def cut(self) -> None:
        self.cut_off.set()
        with self.lock:
            everything = list(self.open)
        self._close(*everything)

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.closing.set()
        self.cut()
        self.thread.join(WAIT)
        self.listener.close()


class ServerThread:
    """The app under werkzeug's threaded server (a thread per connection), on a free port of 127.0.0.1."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="server", daemon=True)
        self.thread.start()

    def request(self, path: str, method: str = "GET", headers=None, body: bytes | None = None):
        """(status, headers, body) of one request, on a connection of its own."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)


@contextmanager
def serving(app):
    server = ServerThread(app)
    try:
        yield server
    finally:
        server.stop()


CATEGORIES = [f"desk{n}" for n in range(7)]
TAGS = [f"topic{n}" for n in range(13)]


def post_links(n: int) -> tuple[list[str], list[str]]:
    """The categories and tags of generated post n."""
    return sorted({CATEGORIES[n % 7], CATEGORIES[n % 3]}), sorted({TAGS[n % 13], TAGS[n % 5], TAGS[n % 2]})


def write_posts(folder: Path, count: int, body_bytes: int = 300) -> dict[str, tuple[list[str], list[str]]]:
    """`count` posts in the format of tests/fixtures/posts; returns {id: (categories, tags)}."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    words = ("harbour", "ferry", "market", "council", "weather", "tide", "quay", "lantern")
    expected = {}
    for n in range(count):
        categories, tags = post_links(n)
        article_id = f"gen-{n:05d}"
        published = start + timedelta(minutes=7 * n)
        text = " ".join(words[(n + i) % len(words)] for i in range(body_bytes // 7))
        (folder / f"{published:%Y-%m-%d}-gen-{n:05d}.md").write_text(
            "---\n"
            f'title: "Generated report {n}"\n'
            f"date: {published:%Y-%m-%d %H:%M:%S} +0000\n"
            f"categories: [{', '.join(categories)}]\n"
            f"tags: [{', '.join(tags)}]\n"
            f"id: {article_id}\n"
            "---\n"
            f"<p>Report {n}: {text}.</p>\n",
            encoding="utf-8",
        )
        expected[article_id] = (categories, tags)
    return expected


def stored_consistently(app, expected: dict[str, tuple[list[str], list[str]]]) -> int:
    """Assert that what the database holds is whole: every article with exactly its post's category and
    tag links, no category or tag without an article, and version rows for every feed and page that
    agree with the articles (their times are the newest of what they cover). Returns the article count."""
    with app.app_context():
        try:
            articles = {a.id: a.updated for a in Article.select(Article.id, Article.updated)}
            categories = ArticleCategory.keys_by_article(list(articles))
            tags = ArticleTag.keys_by_article(list(articles))
            for article_id in articles:
                assert article_id in expected, f"{article_id} was never in the posts"
                want_categories, want_tags = expected[article_id]
                assert sorted(categories.get(article_id, [])) == want_categories, article_id
                assert sorted(tags.get(article_id, [])) == want_tags, article_id
            links = ArticleCategory.select().count() + ArticleTag.select().count()
            assert links == sum(len(c) + len(t) for c, t in (expected[a] for a in articles))
            # Created in the same transaction as the first article filed under them.
            used_categories = {c for names in categories.values() for c in names}
            used_tags = {t for names in tags.values() for t in names}
            assert {c.slug for c in Category.select()} == used_categories
            assert {t.name for t in Tag.select()} == used_tags

            newest: dict[str, datetime] = {}
            for article_id, updated in articles.items():
                keys = [SITE, article_key(article_id)]
                keys += [category_key(c) for c in categories.get(article_id, [])]
                keys += [tag_key(t) for t in tags.get(article_id, [])]
                for key in keys:
                    newest[key] = max(newest.get(key, updated), updated)
            versions = {v.key: v.updated for v in FeedVersion.select()}
            for key, updated in newest.items():
                assert versions.get(key) == updated, f"version of {key}: {versions.get(key)} != {updated}"
            return len(articles)
        finally:
            db.close()


def chattr_works(path: Path) -> str:
    """Why `chattr +i` (which makes a file read-only even for root) cannot be used on path, or ""."""
    if os.geteuid() != 0:
        return "making a file immutable (chattr +i) needs root"
    try:
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, timeout=WAIT)
    except FileNotFoundError:
        return "chattr is not installed"
    if result.returncode:
        return f"chattr +i is not supported here: {result.stderr.strip()}"
    subprocess.run(["chattr", "-i", str(path)], check=True, timeout=WAIT)
    return ""


def chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, timeout=WAIT)


@contextmanager
def tmpfs(path: Path, size: str):
    """A tmpfs of `size` mounted at path (a full disk on demand), unmounted afterwards; the test is
    skipped, saying why, where mounting is not permitted."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, and mounting one needs root")
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
    except FileNotFoundError:
        pytest.skip("mount is not installed: cannot simulate a full disk")
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs here (a full disk is simulated with one): {result.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=WAIT).returncode:
            subprocess.run(["umount", "--lazy", str(path)], check=True, timeout=WAIT)


def resize(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, timeout=WAIT)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system holding folder, leaving about `leave` bytes free; returns the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1):  # the last pages to the last byte
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler
