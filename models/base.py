"""The unbound database and the model base class every table inherits from."""

import re
from datetime import UTC, datetime

from peewee import DatabaseProxy, DateTimeField, Model, __exception_wrapper__

# Created unbound: the app factory (or a test) points it at a real database.
db = DatabaseProxy()


# Article ids, category slugs and tag names: letters and digits of any script, '.', '_' and '-' (not
# dots alone: '.' and '..' are path steps). They appear in addresses, so anything else cannot name a row
# (and is never sent to the database).
_KEY = re.compile(r"[\w.-]{1,190}")


def valid_key(text: str) -> bool:
    return bool(_KEY.fullmatch(text)) and bool(text.strip("."))


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTimeField(DateTimeField):
    """A moment in time: stored as UTC without an offset, always read back aware (UTC).

    Refusing naive datetimes here is what keeps naive times out of the whole program.
    """

    def db_value(self, value):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{self.name}: needs a time-zone aware datetime, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    @classmethod
    def write_many(cls, rows: list[dict], conflict: str = "", update: list[str] = ()) -> None:
        """INSERT many rows in one prepared statement; on a conflict on column `conflict`, update the
        `update` columns from the new row (or, with none named, keep the old row).

        For the importer's batches: peewee's query builder spends more time composing a large
        multi-row INSERT than the database spends running it. The SQL is the same on SQLite and
        PostgreSQL; values still go through each field's db_value."""
        if not rows:
            return
        fields = [cls._meta.fields[name] for name in rows[0]]
        database = cls._meta.database
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        marks = ", ".join([database.param] * len(fields))
        sql = f'INSERT INTO "{cls._meta.table_name}" ({columns}) VALUES ({marks})'
        if conflict:
            sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update)
            sql += f' ON CONFLICT ("{conflict}") ' + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
        values = [tuple(f.db_value(row[f.name]) for f in fields) for row in rows]
        with __exception_wrapper__:  # the drivers' errors as peewee's, as for every other query
            database.cursor().executemany(sql, values)
