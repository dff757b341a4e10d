"""Tables and the queries that belong to them."""

from .article import IMPORTED, UNCHANGED, UPDATED, Article, ArticleCategory, ArticleTag, Cursor, Draft, Selection
from .base import BaseModel, UTCDateTimeField, db, utc_now, valid_key
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
    "Tag",
    "Token",
    "UTCDateTimeField",
    "db",
    "utc_now",
    "valid_key",
]
