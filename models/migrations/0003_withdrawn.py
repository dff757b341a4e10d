"""Withdrawn articles: leave every feed, answer 410, and are announced by tombstones for a while."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("article", "withdrawn", DateTimeField(null=True)),
        migrator.add_index("article", ("withdrawn",), False),
    )
