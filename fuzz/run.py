"""The fuzzing properties of tests/test_fuzz.py with a bigger budget, at random (the suite runs a small,
fixed set): post files, post parsing and write API payloads, on SQLite and (when reachable) PostgreSQL.

    python3 dev.py fuzz                   # 2 minutes in all
    python3 dev.py fuzz --minutes 30      # longer
    python3 dev.py fuzz --examples 5000   # a number of cases per property and database instead
    python3 dev.py fuzz --only "post files" --no-postgres

Prints, per property and database, the cases tried and what they came to, and every failure found with
its smallest falsifying case (hypothesis shrinks it). Exits 1 when anything failed.
"""

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import given, settings  # noqa: E402

from tests import conftest  # noqa: E402
from tests import test_fuzz as properties  # noqa: E402

ROUND = 200  # cases per hypothesis run; a timed run starts new rounds (new random cases) until time is up


def databases(postgres: bool) -> dict[str, str | None]:
    """Each database a property that needs one runs on: name → URL (None: no database)."""
    found = {"sqlite": f"sqlite:///{Path(tempfile.mkdtemp(prefix='fuzz-')) / 'fuzz.db'}"}
    if postgres:
        if reason := conftest.postgres_unavailable():
            print(f"(PostgreSQL skipped: {reason})")
        else:
            separator = "&" if "?" in conftest.POSTGRES_URL else "?"
            found["postgresql"] = f"{conftest.POSTGRES_URL}{separator}options=-csearch_path%3D{conftest.PG_SCHEMA}"
    return found


def run_property(name: str, prop, app, examples: int, until: float) -> tuple[int, list[str]]:
    """Run one property: `examples` cases, or rounds of ROUND until the clock passes `until`.
    Returns (cases tried, failures)."""
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    failures: list[str] = []
    before = properties.CASES[name]
    while True:
        budget = examples or ROUND

        @settings(max_examples=budget, deadline=None, database=None, suppress_health_check=properties.QUIET)
        @given(case=prop.strategy)
        def check(case):
            prop.check(app, tmp, case)

        try:
            check()
        except Exception as e:  # keep fuzzing the other properties
            # With its notes: the falsifying case (shrunk), for each distinct failure hypothesis found.
            failures.append("".join(traceback.format_exception(e)).strip())
            break
        if examples or time.monotonic() >= until:
            break
    return properties.CASES[name] - before, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=0, help="cases per property and database")
    parser.add_argument("--minutes", type=float, default=2.0, help="time for the whole run (default 2)")
    parser.add_argument("--only", action="append", choices=sorted(properties.PROPERTIES), help="this property")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()

    urls = databases(not args.no_postgres)
    runs = [
        (name, prop, database)
        for name, prop in properties.PROPERTIES.items()
        if not args.only or name in args.only
        for database in (urls if prop.database else [None])
    ]
    share = args.minutes * 60 / len(runs)
    print(f"{len(runs)} runs, " + (f"{args.examples} cases each" if args.examples else f"{share:.0f} s each"))
    results = []
    try:
        for name, prop, database in runs:
            app = properties.fuzz_app_for(urls[database]) if database else None
            started = time.monotonic()
            properties.OUTCOMES.clear()
            tried, failures = run_property(name, prop, app, args.examples, started + share)
            seconds = time.monotonic() - started
            outcomes = ", ".join(f"{k.split(': ')[1]} {v}" for k, v in sorted(properties.OUTCOMES.items()))
            where = f" on {database}" if database else ""
            print(f"{name}{where}: {tried} cases in {seconds:.0f} s ({outcomes}); {len(failures)} failures", flush=True)
            for failure in failures:
                print(f"  FAILED:\n{failure[-6000:]}")
            results.append((name, database, tried, failures))
    finally:
        if "postgresql" in urls:
            conftest.pytest_sessionfinish(None)  # drops this run's schema
    total = sum(tried for _, _, tried, _ in results)
    failed = [r for r in results if r[3]]
    print(f"\n{total} cases tried in all; " + (f"{len(failed)} runs found failures" if failed else "no failures"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
