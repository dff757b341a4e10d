"""Partners' feeds this site republishes (`flask sources …`), and what their last poll left behind."""

from datetime import datetime, timedelta

from peewee import CharField, IntegerField, TextField

from .base import BaseModel, UTCDateTimeField, utc_now

# Repeated failures push the next poll back: base × 2^(failures-1), at most a day.
MAX_BACKOFF = timedelta(days=1)


class Source(BaseModel):
    name = CharField(primary_key=True, max_length=60)  # a key: part of every article id it brings
    url = TextField(unique=True)
    category = CharField(max_length=190)
    tags = TextField(default="")  # comma-separated tag names
    title = TextField(default="")  # the attribution shown with its articles: --title, else the feed's own
    etag = TextField(default="")  # validators the source sent last, for conditional GET
    last_modified = TextField(default="")
    failures = IntegerField(default=0)  # consecutive
    next_fetch = UTCDateTimeField(null=True)  # not polled before this (back-off, Retry-After)
    last_fetched = UTCDateTimeField(null=True)
    last_status = TextField(default="")  # one line: what the last poll did
    created = UTCDateTimeField(default=utc_now)

    @property
    def tag_names(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]

    @property
    def attribution(self) -> str:
        return self.title or self.name

    @classmethod
    def due(cls, now: datetime, names: tuple[str, ...] = (), force: bool = False) -> list["Source"]:
        query = cls.select().order_by(cls.name)
        if names:
            query = query.where(cls.name.in_(names))
        if not force:
            query = query.where(cls.next_fetch.is_null() | (cls.next_fetch <= now))
        return list(query)

    def succeeded(self, now: datetime, status: str, etag: str = "", last_modified: str = "") -> None:
        self.failures, self.next_fetch, self.last_fetched, self.last_status = 0, None, now, status
        if etag or last_modified:  # a 304 may omit them: keep the ones we hold
            self.etag, self.last_modified = etag, last_modified
        self.save()

    def failed(self, now: datetime, status: str, base: timedelta, retry_after: timedelta | None = None) -> None:
        """Count a failure and wait before the next poll: the back-off, or longer if the source asked."""
        self.failures += 1
        wait = min(base * 2 ** (self.failures - 1), MAX_BACKOFF)
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_BACKOFF))
        self.next_fetch, self.last_fetched, self.last_status = now + wait, now, status
        self.save()
