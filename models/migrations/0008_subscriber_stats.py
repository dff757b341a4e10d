"""Subscriber statistics (models/stats.py): counts aggregators report, digests of other pollers and their
per-day totals, and the daily salts."""

from peewee import CharField, CompositeKey, DateField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db

    class SubscriberCount(Base):
        day = DateField()
        feed = CharField(max_length=255)
        aggregator = CharField(max_length=40)
        feed_id = CharField(max_length=64)
        subscribers = IntegerField()
        seen = DateTimeField()

        class Meta:
            table_name = "stats_subscriber_count"
            primary_key = CompositeKey("day", "feed", "aggregator", "feed_id")

    class Poller(Base):
        day = DateField()
        feed = CharField(max_length=255)
        digest = CharField(max_length=32)

        class Meta:
            table_name = "stats_poller"
            primary_key = CompositeKey("day", "feed", "digest")

    class PollerDay(Base):
        day = DateField()
        feed = CharField(max_length=255)
        pollers = IntegerField()

        class Meta:
            table_name = "stats_poller_day"
            primary_key = CompositeKey("day", "feed")

    class StatsSalt(Base):
        day = DateField(primary_key=True)
        salt = CharField(max_length=64)

        class Meta:
            table_name = "stats_salt"

    db.create_tables([SubscriberCount, Poller, PollerDay, StatsSalt])
