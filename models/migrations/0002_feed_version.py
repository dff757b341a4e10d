"""Per-feed versions (models/version.py), filled in for what is already stored."""

import secrets

from peewee import BigIntegerField, CharField, DateTimeField, Model


def up(migrator, db):
    class FeedVersion(Model):
        key = CharField(primary_key=True, max_length=200)
        version = BigIntegerField()
        updated = DateTimeField()

        class Meta:
            database = db
            table_name = "feed_version"

    db.create_tables([FeedVersion])
    # Existing rows: every key that has articles gets a version and its newest article's update time.
    newest = db.execute_sql("SELECT MAX(updated) FROM article").fetchone()[0]
    if newest is not None:
        for key in ("site", "index"):
            FeedVersion.insert(key=key, version=secrets.randbits(63), updated=newest).execute()
    for prefix, table, column in (("category", "article_category", "category_id"), ("tag", "article_tag", "tag_id")):
        cursor = db.execute_sql(
            f"SELECT l.{column}, MAX(a.updated) FROM {table} l"
            f" JOIN article a ON a.id = l.article_id GROUP BY l.{column}"
        )
        for name, newest in cursor.fetchall():
            FeedVersion.insert(key=f"{prefix}:{name}", version=secrets.randbits(63), updated=newest).execute()
    for article_id, updated in db.execute_sql("SELECT id, updated FROM article").fetchall():
        FeedVersion.insert(key=f"article:{article_id}", version=secrets.randbits(63), updated=updated).execute()
