"""The benchmark: `python3 dev.py bench` (options: `python3 dev.py bench --help`). Prints a table.

Measures, side by side in one run (this machine is shared and noisy: read the ratios, not the
absolute numbers): import rate; cold and warm feed latency at each archive size, against feedgen
rendering the same items from memory; throughput of warm feed hits, 304s and share pages under wrk,
against a raw WSGI callable and a bare Flask endpoint serving the same bytes under the same gunicorn
settings; worker memory. Databases are built once and kept in bench/data/ (git ignores it).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import CATEGORIES, TAGS, drafts, write_posts  # noqa: E402

DATA = ROOT / "bench" / "data"
BIN = Path(sys.executable).parent
rows: list[tuple[str, str, str]] = []


def report(what: str, value: str, note: str = "") -> None:
    rows.append((what, value, note))
    print(f"  {what:<58} {value:>14}  {note}", flush=True)


def run(*args, env=None, **kwargs):
    return subprocess.run([str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})}, check=True, **kwargs)


# -- import ----------------------------------------------------------------------------------------


def import_rate(count: int) -> None:
    posts = DATA / f"posts-{count}"
    if not posts.exists():
        print(f"writing {count} synthetic posts to {posts} …", flush=True)
        write_posts(posts.with_suffix(".tmp"), count)
        posts.with_suffix(".tmp").rename(posts)
    target = DATA / "import.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    env = {"SYNDICATION_DATABASE_URL": f"sqlite:///{target}"}
    run(BIN / "flask", "--app", "wsgi", "init-db", env=env, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    run(BIN / "flask", "--app", "wsgi", "import-posts", "--quiet", posts, env=env, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    report(
        f"import {count:,} post files into SQLite (whole command)", f"{count / elapsed:,.0f} posts/s", "target ≥ 2,000"
    )


# -- databases -------------------------------------------------------------------------------------


def database(size: int) -> str:
    path = DATA / f"db-{size}.sqlite"
    url = f"sqlite:///{path}"
    from app import create_app
    from models import Article, db
    from models.schema import migrate

    if path.exists() and Path(f"{path}.complete").exists():
        with create_app({"SYNDICATION_DATABASE_URL": url}).app_context():
            migrate(db)  # a database built by an older release
            db.close()
        return url

    print(f"building a database of {size:,} articles in {path} (once) …", flush=True)
    path.unlink(missing_ok=True)
    app = create_app({"SYNDICATION_DATABASE_URL": url})
    started = time.perf_counter()
    with app.app_context():
        migrate(db)
        batch = []
        for draft in drafts(0, size):
            batch.append(draft)
            if len(batch) == 2000:
                Article.store_many(batch)
                batch.clear()
                if size >= 100_000 and int(draft.id[2:]) % 100_000 < 2000:
                    print(f"  {int(draft.id[2:]):,} …", flush=True)
        Article.store_many(batch)
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute_sql("ANALYZE")
        db.close()
    print(f"  built in {time.perf_counter() - started:,.0f} s", flush=True)
    Path(f"{path}.complete").touch()
    return url


# -- latency in process ----------------------------------------------------------------------------


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def latency(size: int, url: str) -> dict[str, float]:
    from app import create_app
    from models import db
    from syndication import feeds
    from syndication.render import render_feed
    from syndication.site import current_site

    settings = {"SYNDICATION_DATABASE_URL": url, "SYNDICATION_SITE_URL": "http://127.0.0.1"}
    app = create_app(settings | {"SYNDICATION_RATELIMIT_FEEDS": ""})  # latency here, not budgets
    client = app.test_client()
    cache = app.extensions["syndication.cache"]
    with app.app_context():
        from models import Tag

        rare = next(name for name in reversed(TAGS) if Tag.find(name))  # a tail tag with few articles
        db.close()
    addresses = {
        "site feed": "/feed.rss",
        "largest category feed": f"/category/{CATEGORIES[0]}.rss",
        "most used tag feed": f"/tag/{TAGS[1]}.atom",
        "rare tag feed": f"/tag/{rare}.rss",
        "share page": "/share/NW000000000000000042.html",
        "OPML index (every category and tag)": "/feeds.opml",
    }
    results = {}
    for label, path in addresses.items():
        assert client.get(path).status_code == 200, path

        def cold(path=path):
            cache.clear()
            client.get(path)

        results[f"{label} cold"] = median_ms(cold, 25)
        results[f"{label} warm"] = median_ms(lambda path=path: client.get(path), 300)
    with app.test_request_context("/feed.rss"):
        db.connect(reuse_if_open=True)
        feed = feeds.site_feed(current_site())
        site = feed.site
        page = feeds.Page(feed.items(20), {"self": site.url("/feed.rss"), "alternate": site.url("/")})
        results["feedgen alone"] = median_ms(lambda: render_feed(feed, page, "rss"), 25)
        db.close()
    for label, value in results.items():
        report(f"{size:>9,} articles: {label}", f"{value:.2f} ms")
    return results


# -- subscriber statistics in process --------------------------------------------------------------

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def stats_cost(url: str, rounds: int = 7, requests: int = 20000) -> None:
    """What recording a poll costs the hot path, in process: the same warm feed hit and 304, through the
    WSGI stack without HTTP, on two apps that differ only in SYNDICATION_STATS. The recording app's
    background thread stores the polls meanwhile (as in a worker), so its work is in the clock too."""
    from app import create_app

    settings = {"SYNDICATION_DATABASE_URL": url, "SYNDICATION_SITE_URL": "http://127.0.0.1"}
    apps = {
        value: create_app(settings | {"SYNDICATION_RATELIMIT_FEEDS": "", "SYNDICATION_STATS": value})
        for value in ("off", "on")
    }
    etag = apps["on"].test_client().get("/feed.rss").headers["ETag"]
    assert apps["off"].test_client().get("/feed.rss").headers["ETag"] == etag
    # Polls as aggregators and readers send them: a few agents, many client addresses.
    agents = [FEEDLY, "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", BROWSER]
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/feed.rss", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1"}
    base |= {"SERVER_PORT": "80", "wsgi.url_scheme": "http", "HTTP_ACCEPT_ENCODING": "gzip"}
    environs = [base | {"REMOTE_ADDR": f"198.51.100.{n % 250}", "HTTP_USER_AGENT": agents[n % 3]} for n in range(1000)]

    def answer(status, headers):
        pass

    for case, extra in (("feed hit", {}), ("304", {"HTTP_IF_NONE_MATCH": etag})):
        polls = [environ | extra for environ in environs]
        best = {}
        for n in range(rounds):  # interleaved, in turn first, best round kept: the machine is shared
            for value, app in sorted(apps.items(), reverse=n % 2 == 1):
                handler = app.wsgi_app
                started = time.perf_counter()
                for n in range(requests):
                    handler(dict(polls[n % 1000]), answer)
                per_request = (time.perf_counter() - started) / requests * 1e6
                best[value] = min(best.get(value, per_request), per_request)
        report(f"hot path {case} in process, statistics off", f"{best['off']:.1f} µs")
        report(f"hot path {case} in process, statistics on", f"{best['on']:.1f} µs")
        report(f"hot path {case} in process: cost of recording", f"{best['on'] - best['off']:+.1f} µs")
    apps["on"].extensions["syndication.stats"].close()

    # The two parts of that cost alone (steadier than a difference of two noisy figures): what the
    # request pays, and what the background thread spends per poll storing a batch of 10,000.
    from models import db
    from syndication.stats import Recorder

    recorder = Recorder(background=False)
    record = recorder.record
    per_call = min(timeit.repeat(lambda: [record(e) for e in environs], number=10, repeat=rounds)) / 10_000 * 1e6
    report("recording one poll, in the request (statistics on)", f"{per_call:.2f} µs")
    # Clients this run has not met before (the agent names the run): their digests are written.
    clients = [
        environ | {"HTTP_USER_AGENT": f"BenchReader/{os.getpid()}.{n % 4}"} if n % 3 == 2 else environ
        for n, environ in enumerate(environs)
    ]
    recorder = Recorder(background=False)
    record = recorder.record
    with apps["on"].app_context():
        costs = []
        for _ in range(rounds):
            for n in range(10_000):
                record(clients[(n * 7) % 1000])
            started = time.perf_counter()
            recorder.flush()
            costs.append((time.perf_counter() - started) / 10_000 * 1e6)
        db.close()
    # The first batch meets clients new today (digests written); later ones the same clients again.
    report("storing one poll, in the background: batch of 10,000, new clients", f"{costs[0]:.2f} µs")
    report("storing one poll, in the background: batch of 10,000, known clients", f"{min(costs[1:]):.2f} µs")


# -- load ------------------------------------------------------------------------------------------


def fetch(port: int, path: str, headers=None) -> tuple[int, bytes, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", quote(path, safe="/?=&"), headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    skip = {"date", "server", "connection", "transfer-encoding"}
    return response.status, body, [(k, v) for k, v in response.getheaders() if k.lower() not in skip]


def gunicorn(port: int, app: str, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [BIN / "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            fetch(port, "/healthz")
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn {app} did not start on port {port}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def wrk(port: int, path: str, seconds: int, headers=()) -> tuple[float, float]:
    args = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx or 3xx responses", out) or re.search(r"Socket errors", out):
        raise RuntimeError(f"errors under load:\n{out}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return rate, float(p99.group(1)) * scale


def worker_rss_mb(master: subprocess.Popen) -> float:
    children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return max(sizes)


def load(url: str, size: int, seconds: int, label: str = "") -> dict[str, float]:
    port = 8750
    # The rate limit stays on (memory counters) with a budget no load here reaches: its cost is measured
    # against the same server with limits off, below.
    env = {
        "SYNDICATION_DATABASE_URL": url,
        "SYNDICATION_SITE_URL": "http://127.0.0.1:8750",
        "SYNDICATION_RATELIMIT_FEEDS": "1000000000/minute",
    }
    unlimited_env = {**env, "SYNDICATION_RATELIMIT_FEEDS": ""}  # the same site address: the same ETags
    server = gunicorn(port, "wsgi:app", env)
    unlimited = gunicorn(8753, "wsgi:app", unlimited_env)  # kept running, warmed, like the server
    # The same server without subscriber statistics (same site address: the same ETags).
    silent = gunicorn(8754, "wsgi:app", {**env, "SYNDICATION_STATS": "off"})
    results: dict[str, float] = {}
    try:
        share = "/share/NW000000000000000042.html"
        targets = {"feed": "/feed.rss", "share page": share}
        baselines = []
        for name, path in targets.items():
            fetch(port, path)
            status, body, headers = fetch(port, path)
            assert status == 200
            capture = DATA / f"capture-{name.replace(' ', '-')}.json"
            capture.write_text(json.dumps({"body": body.decode("latin-1"), "headers": headers}))
            etag = dict(headers)["ETag"]
            assert fetch(port, path, {"If-None-Match": etag})[0] == 304
            assert fetch(8754, path, {"If-None-Match": etag})[0] == 304
            assert fetch(8753, path, {"If-None-Match": etag})[0] == 304
            baselines.append((name, path, capture, etag))
        for name, path, capture, etag in baselines:
            agent = f"User-Agent: {FEEDLY}"  # feeds are polled by aggregators: their agents are parsed
            cases = [(name, ())] if name != "feed" else [(name, (agent,)), ("304", (f"If-None-Match: {etag}", agent))]
            for case, headers in cases:
                best: dict[str, tuple[float, float]] = {}
                contenders = [
                    ("raw WSGI", "bench.baselines:raw", 8751, {"BENCH_CAPTURE": str(capture)}),
                    ("bare Flask", "bench.baselines:flask", 8752, {"BENCH_CAPTURE": str(capture)}),
                    ("server", None, port, {}),
                ]
                if case in ("feed", "304"):
                    contenders.append(("server without rate limit", None, 8753, {}))
                    contenders.append(("server without statistics", None, 8754, {}))
                for warm_port in (port, 8753, 8754):
                    for _ in range(40):  # every worker renders (and caches) it before the clock starts
                        fetch(warm_port, path)
                for _ in range(3):  # interleaved, best of three: the machine is shared
                    for kind, app_name, base_port, app_env in contenders:
                        if app_name:
                            baseline = gunicorn(base_port, app_name, app_env)
                        try:
                            rate, p99 = wrk(base_port, path, seconds, headers)
                        finally:
                            if app_name:
                                stop(baseline)
                        if rate > best.get(kind, (0, 0))[0]:
                            best[kind] = (rate, p99)
                server_rate, raw_rate, flask_rate = best["server"][0], best["raw WSGI"][0], best["bare Flask"][0]
                what = f"{label}{case} ({size:,} articles)"
                report(f"{what}: server", f"{server_rate:,.0f} req/s", f"p99 {best['server'][1]:.1f} ms")
                report(f"{what}: raw WSGI callable, same bytes", f"{raw_rate:,.0f} req/s")
                report(f"{what}: bare Flask endpoint, same bytes", f"{flask_rate:,.0f} req/s")
                ratio = server_rate / raw_rate
                results[case] = ratio
                target = "target ≥ 0.9" if case in ("feed", "304") else ""
                report(f"{what}: server ÷ raw WSGI", f"{ratio:.2f}×", target)
                report(f"{what}: server ÷ bare Flask", f"{server_rate / flask_rate:.2f}×")
                if "server without rate limit" in best:
                    cost = 1 - server_rate / best["server without rate limit"][0]
                    report(f"{what}: throughput the rate limit costs (memory counters)", f"{cost:.0%}", "target ≤ 10%")
                if "server without statistics" in best:
                    silent_rate = best["server without statistics"][0]
                    report(f"{what}: server without statistics", f"{silent_rate:,.0f} req/s")
                    report(f"{what}: throughput recording statistics costs", f"{1 - server_rate / silent_rate:.0%}")
        # Memory after serving a spread of feeds, as aggregators would ask for them.
        for slug in CATEGORIES[:100]:
            fetch(port, f"/category/{slug}.rss")
        for tag in TAGS[:300]:
            fetch(port, f"/tag/{tag}.atom")
        target = "target ≤ 150 MB" if size >= 1_000_000 else ""
        report(
            f"{label}worker resident memory ({size:,} articles, after load)", f"{worker_rss_mb(server):.0f} MB", target
        )
    finally:
        stop(server)
        stop(unlimited)
        stop(silent)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="archive sizes to measure (default: %(default)s)")
    parser.add_argument("--import-posts", type=int, default=20000, help="post files to import (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=8, help="seconds per wrk run (default: %(default)s)")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (the largest size is copied in)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    DATA.mkdir(parents=True, exist_ok=True)

    print("import", flush=True)
    import_rate(args.import_posts)
    latencies = {}
    for size in sizes:
        print(f"latency at {size:,} articles", flush=True)
        latencies[size] = latency(size, database(size))
    print(f"subscriber statistics in process at {min(sizes):,} articles", flush=True)
    stats_cost(database(min(sizes)))
    largest, smallest = max(sizes), min(sizes)
    for label in ("site feed", "largest category feed", "most used tag feed"):
        cold = latencies[largest][f"{label} cold"]
        alone = cold / latencies[largest]["feedgen alone"]
        report(f"{label} cold at {largest:,} ÷ feedgen alone", f"{alone:.2f}×", "target ≤ 3")
        if largest != smallest:
            growth = cold / latencies[smallest][f"{label} cold"]
            report(f"{label} cold at {largest:,} ÷ at {smallest:,}", f"{growth:.2f}×", "target ≤ 1.3")
    if shutil.which("wrk"):
        print(f"load at {largest:,} articles", flush=True)
        load(database(largest), largest, args.seconds)
        if args.postgres:
            load(postgres_copy(args.postgres, smallest), smallest, args.seconds, "PostgreSQL ")
    else:
        report("load", "skipped", "wrk is not installed (Debian: apt install wrk)")

    print("\n| measure | value | note |\n| --- | ---: | --- |")
    for what, value, note in rows:
        print(f"| {what} | {value} | {note} |")


def postgres_copy(url: str, size: int) -> str:
    from app import create_app
    from models import Article, db
    from models.schema import migrate

    app = create_app({"SYNDICATION_DATABASE_URL": url})
    with app.app_context():
        for table in db.get_tables():
            db.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        migrate(db)
        batch = list(drafts(0, size))
        for start in range(0, size, 2000):
            Article.store_many(batch[start : start + 2000])
        db.close()
    return url


if __name__ == "__main__":
    main()
