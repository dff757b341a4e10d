"""Articles, their links to categories and tags, and the queries feeds and pages ask of them."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from peewee import SQL, CharField, CompositeKey, ForeignKeyField, IntegerField, TextField, Tuple, fn

from .base import BaseModel, UTCDateTimeField, db, utc_now, valid_key
from .taxonomy import Category, Tag
from .version import CATEGORY_NAMES, INDEX, SITE, FeedVersion, article_key, category_key, tag_key

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
class Selection:
    """Which articles a listing holds: every one, a category's, or those with certain tags."""

    category: str = ""
    all_tags: tuple[str, ...] = ()  # each of these
    any_tags: tuple[str, ...] = ()  # at least one of these
    exclude: tuple[str, ...] = ()  # none of these


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

    def newer(self, published_field, id_field):
        return Tuple(published_field, id_field) > Tuple(published_field.to_value(self.published), self.id)

    def encode(self) -> str:
        stamp = f"{self.published.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"
        return f"{stamp}~{self.id}" if self.id else stamp

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """From its encoded form; a time alone stands before every article published at that time."""
        stamp, sep, article_id = text.partition("~")
        if sep and not article_id:
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
    withdrawn = UTCDateTimeField(null=True)  # when it left every feed (410 since); partial index, 0006

    class Meta:
        indexes = ((("published", "id"), False), (("updated",), False))

    # -- listing ---------------------------------------------------------------------------------

    @classmethod
    def listing(
        cls,
        selection: "Selection",
        limit: int,
        before: "Cursor | None" = None,
        after: "Cursor | None" = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bare: bool = False,
    ) -> list["Article"]:
        """The selection's articles, newest first: `limit` of them older than `before`, or the `limit`
        nearest newer than `after`; `since`/`until` bound the publication time (archives). `bare`
        leaves out categories and tags (for "is there one more?")."""
        query, published, article_id = cls._live(selection, since, until)
        run = list if bare else cls._with_taxonomy
        if after:
            query = query.where(after.newer(published, article_id)).order_by(published, article_id)
            return run(query.limit(limit))[::-1]
        if before:
            query = query.where(before.older(published, article_id))
        return run(query.order_by(published.desc(), article_id.desc()).limit(limit))

    @classmethod
    def count(
        cls, selection: "Selection", since: datetime | None = None, until: datetime | None = None, cap: int = 0
    ) -> int:
        """How many of the selection's live articles were published in [since, until): a count over one
        range of the listing's index. With `cap`, counting stops there ("are there more than N?")."""
        query, _, _ = cls._live(selection, since, until)
        return query.limit(cap).count() if cap else query.count()

    @classmethod
    def cursor_at(
        cls, selection: "Selection", position: int, since: datetime | None = None, until: datetime | None = None
    ) -> "Cursor | None":
        """The cursor of the live article at `position` (0: the oldest) of those published in
        [since, until), or None when there are not that many: where a part of a split archive begins."""
        query, published, article_id = cls._live(selection, since, until)
        query = query.select(published, article_id).order_by(published, article_id).offset(position).limit(1)
        found = query.tuples().first()
        return Cursor(published.python_value(found[0]), found[1]) if found else None

    @classmethod
    def _live(cls, selection: "Selection", since: datetime | None, until: datetime | None):
        """_selected's (query, published, id) narrowed to live articles published in [since, until)."""
        query, published, article_id = cls._selected(selection)
        query = query.where(cls.withdrawn.is_null())
        if since:
            query = query.where(published >= published.to_value(since))
        if until:
            query = query.where(published < published.to_value(until))
        return query, published, article_id

    @classmethod
    def withdrawn_since(cls, selection: "Selection", since: datetime, limit: int = 100) -> list["Article"]:
        """Articles of the selection withdrawn at or after `since`, latest first: tombstones. Driven by
        the partial index of withdrawn articles (few), not by the selection's listing (many)."""
        query, _, _ = cls._selected(selection, drive=False)
        query = query.where(cls.withdrawn.is_null(False) & (cls.withdrawn >= cls.withdrawn.to_value(since)))
        return list(query.order_by(cls.withdrawn.desc(), cls.id).limit(limit))

    @classmethod
    def _selected(cls, selection: "Selection", drive: bool = True):
        """(query, published column, article id column) for a selection. Category and tag listings are
        driven by the link tables, which carry a copy of `published`: one range scan of their
        (key, published, article) index, however large the archive. With drive=False every condition
        is a membership test instead, for queries driven by another index."""
        link, condition, required = None, None, selection.all_tags
        if selection.category and drive:
            link, condition = ArticleCategory, ArticleCategory.category == selection.category
        elif selection.all_tags and drive:
            link, condition, required = ArticleTag, ArticleTag.tag == selection.all_tags[0], selection.all_tags[1:]
        if link is None:
            query, published, article_id = cls.select(), cls.published, cls.id
        else:
            query = cls.select().join(link, on=(link.article == cls.id)).where(condition)
            published, article_id = link.published, link.article
        tagged = ArticleTag.alias()

        def having(*tags: str):
            return fn.EXISTS(tagged.select(SQL("1")).where((tagged.article == cls.id) & tagged.tag.in_(tags)))

        if selection.category and not drive:
            filed = ArticleCategory.select(SQL("1")).where(
                (ArticleCategory.article == cls.id) & (ArticleCategory.category == selection.category)
            )
            query = query.where(fn.EXISTS(filed))
        for tag in required:
            query = query.where(having(tag))
        if selection.any_tags:
            query = query.where(having(*selection.any_tags))
        if selection.exclude:
            query = query.where(~having(*selection.exclude))
        return query, published, article_id

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
    def withdraw(cls, article_ids: list[str]) -> list[str]:
        """Take articles out of every feed (their share pages answer 410, Atom feeds carry tombstones);
        return the ids that were live. Their links stay, so the tombstones know where to appear."""
        now = utc_now()
        with db.atomic():
            live = [a for (a,) in cls.select(cls.id).where(cls.id.in_(article_ids) & cls.withdrawn.is_null()).tuples()]
            if live:
                cls.update(withdrawn=now).where(cls.id.in_(live)).execute()
                changes: dict[str, datetime] = {}
                _links_changed(changes, live, now)
                FeedVersion.bump(changes)
        return live

    @classmethod
    def live_ids_from(cls, folder: str) -> list[str]:
        """Ids of live articles imported from files under `folder` (an absolute path)."""
        prefix = folder.rstrip("/") + "/"
        query = cls.select(cls.id).where(cls.withdrawn.is_null() & (fn.SUBSTR(cls.path, 1, len(prefix)) == prefix))
        return [a for (a,) in query.tuples()]

    @classmethod
    def ids_from_source(cls, name: str) -> list[str]:
        """Ids of live articles a partner's feed brought (syndication/sources.py marks their path)."""
        query = cls.select(cls.id).where(cls.withdrawn.is_null() & (cls.path == f"source:{name}"))
        return [a for (a,) in query.tuples()]

    @classmethod
    def store(cls, draft: Draft) -> str:
        """Create or update one article in one transaction; say which of the three it was."""
        return cls.store_many([draft])[0]

    @classmethod
    def store_many(cls, drafts: list[Draft]) -> list[str]:
        """Create or update articles in one transaction, bumping the versions of every feed they change;
        say for each draft whether it was imported, updated or unchanged. Ids must be distinct."""
        if len({d.id for d in drafts}) != len(drafts):
            raise ValueError("store_many() needs distinct ids; store repeated ones in separate calls")
        now = utc_now()
        changes: dict[str, datetime] = {}

        def bump(key: str, moment: datetime) -> None:
            changes[key] = max(changes.get(key, moment), moment)

        with db.atomic():
            created_categories, renamed = Category.ensure([c for d in drafts for c in d.categories])
            created_tags = Tag.ensure([t for d in drafts for t in d.tags])
            if created_categories or created_tags or renamed:
                bump(INDEX, now)
            if renamed:
                bump(CATEGORY_NAMES, now)

            ids = [d.id for d in drafts]
            # A withdrawn article imported again comes back, even unchanged: its hash is not its state.
            existing = {
                article_id: digest if withdrawn is None else None
                for article_id, digest, withdrawn in cls.select(cls.id, cls.content_hash, cls.withdrawn)
                .where(cls.id.in_(ids))
                .tuples()
            }
            outcomes, rows, changed = [], [], []
            for draft in drafts:
                digest = draft.content_hash()
                if existing.get(draft.id) == digest:
                    outcomes.append(UNCHANGED)
                    continue
                outcomes.append(UPDATED if draft.id in existing else IMPORTED)
                updated = draft.updated or (now if draft.id in existing else draft.published)
                rows.append(draft_row(draft, digest, updated, now))
                changed.append((draft, updated))
            if not rows:
                FeedVersion.bump(changes)  # a category may have been renamed all the same
                return outcomes

            # Feeds the articles leave must change too: read the links before replacing them.
            changed_ids = [d.id for d, _ in changed]
            old_categories = ArticleCategory.keys_by_article(changed_ids)
            old_tags = ArticleTag.keys_by_article(changed_ids)
            for draft, updated in changed:
                bump(SITE, updated)
                bump(article_key(draft.id), updated)
                new_categories = [slug for slug, _ in draft.categories]
                for slug in new_categories:
                    bump(category_key(slug), updated)
                for slug in set(old_categories.get(draft.id, ())) - set(new_categories):
                    bump(category_key(slug), now)
                for name in draft.tags:
                    bump(tag_key(name), updated)
                for name in set(old_tags.get(draft.id, ())) - set(draft.tags):
                    bump(tag_key(name), now)

            kept = [f.column_name for f in cls._meta.sorted_fields if f.name not in ("id", "created")]
            cls.write_many(rows, conflict="id", update=kept)
            ArticleCategory.replace_links(changed, lambda d: [slug for slug, _ in d.categories])
            ArticleTag.replace_links(changed, lambda d: d.tags)
            FeedVersion.bump(changes)
        return outcomes


