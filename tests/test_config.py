"""Settings: the environment, the instance config file, and checks that fail at start-up."""

import sqlite3
from contextlib import contextmanager

import pytest

from app import create_app
from models import db
from syndication.config import DEFAULTS, ConfigError, from_environment, validate

from .conftest import make_app


@contextmanager
def closing_database():
    """create_app binds the shared database handle; leave no connection open behind a test."""
    try:
        yield
    finally:
        if db.obj is not None and not db.is_closed():
            db.close()


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No SYNDICATION_* setting from the machine running the tests; the instance folder in tmp_path."""
    for key in DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    instance = tmp_path / "instance"
    monkeypatch.setenv("SYNDICATION_INSTANCE_PATH", str(instance))
    return instance


# -- from_environment ---------------------------------------------------------------------------


def test_from_environment_keeps_only_known_settings_and_converts_numbers():
    found = from_environment(
        {
            "SYNDICATION_SITE_TITLE": "Harbour Gazette",
            "SYNDICATION_FEED_LIMIT": "15",
            "SYNDICATION_CACHE_MAX_AGE": "60",
            "SYNDICATION_NO_SUCH_SETTING": "x",
            "SITE_TITLE": "not ours",
            "PATH": "/usr/bin",
        }
    )
    assert found == {
        "SYNDICATION_SITE_TITLE": "Harbour Gazette",
        "SYNDICATION_FEED_LIMIT": 15,
        "SYNDICATION_CACHE_MAX_AGE": 60,
    }


def test_from_environment_of_nothing_is_nothing():
    assert from_environment({}) == {}


def test_from_environment_rejects_a_number_that_is_not_one():
    with pytest.raises(ConfigError, match="SYNDICATION_FEED_LIMIT"):
        from_environment({"SYNDICATION_FEED_LIMIT": "abc"})


# -- validate -----------------------------------------------------------------------------------


def test_defaults_are_valid():
    validate(dict(DEFAULTS))


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SYNDICATION_TIMEZONE", "Mars/Olympus_Mons"),
        ("SYNDICATION_TIMEZONE", ""),
        ("SYNDICATION_SITE_URL", "news.example"),
        ("SYNDICATION_SITE_URL", "ftp://news.example"),
        ("SYNDICATION_FEED_LIMIT", 0),
        ("SYNDICATION_FEED_LIMIT", -5),
        ("SYNDICATION_FEED_MAX_LIMIT", 0),
        ("SYNDICATION_PAGE_LIMIT", 0),
        ("SYNDICATION_CACHE_MAX_AGE", -1),
    ],
)
def test_validate_rejects_a_bad_setting_by_name(setting, value):
    with pytest.raises(ConfigError, match=setting):
        validate({**DEFAULTS, setting: value})


def test_validate_rejects_a_feed_limit_above_the_maximum():
    with pytest.raises(ConfigError, match="SYNDICATION_FEED_LIMIT"):
        validate({**DEFAULTS, "SYNDICATION_FEED_LIMIT": 101, "SYNDICATION_FEED_MAX_LIMIT": 100})


def test_validate_accepts_a_feed_limit_equal_to_the_maximum():
    validate({**DEFAULTS, "SYNDICATION_FEED_LIMIT": 50, "SYNDICATION_FEED_MAX_LIMIT": 50})


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SYNDICATION_TIMEZONE", "Not/AZone"),
        ("SYNDICATION_SITE_URL", "news.example"),
        ("SYNDICATION_FEED_LIMIT", 0),
        ("SYNDICATION_FEED_LIMIT", 500),
    ],
)
def test_the_app_refuses_to_start_with_a_bad_setting(tmp_path, setting, value):
    with closing_database(), pytest.raises(ConfigError, match=setting):
        make_app(f"sqlite:///{tmp_path / 'app.db'}", **{setting: value})


# -- create_app(None): the environment and the instance config file -----------------------------


def test_create_app_reads_the_environment(monkeypatch, tmp_path, clean_environment):
    database = tmp_path / "from-env.db"
    monkeypatch.setenv("SYNDICATION_SITE_TITLE", "Island Courier")
    monkeypatch.setenv("SYNDICATION_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("SYNDICATION_FEED_LIMIT", "7")
    with closing_database():
        app = create_app(None)
        assert app.config["SYNDICATION_SITE_TITLE"] == "Island Courier"
        assert app.config["SYNDICATION_FEED_LIMIT"] == 7
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert database.is_file()
        response = app.test_client().get("/")
        assert response.status_code == 200
        assert "Island Courier" in response.get_data(as_text=True)


def test_create_app_refuses_a_bad_environment(monkeypatch, tmp_path, clean_environment):
    monkeypatch.setenv("SYNDICATION_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("SYNDICATION_FEED_LIMIT", "abc")
    with closing_database(), pytest.raises(ConfigError, match="SYNDICATION_FEED_LIMIT"):
        create_app(None)


def test_instance_config_file_is_read_and_the_environment_overrides_it(monkeypatch, tmp_path, clean_environment):
    clean_environment.mkdir()
    (clean_environment / "config.py").write_text(
        'SYNDICATION_SITE_TITLE = "From the file"\n'
        'SYNDICATION_SITE_DESCRIPTION = "Described in the file"\n'
        "SYNDICATION_FEED_LIMIT = 12\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SYNDICATION_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SYNDICATION_SITE_TITLE", "From the environment")
    with closing_database():
        app = create_app(None)
    assert app.config["SYNDICATION_SITE_TITLE"] == "From the environment"
    assert app.config["SYNDICATION_SITE_DESCRIPTION"] == "Described in the file"
    assert app.config["SYNDICATION_FEED_LIMIT"] == 12


def test_instance_config_file_is_validated_too(monkeypatch, tmp_path, clean_environment):
    clean_environment.mkdir()
    (clean_environment / "config.py").write_text('SYNDICATION_TIMEZONE = "Atlantis/Capital"\n', encoding="utf-8")
    monkeypatch.setenv("SYNDICATION_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    with closing_database(), pytest.raises(ConfigError, match="SYNDICATION_TIMEZONE"):
        create_app(None)


def test_default_database_is_a_wal_sqlite_file_in_the_instance_folder(clean_environment):
    with closing_database():
        app = create_app(None)
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            (mode,) = db.execute_sql("PRAGMA journal_mode").fetchone()
        assert mode == "wal"
    database = clean_environment / "syndication.db"
    assert database.is_file()
    # WAL is a property of the file: a separate connection sees it too.
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()
    assert "article" in tables
