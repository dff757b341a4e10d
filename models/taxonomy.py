"""Categories and tags: the two ways articles are filed."""

from peewee import EXCLUDED, CharField, TextField

from .base import BaseModel, valid_key


class Category(BaseModel):
    slug = CharField(primary_key=True, max_length=190)
    name = TextField()  # display name, e.g. from the post's navigation line

    @classmethod
    def ensure(cls, categories: list[tuple[str, str | None]]) -> None:
        """Create the categories that do not exist; rename those whose display name is now known."""
        named = [{"slug": slug, "name": name} for slug, name in categories if name]
        unnamed = [{"slug": slug, "name": slug} for slug, name in categories if not name]
        if named:
            cls.insert_many(named).on_conflict(conflict_target=[cls.slug], update={cls.name: EXCLUDED.name}).execute()
        if unnamed:
            cls.insert_many(unnamed).on_conflict_ignore().execute()

    @classmethod
    def find(cls, slug: str) -> "Category | None":
        return cls.get_or_none(cls.slug == slug) if valid_key(slug) else None

    @classmethod
    def all_by_name(cls):
        return cls.select().order_by(cls.name, cls.slug)


class Tag(BaseModel):
    name = CharField(primary_key=True, max_length=190)

    @classmethod
    def ensure(cls, names: list[str]) -> None:
        if names:
            cls.insert_many([{"name": n} for n in names]).on_conflict_ignore().execute()

    @classmethod
    def find(cls, name: str) -> "Tag | None":
        return cls.get_or_none(cls.name == name) if valid_key(name) else None

    @classmethod
    def all_by_name(cls):
        return cls.select().order_by(cls.name)
