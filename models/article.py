"""Articles, their links to categories and tags, and the queries feeds and pages ask of them."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from peewee import CharField, CompositeKey, ForeignKeyField, IntegerField, TextField, Tuple

from .base import BaseModel, UTCDateTimeField, db, utc_now, valid_key
from .taxonomy import Category, Tag

IMPORTED, UPDATED, UNCHANGED = "imported", "updated", "unchanged"


@dataclass
class Draft:
    """Everything needed to store one article, already validated and sanitized."""

    id: str
    title: str
    published: datetime
    body: str
    summary: str
    categories: list[tuple[str, str | None]]  # (slug, display name if the post told us)
    tags: list[str] = field(default_factory=list)
    author: str = ""
    source_name: str = ""
    source_url: str = ""
    image: str = ""
    updated: datetime | None = None  # an explicit update time from the post, if any
    path: str = ""

    def content_hash(self) -> str:
        """What readers see of the article; a re-import with the same hash changes nothing."""
        fields = [
            self.title,
            self.published.astimezone(UTC).isoformat(),
            self.updated.astimezone(UTC).isoformat() if self.updated else "",
            self.body,
            self.summary,
            [slug for slug, _ in self.categories],
            self.tags,
            self.author,
            self.source_name,
            self.source_url,
            self.image,
        ]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Cursor:
    """A position in newest-first order: the articles strictly older than (published, id)."""

    published: datetime
    id: str

    def older(self, published_field, id_field):
        """The condition "strictly after this cursor in newest-first order" on the given columns.

        The time goes through the field's own conversion: a raw aware datetime would reach SQLite as
        text with "+00:00", which sorts after the stored form and repeats the boundary item."""
        return Tuple(published_field, id_field) < Tuple(published_field.to_value(self.published), self.id)

    def encode(self) -> str:
        return f"{self.published.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        stamp, sep, article_id = text.partition("~")
        if not sep or not article_id:
            raise ValueError("a cursor looks like 20260102T030405.000000Z~article-id")
        try:
            published = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError("the cursor's time is not of the form 20260102T030405.000000Z") from None
        return cls(published, article_id)


class Article(BaseModel):
    id = CharField(primary_key=True, max_length=190)
    title = TextField()
    published = UTCDateTimeField()
    updated = UTCDateTimeField()
    created = UTCDateTimeField(default=utc_now)
    author = TextField(default="")
    source_name = TextField(default="")
    source_url = TextField(default="")
    summary = TextField(default="")
    body = TextField()
    image = TextField(default="")
    content_hash = CharField(max_length=64)
    path = TextField(default="")

    class Meta:
        indexes = ((("published", "id"), False), (("updated",), False))

    # -- listing ---------------------------------------------------------------------------------

    @classmethod
    def latest(cls, limit: int, before: Cursor | None = None) -> list["Article"]:
        query = cls.select()
        if before:
            query = query.where(before.older(cls.published, cls.id))
        return cls._with_taxonomy(query.order_by(cls.published.desc(), cls.id.desc()).limit(limit))

    @classmethod
    def in_category(cls, slug: str, limit: int, before: Cursor | None = None) -> list["Article"]:
        return cls._through(ArticleCategory, ArticleCategory.category == slug, limit, before)

    @classmethod
    def with_tag(cls, name: str, limit: int, before: Cursor | None = None) -> list["Article"]:
        return cls._through(ArticleTag, ArticleTag.tag == name, limit, before)

    @classmethod
    def _through(cls, link, condition, limit, before) -> list["Article"]:
        # The link tables carry a copy of `published`, so a category or tag listing is one
        # range scan of the (key, published, article) index, however large the archive.
        query = cls.select().join(link, on=(link.article == cls.id)).where(condition)
        if before:
            query = query.where(before.older(link.published, link.article))
        return cls._with_taxonomy(query.order_by(link.published.desc(), link.article.desc()).limit(limit))

    @classmethod
    def _with_taxonomy(cls, query) -> list["Article"]:
        """Run the query and attach categories and tags with two more queries, not one per article."""
        articles = list(query)
        by_id = {a.id: a for a in articles}
        for a in articles:
            a.categories, a.tags = [], []
        if by_id:
            ids = list(by_id)
            links = (
                ArticleCategory.select(ArticleCategory.article, Category)
                .join(Category)
                .where(ArticleCategory.article.in_(ids))
                .order_by(ArticleCategory.position)
            )
            for link in links:
                by_id[link.article_id].categories.append(link.category)
            tags = ArticleTag.select().where(ArticleTag.article.in_(ids)).order_by(ArticleTag.position)
            for link in tags:
                by_id[link.article_id].tags.append(link.tag_id)
        return articles

    @classmethod
    def first_published(cls) -> datetime | None:
        row = cls.select(cls.published).order_by(cls.published).first()
        return row.published if row else None

    @classmethod
    def last_updated(cls) -> datetime | None:
        row = cls.select(cls.updated).order_by(cls.updated.desc()).first()
        return row.updated if row else None

    @classmethod
    def find(cls, article_id: str) -> "Article | None":
        """The article with its categories and tags, or None (also for ids that cannot exist)."""
        if not valid_key(article_id):
            return None
        found = cls._with_taxonomy(cls.select().where(cls.id == article_id))
        return found[0] if found else None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.published, self.id)

    @property
    def category(self) -> Category | None:
        """The primary category: the first one the post names."""
        return self.categories[0] if self.categories else None

    # -- writing ---------------------------------------------------------------------------------

    @classmethod
    def store(cls, draft: Draft) -> str:
        """Create or update the article in one transaction; say which of the three it was."""
        digest = draft.content_hash()
        with db.atomic():
            Category.ensure(draft.categories)
            existing = cls.get_or_none(cls.id == draft.id)
            if existing and existing.content_hash == digest:
                return UNCHANGED
            now = utc_now()
            fields = dict(
                title=draft.title,
                published=draft.published,
                updated=draft.updated or (now if existing else draft.published),
                author=draft.author,
                source_name=draft.source_name,
                source_url=draft.source_url,
                summary=draft.summary,
                body=draft.body,
                image=draft.image,
                content_hash=digest,
                path=draft.path,
            )
            if existing:
                cls.update(**fields).where(cls.id == draft.id).execute()
            else:
                cls.insert(id=draft.id, created=now, **fields).execute()
            cls._link(draft)
        return UPDATED if existing else IMPORTED

    @classmethod
    def _link(cls, draft: Draft) -> None:
        Tag.ensure(draft.tags)
        ArticleCategory.delete().where(ArticleCategory.article == draft.id).execute()
        ArticleTag.delete().where(ArticleTag.article == draft.id).execute()
        if draft.categories:
            ArticleCategory.insert_many(
                [
                    {"article": draft.id, "category": slug, "published": draft.published, "position": i}
                    for i, (slug, _) in enumerate(draft.categories)
                ]
            ).execute()
        if draft.tags:
            ArticleTag.insert_many(
                [
                    {"article": draft.id, "tag": name, "published": draft.published, "position": i}
                    for i, name in enumerate(draft.tags)
                ]
            ).execute()


class ArticleCategory(BaseModel):
    article = ForeignKeyField(Article, on_delete="CASCADE")
    category = ForeignKeyField(Category, on_delete="CASCADE")
    published = UTCDateTimeField()  # copy of Article.published, for the listing index
    position = IntegerField()

    class Meta:
        primary_key = CompositeKey("article", "category")
        indexes = ((("category", "published", "article"), False),)


class ArticleTag(BaseModel):
    article = ForeignKeyField(Article, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    published = UTCDateTimeField()
    position = IntegerField()

    class Meta:
        primary_key = CompositeKey("article", "tag")
        indexes = ((("tag", "published", "article"), False),)
