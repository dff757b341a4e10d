#!/usr/bin/env python3
"""Set up and run the project with nothing but python3 (standard library only).

    python3 dev.py serve   install into .venv, load the demo posts, serve under gunicorn
    python3 dev.py test    install into .venv (with test tools), lint, run every test
    python3 dev.py bench   install into .venv, run the benchmark in bench/ (see BENCHMARKS.md)
    python3 dev.py soak    install into .venv, run the load and soak test (bench/soak.py; --minutes N)
    python3 dev.py fuzz    install into .venv (with test tools), fuzz at length (fuzz/run.py; --minutes N)

Anything after `test` goes to pytest (e.g. `python3 dev.py test -k feeds -x`), after `bench` to
bench/run.py (e.g. `python3 dev.py bench --sizes 10000`).
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*args: object, **kwargs) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def install(requirements: str) -> None:
    """Create .venv if needed and install the pinned requirements, once per change of the files."""
    if not (BIN / "python").exists():
        print(f"Creating a virtual environment in {VENV} …", flush=True)
        try:
            import ensurepip  # noqa: F401  (Debian splits it out of python3)
            import venv  # noqa: F401
        except ImportError:
            sys.exit("python3 has no venv/ensurepip here: install python3-venv (Debian, Ubuntu) and run again.")
        run(sys.executable, "-m", "venv", VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"Installing {requirements} …", flush=True)
    run(BIN / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", requirements)
    stamp.write_text(digest.hexdigest())


def serve() -> None:
    install("requirements.txt")
    flask = [BIN / "flask", "--app", "wsgi"]
    run(*flask, "init-db")
    run(*flask, "import-posts", "--quiet", "demo/posts")
    bind = os.environ.get("SYNDICATION_BIND", "127.0.0.1:8000")
    print(f"Serving the demo site at http://{bind}/ (feeds: /feed.rss /feed.atom /feed.json; every feed:")
    print(f"http://{bind}/feeds.opml). Ctrl-C stops.")
    os.chdir(ROOT)
    os.execv(BIN / "gunicorn", ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"])


def test(pytest_args: list[str]) -> None:
    install("requirements-dev.txt")
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "python", "-m", "pytest", *pytest_args)


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "serve" and not rest:
        serve()
    elif command == "test":
        test(rest)
    elif command in ("bench", "soak"):
        install("requirements.txt")
        run(BIN / "python", f"bench/{'run' if command == 'bench' else 'soak'}.py", *rest)
    elif command == "fuzz":
        install("requirements-dev.txt")
        run(BIN / "python", "fuzz/run.py", *rest)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
