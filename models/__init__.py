"""Tables and the queries that belong to them."""

from .article import IMPORTED, UNCHANGED, UPDATED, Article, ArticleCategory, ArticleTag, Cursor, Draft, Selection
from .base import BaseModel, UTCDateTimeField, db, utc_now, valid_key
from .source import Source
from .taxonomy import Category, Tag
from .token import Token

__all__ = [
    "IMPORTED",
    "UNCHANGED",
    "UPDATED",
    "Article",
    "ArticleCategory",
    "ArticleTag",
    "BaseModel",
    "Category",
    "Cursor",
    "Draft",
    "Selection",
    "Source",
    "Tag",
    "Token",
    "UTCDateTimeField",
    "db",
    "utc_now",
    "valid_key",
]
