"""Importing post files: find them, read each (in parallel), store them in batches, report.

Reading a post (YAML, Markdown, sanitizing) is most of the work and needs no database, so large imports
read on every core. Storing goes in batches of one transaction each: a post is stored whole or not at
all, and one bad file never stops the others. The database failing (down, locked, read-only, disk full)
does stop the import: every later batch would fail the same way.
"""

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import chain, islice
from pathlib import Path

from peewee import DatabaseError

from models import Article, Draft

from .database import UNAVAILABLE, failure_reason, location
from .posts import PostError, read_post

POST_SUFFIXES = {".md", ".markdown", ".html", ".htm"}
BATCH_SIZE = 500  # posts per transaction
WINDOW = 2000  # posts read ahead at a time: memory stays flat however many files there are
PARALLEL_FROM = 200  # fewer files than this are read in this process


@dataclass
class ImportReport:
    counts: Counter = field(default_factory=Counter)  # imported / updated / unchanged / failed
    failures: list[tuple[Path | str, str]] = field(default_factory=list)  # a post, or the database
    track: bool = False  # remember the ids the files hold (for --sync; memory grows with them)
    seen: set[str] = field(default_factory=set)

    def summary(self) -> str:
        c = self.counts
        return f"{c['imported']} imported, {c['updated']} updated, {c['unchanged']} unchanged, {c['failed']} failed"

    def fail(self, path: Path, reason: str) -> None:
        self.counts["failed"] += 1
        self.failures.append((path, reason))

    def stop(self, error: Exception, first: Path) -> None:
        """The database failed while storing the batch that starts at `first`: that batch was rolled back
        and nothing after it was tried. Said once, of the database, not of each post."""
        self.failures.append(
            (
                location(),
                f"{failure_reason(error)}; the import stopped: {first} and the posts after it were not stored "
                "(those before it are; run the import again once the database is back)",
            )
        )


class _Stopped(Exception):
    def __init__(self, error: Exception, first: Path):
        super().__init__(str(error))
        self.error, self.first = error, first


def find_posts(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named on the command line as they are; folders searched recursively for post files
    (skipping hidden ones and READMEs), in name order so runs are repeatable."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for folder, subfolders, files in os.walk(path):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(files):
                candidate = Path(folder, name)
                if (
                    candidate.suffix.lower() in POST_SUFFIXES
                    and not name.startswith(".")
                    and candidate.stem.lower() != "readme"
                ):
                    yield candidate


def _read(job: tuple[Path, tzinfo]) -> Draft | str:
    path, zone = job
    try:
        if not path.exists():
            raise PostError("does not exist")
        return read_post(path, zone)
    except PostError as e:
        return str(e)


def import_posts(
    paths: Iterable[Path],
    zone: tzinfo,
    report: ImportReport,
    progress: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
) -> ImportReport:
    """Import every post under paths into the database, counting outcomes and failures in report."""
    try:
        _import(find_posts(paths), zone, report, progress, workers)
    except _Stopped as stopped:
        report.stop(stopped.error, stopped.first)
    return report


def _import(files: Iterator[Path], zone: tzinfo, report: ImportReport, progress, workers: int | None) -> None:
    first = list(islice(files, WINDOW))
    if len(first) < PARALLEL_FROM or (workers or os.cpu_count() or 1) < 2:
        _store(((path, _read((path, zone))) for path in chain(first, files)), report, progress)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        try:
            # One window is being read while the one before it is stored.
            window, pending = first, pool.map(_read, [(path, zone) for path in first], chunksize=32)
            while window:
                following = list(islice(files, WINDOW))
                ahead = pool.map(_read, [(path, zone) for path in following], chunksize=32) if following else None
                _store(zip(window, pending, strict=True), report, progress)
                window, pending = following, ahead
        except _Stopped:
            pool.shutdown(cancel_futures=True)  # the posts read ahead will not be stored
            raise


def _store(results: Iterable[tuple[Path, Draft | str]], report: ImportReport, progress) -> None:
    batch: dict[str, tuple[Path, Draft]] = {}
    for path, result in results:
        if isinstance(result, str):
            report.fail(path, result)
            progress(1)
            continue
        if result.id in batch or len(batch) >= BATCH_SIZE:  # a repeated id goes in the next transaction
            _flush(batch, report, progress)
        batch[result.id] = (path, result)
    _flush(batch, report, progress)


def _flush(batch: dict[str, tuple[Path, Draft]], report: ImportReport, progress) -> None:
    if not batch:
        return
    entries = list(batch.values())
    batch.clear()
    try:
        outcomes = Article.store_many([draft for _, draft in entries])
    except UNAVAILABLE as e:
        raise _Stopped(e, entries[0][0]) from e  # rolled back whole, like any failed batch
    except DatabaseError as e:
        # The batch's transaction was rolled back whole: none of these posts is half-written.
        for path, _ in entries:
            report.fail(path, f"could not be stored: {e}")
    else:
        report.counts.update(outcomes)
        if report.track:
            report.seen.update(draft.id for _, draft in entries)
    progress(len(entries))


def withdrawn_missing(folder: Path, report: ImportReport) -> list[str]:
    """--sync: withdraw the live articles once imported from under folder whose files are gone."""
    missing = [a for a in Article.live_ids_from(str(folder.resolve())) if a not in report.seen]
    return Article.withdraw(missing) if missing else []


def count_posts(paths: Iterable[Path]) -> int:
    return sum(1 for _ in find_posts(paths))
