"""gunicorn settings for `gunicorn --config gunicorn.conf.py wsgi:app`. Each can be overridden from the
environment (GUNICORN_CMD_ARGS, or the SYNDICATION_BIND / SYNDICATION_WORKERS variables below)."""

import multiprocessing
import os

bind = os.environ.get("SYNDICATION_BIND", "127.0.0.1:8000")
# Chosen by measurement (BENCHMARKS.md, "gunicorn settings"): threaded workers keep connections alive
# between an aggregator's polls and do not tie a process to a slow client; two per core, two threads
# each, served the most feed hits and 304s on this 2-core machine.
workers = int(os.environ.get("SYNDICATION_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("SYNDICATION_THREADS", 2))
timeout = 30  # a worker silent this long is restarted
graceful_timeout = 30  # on SIGTERM/SIGHUP, workers finish their requests first
keepalive = 5  # seconds an idle connection is kept for the client's next request
max_requests = 10000  # recycle workers now and then; jitter so they do not all restart at once
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
