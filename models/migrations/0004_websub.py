"""WebSub: the feeds waiting for a hub ping, and the combined feeds readers have asked for."""

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class PendingPing(Base):
        key = CharField(primary_key=True, max_length=200)
        attempts = IntegerField(default=0)
        due = DateTimeField(index=True)

    class KnownFeed(Base):
        address = CharField(primary_key=True, max_length=500)
        keys = TextField()

    db.create_tables([PendingPing, KnownFeed])
