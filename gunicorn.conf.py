"""gunicorn settings for `gunicorn --config gunicorn.conf.py wsgi:app`. Each can be overridden from the
environment (GUNICORN_CMD_ARGS, or the SYNDICATION_BIND / SYNDICATION_WORKERS variables below)."""

import multiprocessing
import os

bind = os.environ.get("SYNDICATION_BIND", "127.0.0.1:8000")
# Feed requests are short and CPU-bound: about two workers per core keeps the cores busy while one waits
# on the database.
workers = int(os.environ.get("SYNDICATION_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30  # on SIGTERM/SIGHUP, workers finish their requests first
keepalive = 5
max_requests = 10000  # recycle workers now and then; jitter so they do not all restart at once
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