def _links_changed(changes: dict, article_ids: list[str], moment: datetime) -> None:
    """Every feed and page that shows these articles changes at `moment`."""
    for key in (SITE, *(article_key(a) for a in article_ids)):
        changes[key] = moment
    for slug in {s for names in ArticleCategory.keys_by_article(article_ids).values() for s in names}:
        changes[category_key(slug)] = moment
    for name in {t for names in ArticleTag.keys_by_article(article_ids).values() for t in names}:
        changes[tag_key(name)] = moment


def draft_row(draft: Draft, digest: str, updated: datetime, now: datetime) -> dict:
    return {
        "id": draft.id,
        "title": draft.title,
        "published": draft.published,
        "updated": updated,
        "created": now,  # kept as it was when the row already exists
        "author": draft.author,
        "source_name": draft.source_name,
        "source_url": draft.source_url,
        "summary": draft.summary,
        "body": draft.body,
        "image": draft.image,
        "content_hash": digest,
        "path": draft.path,
        "withdrawn": None,
    }


class _Link(BaseModel):
    """What the two link tables share: replacing an article's links, and reading them back."""

    @classmethod
    def _key_field(cls):
        raise NotImplementedError

    @classmethod
    def keys_by_article(cls, article_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        key = cls._key_field()
        for article_id, name in cls.select(cls.article, key).where(cls.article.in_(article_ids)).tuples():
            found.setdefault(article_id, []).append(name)
        return found

    @classmethod
    def replace_links(cls, changed: list[tuple[Draft, datetime]], names_of) -> None:
        cls.delete().where(cls.article.in_([d.id for d, _ in changed])).execute()
        key = cls._key_field().name
        rows = [
            {"article": d.id, key: name, "published": d.published, "position": i}
            for d, _ in changed
            for i, name in enumerate(names_of(d))
        ]
        cls.write_many(rows)


class ArticleCategory(_Link):
    article = ForeignKeyField(Article, on_delete="CASCADE")
    category = ForeignKeyField(Category, on_delete="CASCADE")
    published = UTCDateTimeField()  # copy of Article.published, for the listing index
    position = IntegerField()

    class Meta:
        primary_key = CompositeKey("article", "category")
        indexes = ((("category", "published", "article"), False),)

    @classmethod
    def _key_field(cls):
        return cls.category


class ArticleTag(_Link):
    article = ForeignKeyField(Article, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    published = UTCDateTimeField()
    position = IntegerField()

    class Meta:
        primary_key = CompositeKey("article", "tag")
        indexes = ((("tag", "published", "article"), False),)

    @classmethod
    def _key_field(cls):
        return cls.tag
