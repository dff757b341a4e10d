"""Subscriber statistics, per feed address and UTC day.

Two kinds of follower are counted:
- subscribers an aggregator reports in its User-Agent: the latest count each (aggregator, feed id) sent
  that day, one row each (an aggregator polling under two feed ids has two rows, and both count);
- other pollers: distinct clients, as keyed digests of (client address, user agent) under a salt that is
  random per day (`StatsSalt`, shared by every worker through this table). The salt is deleted once its
  day is over; the day's digests are then folded into a count (`PollerDay`) and deleted too, so that
  nothing left can be matched against an address. No address is ever stored.

Workers write in batches (syndication.stats), each on its own, so every write here is an upsert that
gives the same result in whatever order the batches of several workers arrive.
"""

import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from peewee import EXCLUDED, CharField, CompositeKey, DateField, IntegerField, fn

from .base import BaseModel, UTCDateTimeField

CHUNK = 300  # rows per multi-row statement: well under SQLite's limit on bound parameters


@dataclass(frozen=True)
class FeedDay:
    """One line of the report: a feed address on one UTC day."""

    day: date
    feed: str
    subscribers: int  # reported by aggregators, summed over aggregators and their feed ids
    pollers: int  # distinct other clients

    @property
    def total(self) -> int:
        return self.subscribers + self.pollers


class SubscriberCount(BaseModel):
    day = DateField()
    feed = CharField(max_length=255)
    aggregator = CharField(max_length=40)
    feed_id = CharField(max_length=64)  # "" when the aggregator sends none
    subscribers = IntegerField()
    seen = UTCDateTimeField()  # when this count was reported: a later report replaces it, an earlier never

    class Meta:
        table_name = "stats_subscriber_count"
        primary_key = CompositeKey("day", "feed", "aggregator", "feed_id")

    @classmethod
    def record(cls, rows: Iterable[tuple[date, str, str, str, int, datetime]]) -> None:
        """Upsert (day, feed, aggregator, feed id, count, seen) rows: the latest report of the day wins,
        even when a worker's batch arrives after another's newer one."""
        fields = [cls.day, cls.feed, cls.aggregator, cls.feed_id, cls.subscribers, cls.seen]
        # One order for every writer: concurrent upserts then lock rows in the same order (no deadlock).
        rows = sorted(rows, key=lambda row: row[:4])
        for start in range(0, len(rows), CHUNK):
            cls.insert_many(rows[start : start + CHUNK], fields=fields).on_conflict(
                conflict_target=[cls.day, cls.feed, cls.aggregator, cls.feed_id],
                update={cls.subscribers: EXCLUDED.subscribers, cls.seen: EXCLUDED.seen},
                where=EXCLUDED.seen >= cls.seen,
            ).execute()

    @classmethod
    def by_aggregator(cls, day: date, feeds: list[str] | None = None) -> list[tuple[str, int]]:
        """(aggregator, subscribers summed over its feed ids and the feeds) on one day, largest first."""
        if feeds is not None and not feeds:
            return []
        total = fn.SUM(cls.subscribers)
        query = cls.select(cls.aggregator, total).where(cls.day == day)
        if feeds is not None:
            query = query.where(cls.feed.in_(feeds))
        return list(query.group_by(cls.aggregator).order_by(total.desc(), cls.aggregator).tuples())


class Poller(BaseModel):
    day = DateField()
    feed = CharField(max_length=255)
    digest = CharField(max_length=32)  # keyed BLAKE2b of (address, agent) under the day's salt

    class Meta:
        table_name = "stats_poller"
        primary_key = CompositeKey("day", "feed", "digest")

    @classmethod
    def record(cls, rows: Iterable[tuple[date, str, str]]) -> None:
        """Insert (day, feed, digest) rows; a client seen before that day is not counted again."""
        rows = sorted(rows)
        for start in range(0, len(rows), CHUNK):
            cls.insert_many(
                rows[start : start + CHUNK], fields=[cls.day, cls.feed, cls.digest]
            ).on_conflict_ignore().execute()

    @classmethod
    def compact(cls, before: date) -> int:
        """Fold the digests of days before `before` into per-day counts and delete them; return how many
        were folded. Each digest is deleted, and so counted, by exactly one process, however many do this
        at once (a row a DELETE … RETURNING hands back is gone for every other)."""
        gone = cls.delete().where(cls.day < before).returning(cls.day, cls.feed).tuples().execute()
        counts = Counter(gone)
        rows = sorted((day, feed, n) for (day, feed), n in counts.items())
        for start in range(0, len(rows), CHUNK):
            PollerDay.insert_many(
                rows[start : start + CHUNK], fields=[PollerDay.day, PollerDay.feed, PollerDay.pollers]
            ).on_conflict(
                conflict_target=[PollerDay.day, PollerDay.feed],
                update={PollerDay.pollers: PollerDay.pollers + EXCLUDED.pollers},
            ).execute()
        return sum(counts.values())


class PollerDay(BaseModel):
    """Distinct other pollers of a feed on a day that is over (their digests are gone)."""

    day = DateField()
    feed = CharField(max_length=255)
    pollers = IntegerField()

    class Meta:
        table_name = "stats_poller_day"
        primary_key = CompositeKey("day", "feed")


class StatsSalt(BaseModel):
    day = DateField(primary_key=True)
    salt = CharField(max_length=64)  # 32 random bytes, hex

    class Meta:
        table_name = "stats_salt"

    @classmethod
    def for_day(cls, day: date) -> bytes:
        """The day's salt: made by whichever worker needs it first, then read by every other."""
        cls.insert(day=day, salt=secrets.token_hex(32)).on_conflict_ignore().execute()
        return bytes.fromhex(cls.get(cls.day == day).salt)

    @classmethod
    def forget_before(cls, day: date) -> int:
        return cls.delete().where(cls.day < day).execute()


def report(since: date, feeds: list[str] | None = None) -> list[FeedDay]:
    """Every feed with statistics from `since` on (None: every feed; a list: only these addresses),
    newest day first, then by address."""
    if feeds is not None and not feeds:
        return []
    subscribers: Counter = Counter()
    pollers: Counter = Counter()
    queries = (
        (subscribers, SubscriberCount, fn.SUM(SubscriberCount.subscribers)),
        (pollers, Poller, fn.COUNT(Poller.digest)),
        (pollers, PollerDay, fn.SUM(PollerDay.pollers)),  # days that are over (and any stragglers above)
    )
    for counter, model, value in queries:
        query = model.select(model.day, model.feed, value).where(model.day >= since)
        if feeds is not None:
            query = query.where(model.feed.in_(feeds))
        for day, feed, n in query.group_by(model.day, model.feed).tuples():
            counter[day, feed] += int(n)
    keys = sorted(subscribers.keys() | pollers.keys(), key=lambda key: (-key[0].toordinal(), key[1]))
    return [FeedDay(day, feed, subscribers[day, feed], pollers[day, feed]) for day, feed in keys]
