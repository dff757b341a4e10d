"""API and partner tokens (models/token.py): stored as hashes only."""

from peewee import CharField, DateTimeField, Model, TextField


def up(migrator, db):
    class Token(Model):
        name = CharField(primary_key=True, max_length=100)
        scope = CharField(max_length=20)
        categories = TextField(default="")
        secret_hash = CharField(max_length=64, unique=True)
        created = DateTimeField()
        revoked = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "token"

    db.create_tables([Token])
