"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from app import create_app
from syndication.websub import start_background

app = create_app()
start_background(app)  # WebSub pings, when a hub is configured

# Everything loaded so far lives as long as the worker: keep the collector from scanning it again and
# again while requests come and go.
gc.collect()
gc.freeze()
