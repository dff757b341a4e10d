"""Load and soak: `python3 dev.py soak` (options: `python3 dev.py soak --help`). On demand, never in the
test suite; figures in BENCHMARKS.md.

Serves a synthetic site (bench/run.py's SQLite database, copied for the run with `flask backup`) under
gunicorn with gunicorn.conf.py, and drives it with wrk and bench/soak.lua: a mix of feed hits of every
format and kind, conditional requests (the ETag a thread last saw, as a feed reader sends it), HTML
pages, share pages and write API PUTs, while `flask import-posts` imports new posts again and again in
the background. First the mix as fast as the server answers (the peak), then paced at --load of that
peak for --minutes. Prints a table; exits 1 on any error (a status other than the expected ones, a
socket error or timeout, a failed import, a worker restarted) or when a worker's memory grew by more than
--max-growth-mb.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import CATEGORIES, TAGS, article, post_text  # noqa: E402
from bench.run import DATA, database, stop  # noqa: E402

BIN = Path(sys.executable).parent
PORT = 8760
LUA = ROOT / "bench" / "soak.lua"
# How much a worker's resident memory may grow from the start of the soak to its end. By the start, the
# warm-up and peak runs have asked for every address of the mix many times over, and the rendered copies
# of the mix (~330 feeds of ~170 KB, with their gzip codings) come to more than SYNDICATION_CACHE_BYTES
# (64 MB), so each worker's cache is already at its bound. What may still grow is the allocator's high-water
# mark: a worker's two threads rendering the largest documents (the 0.8 MB OPML index, a 0.4 MB feed of 50
# items) at once, with lxml's trees ~10x the document, leave up to ~20 MB that glibc keeps. Anything beyond
# grows with requests: 24 MB is 1 KB a request over 24,000 requests, what a worker serves in 10 minutes at
# 40 requests a second on this 2-core machine (a quiet machine serves more, and catches smaller leaks).
MAX_GROWTH_MB = 24
# Shares of each kind of request in the mix (bench/soak.lua): aggregators mostly revalidate.
WEIGHTS = {"feed": 30, "conditional": 40, "page": 10, "share": 19, "api": 1}
EXPECTED = {"feed": {200}, "conditional": {200, 304}, "page": {200}, "share": {200}, "api": {200, 201}}


def flask(*args: str, url: str) -> str:
    env = {**os.environ, "SYNDICATION_DATABASE_URL": url}
    done = subprocess.run([BIN / "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


# -- the site and what is asked of it --------------------------------------------------------------


def prepare(size: int) -> tuple[Path, str]:
    """A copy of the benchmark's database (built once) for this run to write to, and a write token."""
    source = database(size)
    path = DATA / f"soak-{size}.sqlite"
    print(f"copying the {size:,}-article database for this run (flask backup) …", flush=True)
    print("  " + flask("backup", "--force", str(path), url=source).strip(), flush=True)
    url = f"sqlite:///{path}"
    token = flask("tokens", "create", f"soak-{os.getpid()}", "--scope", "write", url=url).strip()
    return path, token


