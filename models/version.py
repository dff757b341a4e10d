"""Per-feed versions: a token that changes, in the same transaction, with every write that changes a feed.

Every feed and page depends on a few keys (DEPENDS in syndication.cache); its ETag is derived from their
versions, so a conditional request is answered from one primary-key lookup, and a rendered copy cached in
any process is known current without looking at the articles. Versions are random, not counters: a
version names one state of the content, so even a database restored from a backup never pairs an old
token with new content.
"""

import secrets
from datetime import datetime

from peewee import EXCLUDED, BigIntegerField, Case, CharField

from .base import BaseModel, UTCDateTimeField
from .websub import PendingPing

SITE = "site"  # every article: the site feed and home page
INDEX = "index"  # the lists of categories and tags: the OPML index and the home page
CATEGORY_NAMES = "category-names"  # display names of categories, shown wherever an article is


def category_key(slug: str) -> str:
    return f"category:{slug}"


def tag_key(name: str) -> str:
    return f"tag:{name}"


def article_key(article_id: str) -> str:
    return f"article:{article_id}"


class FeedVersion(BaseModel):
    key = CharField(primary_key=True, max_length=200)
    version = BigIntegerField()
    updated = UTCDateTimeField()  # the newest change among what the key covers: its Last-Modified

    @classmethod
    def bump(cls, changes: dict[str, datetime]) -> None:
        """New versions for these keys; each key's time moves forward to the given one, never back."""
        if not changes:
            return
        rows = [{"key": k, "version": secrets.randbits(63), "updated": moment} for k, moment in sorted(changes.items())]
        # Feeds a hub should hear about: not the index, nor pages (article keys, display names).
        PendingPing.record([k for k in changes if k == SITE or k.startswith(("category:", "tag:"))])
        later = Case(None, [(cls.updated < EXCLUDED.updated, EXCLUDED.updated)], cls.updated)
        for start in range(0, len(rows), 300):
            cls.insert_many(rows[start : start + 300]).on_conflict(
                conflict_target=[cls.key], update={cls.version: EXCLUDED.version, cls.updated: later}
            ).execute()

    @classmethod
    def read(cls, keys: tuple[str, ...]) -> dict[str, tuple[int, datetime]]:
        """{key: (version, updated)} for those of the keys that exist, in one primary-key lookup.

        On every conditional request, so written as plain SQL: building it with the query builder
        would cost more than running it."""
        database = cls._meta.database
        marks = ", ".join([database.param] * len(keys))
        cursor = database.execute_sql(
            f'SELECT "key", version, updated FROM feed_version WHERE "key" IN ({marks})', keys
        )
        return {key: (version, cls.updated.python_value(updated)) for key, version, updated in cursor.fetchall()}
