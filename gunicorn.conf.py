"""gunicorn settings for `gunicorn --config gunicorn.conf.py wsgi:app`. Each can be overridden from the
environment (GUNICORN_CMD_ARGS, or the SYNDICATION_BIND / SYNDICATION_WORKERS variables below)."""

import glob
import multiprocessing
import os
import tempfile

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
# gunicorn's request limits stand (a 4094-byte request line, else 414; 100 headers of 8190 bytes, else 431;
# tests/test_sweep.py sends worse). It answers `Server: gunicorn` without a version: no banner to hide,
# and no setting drops the header.
max_requests = 10000  # recycle workers now and then; jitter so they do not all restart at once
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
if os.environ.get("SYNDICATION_ACCESS_LOG") == "json":
    logger_class = "syndication.accesslog.JsonAccessLogger"  # one JSON object per request

# Prometheus multi-process mode: the workers keep their metrics in files in one folder, which /metrics
# adds up. Set here, in the master, so every worker inherits it; its files are cleared at start and exit.
metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"syndication-metrics-{os.getpid()}")
)


def _clear_metrics() -> None:
    for name in glob.glob(os.path.join(metrics_dir, "*.db")):  # only prometheus_client's own files
        os.remove(name)


def on_starting(server):
    os.makedirs(metrics_dir, exist_ok=True)
    _clear_metrics()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    _clear_metrics()
