"""Numbered schema migrations (models/migrations/NNNN_name.py), each applied once.

peewee's own runner does the work; this only makes its history table keep UTC like every other table.
"""

from pathlib import Path

from peewee import CharField
from playhouse import migrations

from .base import BaseModel, UTCDateTimeField, utc_now

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Runner(migrations.Runner):
    def __init__(self, database):
        super().__init__(database, directory=str(MIGRATIONS_DIR), table_name="schema_migration")

        class History(BaseModel):
            name = CharField(unique=True)
            applied = UTCDateTimeField(default=utc_now)

            class Meta:
                database = self.database
                table_name = self.table_name

        self.History = History


def migrate(database) -> list[str]:
    """Apply every pending migration in order; return the names applied."""
    return Runner(database).up()


def pending(database) -> list[str]:
    return [m.name for m in Runner(database).status() if m.path and not m.applied]
