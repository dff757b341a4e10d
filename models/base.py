"""The unbound database and the model base class every table inherits from."""

import re
from datetime import UTC, datetime

from peewee import DatabaseProxy, DateTimeField, Model

# Created unbound: the app factory (or a test) points it at a real database.
db = DatabaseProxy()


# Article ids, category slugs and tag names: letters and digits of any script, '.', '_' and '-'.
# They appear in addresses, so anything else cannot name a row (and is never sent to the database).
_KEY = re.compile(r"^[\w.-]{1,190}$")


def valid_key(text: str) -> bool:
    return bool(_KEY.match(text))


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
