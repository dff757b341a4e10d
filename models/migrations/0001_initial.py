"""Articles, categories, tags and the links between them.

A frozen copy of the tables as they were first created: later migrations alter them, so this file
must not follow the models.
"""

from peewee import CharField, CompositeKey, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Category(Base):
        slug = CharField(primary_key=True, max_length=190)
        name = TextField()

    class Tag(Base):
        name = CharField(primary_key=True, max_length=190)

    class Article(Base):
        id = CharField(primary_key=True, max_length=190)
        title = TextField()
        published = DateTimeField()
        updated = DateTimeField()
        created = DateTimeField()
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

    class ArticleCategory(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        category = ForeignKeyField(Category, on_delete="CASCADE")
        published = DateTimeField()
        position = IntegerField()

        class Meta:
            primary_key = CompositeKey("article", "category")
            indexes = ((("category", "published", "article"), False),)

    class ArticleTag(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        tag = ForeignKeyField(Tag, on_delete="CASCADE")
        published = DateTimeField()
        position = IntegerField()

        class Meta:
            primary_key = CompositeKey("article", "tag")
            indexes = ((("tag", "published", "article"), False),)

    db.create_tables([Category, Tag, Article, ArticleCategory, ArticleTag])
