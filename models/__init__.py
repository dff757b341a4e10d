"""Tables and the queries that belong to them."""

from .article import IMPORTED, UNCHANGED, UPDATED, Article, ArticleCategory, ArticleTag, Cursor, Draft, Selection
from .base import BaseModel, UTCDateTimeField, db, utc_now, valid_key
from .source import Source
from .stats import FeedDay, Poller, PollerDay, StatsSalt, SubscriberCount
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
    "FeedDay",
    "Poller",
    "PollerDay",
    "Selection",
    "Source",
    "StatsSalt",
    "SubscriberCount",
    "Tag",
    "Token",
    "UTCDateTimeField",
    "db",
    "utc_now",
    "valid_key",
]
