"""The command-line tools, as an operator runs them: `flask init-db`, `flask migrate`, `flask import-posts`."""

import re
from pathlib import Path

import pytest

from models import Article, db
from models.schema import MIGRATIONS_DIR

from .conftest import FIXTURES, drop_tables, import_paths, make_app

REPO = Path(__file__).resolve().parents[1]
GOOD_IDS = {
    "NW202601100900000001",
    "NW202601112030000002",
    "2026-01-12-markdown-no-tz",
    "2026-01-13-hostile",
    "harbour-dredging-2026",
}
# Each rejected fixture, and words its reason must contain (any one of them, case-insensitive).
BAD = {
    "no-front-matter.md": ("front matter",),
    "broken-yaml.md": ("yaml",),
    "no-title.md": ("title",),
    "bad-date.md": ("date",),
    "empty-body.md": ("empty", "body"),
    "not-utf8.md": ("utf-8", "utf8"),
}


@pytest.fixture(autouse=True)
def _in_checkout(monkeypatch):
    """Paths on the command line are relative to the checkout, as an operator would type them."""
    monkeypatch.chdir(REPO)


@pytest.fixture
def empty_app(database_url):
    """An app whose database has no tables at all: what a new installation starts from."""
    app = make_app(database_url)
    drop_tables(app)
    yield app
    if not db.is_closed():
        db.close()


def stored_ids(app) -> set[str]:
    with app.app_context():
        ids = {a.id for a in Article.select(Article.id)}
        db.close()
    return ids


# -- init-db and migrate ------------------------------------------------------------------------


def test_init_db_creates_the_tables_and_is_safe_to_run_again(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert f"{len(list(MIGRATIONS_DIR.glob('[0-9]*.py')))} migration(s) applied" in first.stdout
    with empty_app.app_context():
        assert {"article", "category", "tag"} <= set(db.get_tables())
        db.close()

    import_paths(empty_app, FIXTURES / "good")
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output
    assert "0 migration(s) applied" in second.stdout
    # Running it again keeps what is stored.
    assert stored_ids(empty_app) == GOOD_IDS


def test_migrate_status_lists_the_initial_migration_as_applied(runner):
    result = runner.invoke(args=["migrate", "--status"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert ["applied", "0001_initial"] in lines
    assert not [line for line in lines if line[0] == "pending"]


def test_migrate_status_on_a_new_database_lists_it_as_pending(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["migrate", "--status"])
    assert result.exit_code == 0, result.output
    assert ["pending", "0001_initial"] in [line.split() for line in result.stdout.splitlines()]


def test_migrate_with_nothing_pending_changes_nothing(runner):
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert "applied  0001_initial" not in result.stdout


# -- import-posts -------------------------------------------------------------------------------


def test_import_posts_imports_a_folder(app, runner):
    result = runner.invoke(args=["import-posts", "tests/fixtures/posts/good"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "5 imported, 0 updated, 0 unchanged, 0 failed"
    assert result.stderr == ""
    assert stored_ids(app) == GOOD_IDS


def test_import_posts_again_leaves_unchanged_posts_alone(app, runner):
    first = runner.invoke(args=["import-posts", "tests/fixtures/posts/good"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["import-posts", "tests/fixtures/posts/good"])
    assert again.exit_code == 0, again.output
    assert again.stdout.strip().splitlines()[-1] == "0 imported, 0 updated, 5 unchanged, 0 failed"
    assert stored_ids(app) == GOOD_IDS


def test_import_posts_reports_bad_files_and_imports_the_rest(app, runner):
    result = runner.invoke(args=["import-posts", "tests/fixtures/posts"])
    assert result.exit_code == 1, result.output
    assert result.stdout.strip().splitlines()[-1] == "5 imported, 0 updated, 0 unchanged, 6 failed"
    errors = result.stderr.splitlines()
    assert len(errors) == len(BAD), result.stderr
    for name, words in BAD.items():
        path = f"tests/fixtures/posts/bad/{name}"
        (line,) = [e for e in errors if e.startswith(path)]
        reason = line.removeprefix(path).lower()
        assert any(word in reason for word in words), line
    assert "README" not in result.output
    assert stored_ids(app) == GOOD_IDS


@pytest.mark.parametrize(("name", "words"), BAD.items())
def test_import_posts_names_the_reason_for_each_bad_file(runner, name, words):
    path = f"tests/fixtures/posts/bad/{name}"
    result = runner.invoke(args=["import-posts", path])
    assert result.exit_code == 1, result.output
    assert result.stdout.strip().splitlines()[-1] == "0 imported, 0 updated, 0 unchanged, 1 failed"
    (line,) = result.stderr.splitlines()
    assert line.startswith(path)
    assert any(word in line.removeprefix(path).lower() for word in words), line


def test_import_posts_reports_a_missing_path(app, runner):
    result = runner.invoke(args=["import-posts", "tests/fixtures/posts/no-such-folder"])
    assert result.exit_code == 1, result.output
    assert "tests/fixtures/posts/no-such-folder" in result.stderr
    assert "does not exist" in result.stderr
    assert stored_ids(app) == set()


def test_import_posts_needs_a_path(runner):
    result = runner.invoke(args=["import-posts"])
    assert result.exit_code == 2
    assert "PATHS" in result.stderr


def test_import_posts_help(runner):
    result = runner.invoke(args=["import-posts", "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert "PATHS" in result.stdout
    assert "--quiet" in result.stdout


def test_import_posts_before_init_db_says_to_run_init_db(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["import-posts", "tests/fixtures/posts/good"])
    assert result.exit_code == 1
    assert "flask init-db" in result.stderr
    with empty_app.app_context():
        assert "article" not in db.get_tables()
        db.close()


def test_import_posts_into_a_new_sqlite_file_before_init_db(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        result = app.test_cli_runner().invoke(args=["import-posts", "tests/fixtures/posts/good"])
        assert result.exit_code == 1
        assert "flask init-db" in result.stderr
    finally:
        if not db.is_closed():
            db.close()


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}", "postgresql://postgres@127.0.0.1:1/test"],
    ids=["sqlite-a-folder", "postgresql-refused"],
)
@pytest.mark.parametrize(
    "args",
    [
        ["init-db"],
        ["migrate", "--status"],
        ["import-posts", "{fixtures}"],
        ["delete-post", "x"],
        ["tokens", "list"],
        ["sources", "list"],
        ["sources", "fetch"],
        ["stats"],
    ],
)
def test_every_command_reports_a_database_that_is_down_in_one_line(tmp_path, url, args):
    app = make_app(url.format(tmp=tmp_path))
    args = [a.format(fixtures=FIXTURES / "good") for a in args]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    assert re.fullmatch(r"Error: The database \S+ failed: .+\(.+\)\.\n", result.output), result.output
    assert "Traceback" not in result.output


def test_commands_are_wrapped_once_however_many_apps_are_made(tmp_path):
    """The commands are module-level objects: wrapping them again for each app nests one more call each
    time, until a process that makes many apps (the test suite, a long-lived runner) overflows the stack."""
    for _ in range(3):
        app = make_app(f"sqlite:///{tmp_path / 'x.db'}")
    callback = app.cli.commands["tokens"].commands["list"].callback
    assert callback.reports_database_failures
    assert not getattr(callback.__wrapped__, "reports_database_failures", False)
