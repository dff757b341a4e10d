"""Partners' feeds to poll (models/source.py)."""

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class Source(Model):
        name = CharField(primary_key=True, max_length=60)
        url = TextField(unique=True)
        category = CharField(max_length=190)
        tags = TextField(default="")
        title = TextField(default="")
        etag = TextField(default="")
        last_modified = TextField(default="")
        failures = IntegerField(default=0)
        next_fetch = DateTimeField(null=True)
        last_fetched = DateTimeField(null=True)
        last_status = TextField(default="")
        created = DateTimeField()

        class Meta:
            database = db
            table_name = "source"

    db.create_tables([Source])
