"""Importing post files: find them, read each, store each in its own transaction, report."""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from models import Article

from .posts import PostError, read_post

POST_SUFFIXES = {".md", ".markdown", ".html", ".htm"}


@dataclass
class ImportReport:
    counts: Counter = field(default_factory=Counter)  # imported / updated / unchanged / failed
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        return f"{c['imported']} imported, {c['updated']} updated, {c['unchanged']} unchanged, {c['failed']} failed"


def find_posts(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named on the command line as they are; folders searched recursively for post files
    (skipping hidden ones and READMEs), in name order so runs are repeatable."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path)
                if (
                    found.is_file()
                    and found.suffix.lower() in POST_SUFFIXES
                    and not any(part.startswith(".") for part in relative.parts)
                    and found.stem.lower() != "readme"
                ):
                    yield found
        else:
            yield path


def import_post(path: Path, zone: tzinfo, report: ImportReport) -> None:
    """One file: stored in one transaction (all of it or nothing), or reported with its reason."""
    try:
        if not path.exists():
            raise PostError("does not exist")
        outcome = Article.store(read_post(path, zone))
    except PostError as e:
        report.counts["failed"] += 1
        report.failures.append((path, str(e)))
        return
    report.counts[outcome] += 1