def get(path: str) -> tuple[int, bytes, str]:
    """GET an address as written (already percent-encoded): status, body, Location."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Location") or ""
    finally:
        conn.close()


def canonical(path: str) -> str:
    """The address the server answers 200 at (following one 301 to the canonical spelling)."""
    status, _, location = get(path)
    if status == 301:
        moved = urlsplit(location)
        path = moved.path + (f"?{moved.query}" if moved.query else "")
        status = get(path)[0]
    if status != 200:
        raise SystemExit(f"{path} answered {status}: the mix must hold only addresses that exist")
    return path


def targets(db_path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)

    def existing(table: str, column: str, names: list[str]) -> list[str]:
        marks = ",".join("?" * len(names))
        found = {n for (n,) in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", names)}
        return [n for n in names if n in found]  # the most used first, as the corpus spreads them

    try:
        tags = existing("tag", "name", TAGS[:80])
        categories = existing("category", "slug", CATEGORIES[:40])
        live = "SELECT id FROM article WHERE withdrawn IS NULL ORDER BY random() LIMIT 400"
        shares = [i for (i,) in conn.execute(live)]
        newest = conn.execute("SELECT max(published) FROM article").fetchone()[0]
        month, day = newest[:7], newest[:10]
    finally:
        conn.close()
    tags = [quote(t) for t in tags]
    feeds = [f"/feed.{fmt}" for fmt in ("rss", "atom", "json")]
    feeds += [f"/category/{c}.{fmt}" for c in categories for fmt in ("rss", "atom", "json")]
    feeds += [f"/tag/{t}.{fmt}" for t in tags[:60] for fmt in ("rss", "atom", "json")]
    feeds += [f"/tag/{a}+{b}.rss" for a, b in pairwise(tags[:11])]  # all of the tags
    # Archives (RFC 5005 complete feeds): a category's and a tag's month, and the whole site's newest day
    # (at the corpus's one article every 5 minutes a month is ~8,900 articles, over
    # SYNDICATION_ARCHIVE_MAX_ITEMS: the site's month answers 303 to its days; a day is 288 articles, 2.4 MB).
    feeds += [f"/feed/{day}.rss"]
    feeds += [f"/category/{categories[-1]}/{month}.{fmt}" for fmt in ("rss", "atom", "json")]
    feeds += [f"/tag/{tags[-1]}/{month}.{fmt}" for fmt in ("rss", "atom", "json")]
    feeds += [
        "/feed.rss?limit=50",
        "/feed.json?content=summary",
        f"/feed.atom?exclude={tags[0]}",
        f"/category/{categories[0]}.rss?tag={tags[1]}",
        f"/feed.rss?any={tags[2]},{tags[3]}",
        "/feeds.opml",
        "/feeds.opml?format=json",
    ]
    older = json.loads(get("/feed.json")[1])["next_url"]  # a page further back (RFC 5005 paging)
    feeds.append(urlsplit(older).path + "?" + urlsplit(older).query)
    pages = ["/"] + [f"/category/{c}.html" for c in categories[:20]] + [f"/tag/{t}.html" for t in tags[:20]]
    return {
        "feeds": [canonical(p) for p in feeds],
        "pages": [canonical(p) for p in pages],
        "shares": [canonical(f"/share/{quote(i)}.html") for i in shares],
    }


def lua_file(found: dict[str, list[str]], token: str, path: Path) -> None:
    def text(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    body = json.dumps(
        {
            "title": "Soak article %d",
            "date": "2016-01-01 08:00 +0000",
            "categories": ["soak"],
            "tags": ["soak"],
            "body": "<p>Revision %d of an article written through the API during the soak.</p>",
        }
    )
    lines = ["return {", f"  token = {text(token)},", f"  api_body = {text(body)},"]
    lines.append("  weights = {" + ", ".join(f"{k} = {v}" for k, v in WEIGHTS.items()) + "},")
    for name, paths in found.items():
        lines.append(f"  {name} = {{" + ", ".join(text(p) for p in paths) + "},")
    path.write_text("\n".join([*lines, "}"]) + "\n")


# -- load ------------------------------------------------------------------------------------------


def wrk(seconds: int, connections: int, rate_per_thread: float, targets_lua: Path, phase: str) -> dict:
    """One run of the mix; wrk's totals and the per-kind counts soak.lua prints."""
    command = [
        "wrk",
        f"-t{connections}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",  # a request unanswered after 10 s counts as an error (a feed reader gives up later)
        "-s",
        str(LUA),
        f"http://127.0.0.1:{PORT}",
        "--",
        str(targets_lua),
        f"{rate_per_thread:.3f}",
        phase,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^SOAK (\{.*\})$", out, re.MULTILINE)
    if not found:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    result = json.loads(found.group(1))
    unexpected = {key: n for key, n in result["counts"].items() if int(key.split()[1]) not in EXPECTED[key.split()[0]]}
    socket = sum(result[k] for k in ("connect", "read", "write", "timeout"))
    result["unexpected"] = unexpected
    result["errors"] = socket + sum(unexpected.values())
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


class Imports(threading.Thread):
    """`flask import-posts` of `count` new posts, again and again, a pause between, until stopped."""

    def __init__(self, url: str, first: int, count: int, pause: float):
        super().__init__(daemon=True)
        self.url, self.next, self.count, self.pause = url, first, count, pause
        self.stopping = threading.Event()
        self.rounds, self.imported, self.failures, self.seconds = 0, 0, [], []

    def run(self) -> None:
        while not self.stopping.is_set():
            folder = DATA / f"soak-posts-{self.next}"
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(self.next, self.next + self.count):
                a = article(n)
                (folder / f"{a['published']:%Y-%m-%d}-{a['id']}.md").write_text(post_text(a))
            self.next += self.count
            started = time.monotonic()
            env = {**os.environ, "SYNDICATION_DATABASE_URL": self.url}
            done = subprocess.run(
                [BIN / "flask", "--app", "wsgi", "import-posts", "--quiet", folder],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            self.seconds.append(time.monotonic() - started)
            shutil.rmtree(folder)
            self.rounds += 1
            summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            found = re.match(r"(\d+) imported", summary)
            self.imported += int(found.group(1)) if found else 0
            if done.returncode or not found or int(found.group(1)) != self.count:
                self.failures.append(f"round {self.rounds}: exit {done.returncode}: {summary} {done.stderr[-500:]}")
            self.stopping.wait(self.pause)


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn with gunicorn.conf.py; its error log (tracebacks of any 500) goes to `log`."""
    command = [BIN / "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{PORT}", "wsgi:app"]
    with open(log, "w") as errors:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=errors
        )
    for _ in range(300):
        try:
            if get("/healthz")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop(server)
    raise SystemExit(f"gunicorn did not start; see {log}")


def worker_rss(master: subprocess.Popen) -> dict[int, float]:
    """Resident memory (MB) of each gunicorn worker, by pid, from /proc/<pid>/status VmRSS."""
    pids = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    found = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        found[int(pid)] = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    return found


# -- the run ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="length of the soak (default: %(default)s)")
    parser.add_argument("--size", type=int, default=10000, help="articles in the database (default: %(default)s)")
    parser.add_argument("--peak-seconds", type=int, default=20, help="length of the peak run (default: %(default)s)")
    parser.add_argument("--load", type=float, default=0.8, help="share of the peak to hold (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default: %(default)s)")
    parser.add_argument(
        "--import-posts", type=int, default=2000, help="posts per import, 0: none (default: %(default)s)"
    )
    parser.add_argument("--import-pause", type=float, default=10, help="seconds between imports (default: %(default)s)")
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=MAX_GROWTH_MB,
        help="allowed growth of a worker's memory (default: %(default)s)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt install wrk)")
    DATA.mkdir(parents=True, exist_ok=True)
    db_path, token = prepare(args.size)
    url = f"sqlite:///{db_path}"
    env = {
        "SYNDICATION_DATABASE_URL": url,
        "SYNDICATION_SITE_URL": f"http://127.0.0.1:{PORT}",
        # Every request comes from one address: budgets per client would turn the load into 429s.
        "SYNDICATION_RATELIMIT_FEEDS": "",
        "SYNDICATION_RATELIMIT_API": "",
        # Workers are not recycled (gunicorn.conf.py does every ~10,000 requests): growth must show.
        "GUNICORN_CMD_ARGS": "--max-requests 0",
    }
    log = DATA / "soak-server.log"
    server = start_server(env, log)
    imports = Imports(url, args.size, args.import_posts, args.import_pause)  # the corpus goes on where it ends
    rows: list[tuple[str, str]] = []
    failed: list[str] = []
    try:
        print("choosing the addresses of the mix …", flush=True)
        found = targets(db_path)
        mix = DATA / "soak-targets.lua"
        lua_file(found, token, mix)
        counts = ", ".join(f"{len(v)} {k}" for k, v in found.items())
        print(f"  {counts}; weights {WEIGHTS}", flush=True)
        if args.import_posts:
            imports.start()
        print("warming up (10 s) …", flush=True)
        warm = wrk(10, args.connections, 0, mix, "warm")
        print(f"peak: the mix as fast as it is answered ({args.peak_seconds} s) …", flush=True)
        peak = wrk(args.peak_seconds, args.connections, 0, mix, "peak")
        target = peak["rate"] * args.load
        rss_start = worker_rss(server)
        seconds = round(args.minutes * 60)
        print(f"soak: {target:,.0f} req/s ({args.load:.0%} of {peak['rate']:,.0f}) for {seconds} s …", flush=True)
        sampling = threading.Event()
        rss_max = dict(rss_start)

        def sample() -> None:
            while not sampling.wait(5):
                for pid, mb in worker_rss(server).items():
                    rss_max[pid] = max(rss_max.get(pid, 0), mb)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        soak = wrk(seconds, args.connections, target / args.connections, mix, f"soak{os.getpid()}")
        sampling.set()
        sampler.join()
        rss_end = worker_rss(server)
    finally:
        imports.stopping.set()
        if imports.is_alive():
            imports.join()
        stop(server)

    for name, run in (("warm-up", warm), ("peak", peak), ("soak", soak)):
        if run["errors"]:
            failed.append(f"{name}: {run['errors']} errors {run['unexpected']} (sockets: see the table)")
    failed += [f"import {f}" for f in imports.failures]
    if set(rss_start) != set(rss_end):
        failed.append(f"workers changed during the soak (a crash or timeout): {sorted(rss_start)} → {sorted(rss_end)}")
    if any(run["unexpected"] for run in (warm, peak, soak)):
        failed.append(f"the server's error log: {log}")

    def ms(us: float) -> str:
        return f"{us / 1000:,.1f} ms"

    c = soak["counts"]
    rows += [
        ("database", f"SQLite, {args.size:,} synthetic articles (+ imports)"),
        (
            "peak: the mix unthrottled",
            f"{peak['rate']:,.0f} req/s ({args.connections} connections, {args.peak_seconds} s)",
        ),
        (
            "soak: target / achieved",
            f"{target:,.0f} / {soak['rate']:,.0f} req/s for {soak['duration_us'] / 60e6:.1f} min",
        ),
        ("soak: requests", f"{soak['requests']:,}"),
        (
            "soak: errors (unexpected status, socket errors, timeouts)",
            f"{soak['errors']:,} (connect {soak['connect']}, read {soak['read']}, write {soak['write']}, "
            f"timeout {soak['timeout']}, status ≥ 400 {soak['status']})",
        ),
        (
            "soak: latency p50 / p90 / p99 / max",
            " / ".join(ms(soak[k]) for k in ("p50_us", "p90_us", "p99_us", "max_us")),
        ),
        ("peak: latency p50 / p99", f"{ms(peak['p50_us'])} / {ms(peak['p99_us'])}"),
        (
            "soak: feed hits / conditional (304, 200 when changed)",
            f"{c.get('feed 200', 0):,} / {c.get('conditional 304', 0):,} 304, {c.get('conditional 200', 0):,} 200",
        ),
        (
            "soak: pages / share pages / API writes (201, 200)",
            f"{c.get('page 200', 0):,} / {c.get('share 200', 0):,} / {c.get('api 201', 0):,}, {c.get('api 200', 0):,}",
        ),
        (
            "imports in the background (whole run)",
            f"{imports.rounds} × {args.import_posts:,} posts, {imports.imported:,} imported, "
            f"{len(imports.failures)} failed, {sum(imports.seconds) / max(len(imports.seconds), 1):.1f} s each",
        ),
    ]
    for pid in sorted(rss_start):
        start, end = rss_start[pid], rss_end.get(pid)
        if end is None:
            rows.append((f"worker {pid} resident memory", f"{start:.1f} MB → gone"))
            continue
        rows.append(
            (
                f"worker {pid} resident memory, start → end (highest)",
                f"{start:.1f} → {end:.1f} MB ({end - start:+.1f}; {rss_max[pid]:.1f})",
            )
        )
        if end - start > args.max_growth_mb:
            failed.append(f"worker {pid} grew {end - start:.1f} MB (more than {args.max_growth_mb} MB)")

    print("\n| measure | value |\n| --- | ---: |")
    for what, value in rows:
        print(f"| {what} | {value} |")
    if failed:
        print("\nFAILED:\n" + "\n".join(f"  {f}" for f in failed))
        sys.exit(1)
    print("\nno errors, no worker grew more than", f"{args.max_growth_mb:g} MB")


if __name__ == "__main__":
    main()
