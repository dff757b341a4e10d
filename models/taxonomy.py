"""Categories and tags: the two ways articles are filed."""

from peewee import CharField, TextField

from .base import BaseModel, valid_key


class Category(BaseModel):
    slug = CharField(primary_key=True, max_length=190)
    name = TextField()  # display name, e.g. from the post's navigation line

    @classmethod
    def ensure(cls, categories: list[tuple[str, str | None]]) -> tuple[bool, bool]:
        """Create the categories that do not exist (named by their slug until a post names them);
        rename those whose display name a post now gives. Return (any created, any renamed)."""
        wanted: dict[str, str | None] = {}
        for slug, name in categories:
            wanted[slug] = name or wanted.get(slug)
        if not wanted:
            return False, False
        known = dict(cls.select(cls.slug, cls.name).where(cls.slug.in_(list(wanted))).tuples())
        new = [{"slug": slug, "name": name or slug} for slug, name in wanted.items() if slug not in known]
        renamed = {slug: name for slug, name in wanted.items() if slug in known and name and known[slug] != name}
        if new:
            cls.insert_many(new).on_conflict_ignore().execute()  # another importer may have just made it
        for slug, name in renamed.items():
            cls.update(name=name).where(cls.slug == slug).execute()
        return bool(new), bool(renamed)

    @classmethod
    def find(cls, slug: str) -> "Category | None":
        return cls.get_or_none(cls.slug == slug) if valid_key(slug) else None

    @classmethod
    def all_by_name(cls):
        return cls.select().order_by(cls.name, cls.slug)


class Tag(BaseModel):
    name = CharField(primary_key=True, max_length=190)

    @classmethod
    def ensure(cls, names: list[str]) -> bool:
        """Create the tags that do not exist; say whether any did not."""
        wanted = set(names)
        if not wanted:
            return False
        known = {name for (name,) in cls.select(cls.name).where(cls.name.in_(list(wanted))).tuples()}
        new = sorted(wanted - known)
        if new:
            cls.insert_many([{"name": n} for n in new]).on_conflict_ignore().execute()
        return bool(new)

    @classmethod
    def find(cls, name: str) -> "Tag | None":
        return cls.get_or_none(cls.name == name) if valid_key(name) else None

    @classmethod
    def all_by_name(cls):
        return cls.select().order_by(cls.name)
