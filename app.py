"""The application factory: config, database, blueprints and CLI commands wired together."""

import os

from flask import Flask

from syndication import cli, database, stats, views, websub
from syndication.cache import FeedCache
from syndication.config import DEFAULTS, from_environment, settings_fingerprint, validate
from syndication.dates import rfc3339
from syndication.hotpath import HotPath
from syndication.ratelimit import RateLimiter


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("SYNDICATION_INSTANCE_PATH"))
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        # instance/config.py may set any SYNDICATION_* key; the environment overrides it.
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(from_environment())
    else:
        app.config.update(test_config)
    validate(app.config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["SYNDICATION_API_MAX_BYTES"]  # 413 before reading

    config = app.config
    app.extensions["syndication.cache"] = FeedCache(settings_fingerprint(config), config["SYNDICATION_CACHE_BYTES"])
    app.extensions["syndication.ratelimit"] = RateLimiter(
        config["SYNDICATION_RATELIMIT_STORAGE"],
        config["SYNDICATION_RATELIMIT_FEEDS"],
        config["SYNDICATION_RATELIMIT_API"],
    )
    database.init_app(app)
    websub.init_app(app)
    stats.init_app(app)  # before the hot path, which records polls too
    views.init_app(app)
    cli.init_app(app)
    app.wsgi_app = HotPath(app, app.wsgi_app)
    app.jinja_env.filters["rfc3339"] = rfc3339
    return app
