"""WebSub bookkeeping: which feeds changed and still need a hub ping, and which combined feeds exist.

A change is recorded in the same transaction as the write that makes it (FeedVersion.bump calls
`record`), so a ping is never lost to a crash; any process may then deliver it (`claim` hands each key to
one of them at a time).
"""

from datetime import datetime, timedelta

from peewee import EXCLUDED, CharField, IntegerField, TextField

from .base import BaseModel, UTCDateTimeField, utc_now


class PendingPing(BaseModel):
    key = CharField(primary_key=True, max_length=200)  # a version key: SITE, category:x, tag:y …
    attempts = IntegerField(default=0)
    due = UTCDateTimeField(index=True)

    enabled = False  # set when a hub is configured; otherwise nothing is recorded

    @classmethod
    def record(cls, keys: list[str]) -> None:
        if cls.enabled and keys:
            now = utc_now()
            rows = [{"key": k, "attempts": 0, "due": now} for k in keys]
            cls.insert_many(rows).on_conflict(
                conflict_target=[cls.key], update={cls.attempts: 0, cls.due: EXCLUDED.due}
            ).execute()

    @classmethod
    def claim(cls, limit: int = 50, lease: timedelta = timedelta(minutes=2)) -> list["PendingPing"]:
        """Due pings this process now owns: each is leased by moving its due time, which only one of
        several processes trying at once can do."""
        now = utc_now()
        mine = []
        for ping in cls.select().where(cls.due <= now).order_by(cls.due).limit(limit):
            claimed = (
                cls.update(due=now + lease)
                .where((cls.key == ping.key) & (cls.due == cls.due.to_value(ping.due)))
                .execute()
            )
            if claimed:
                mine.append(ping)
        return mine

    def done(self) -> None:
        type(self).delete().where(type(self).key == self.key).execute()

    def retry(self, backoff: timedelta, give_up_after: int) -> bool:
        """Try again after `backoff`; False (and forgotten) once tried `give_up_after` times."""
        if self.attempts + 1 >= give_up_after:
            self.done()
            return False
        type(self).update(attempts=self.attempts + 1, due=utc_now() + backoff).where(
            type(self).key == self.key
        ).execute()
        return True

    @classmethod
    def next_due(cls) -> datetime | None:
        row = cls.select(cls.due).order_by(cls.due).first()
        return row.due if row else None


class KnownFeed(BaseModel):
    """A combined or filtered feed someone has fetched: its hub is pinged when its parts change."""

    address = CharField(primary_key=True, max_length=500)  # site-relative, canonical
    keys = TextField()  # "|key|key|": its version keys

    @classmethod
    def remember(cls, address: str, keys: tuple[str, ...]) -> None:
        cls.insert(address=address, keys="|" + "|".join(keys) + "|").on_conflict_ignore().execute()

    @classmethod
    def depending_on(cls, key: str) -> list[str]:
        return [a for (a,) in cls.select(cls.address).where(cls.keys.contains(f"|{key}|")).tuples()]
