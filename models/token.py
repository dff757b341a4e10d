"""Tokens for the write API and for partners' full-content feeds.

A secret is shown once, when made, and stored only as its SHA-256: the secrets are 256 random bits, so
a fast hash is as safe as a slow one and lets a request find its token by index. The comparison after
the lookup is constant-time. A token is read from the database on every request, so revoking it takes
effect on every worker and host at once.
"""

import hashlib
import hmac
import secrets

from peewee import CharField, TextField

from .base import BaseModel, UTCDateTimeField, utc_now

SCOPES = ("write", "partner", "admin")
PREFIX = "syn_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Token(BaseModel):
    name = CharField(primary_key=True, max_length=100)
    scope = CharField(max_length=20)  # "write": the API; "partner": full-content feeds; "admin": /stats
    categories = TextField(default="")  # comma-separated slugs a partner may read; empty: all
    secret_hash = CharField(max_length=64, unique=True)
    created = UTCDateTimeField(default=utc_now)
    revoked = UTCDateTimeField(null=True)

    @classmethod
    def issue(cls, name: str, scope: str, categories: list[str]) -> str:
        """Make a token and return its secret (the only time it is known)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if cls.get_or_none(cls.name == name):
            raise ValueError(f"a token named {name!r} exists already")
        secret = PREFIX + secrets.token_urlsafe(32)
        cls.create(name=name, scope=scope, categories=",".join(categories), secret_hash=_digest(secret))
        return secret

    @classmethod
    def authenticate(cls, secret: str) -> "Token | None":
        """The live token with this secret, or None (unknown and revoked alike)."""
        digest = _digest(secret)
        token = cls.get_or_none((cls.secret_hash == digest) & cls.revoked.is_null())
        if token is None or not hmac.compare_digest(token.secret_hash, digest):
            return None
        return token

    @classmethod
    def revoke(cls, name: str) -> bool:
        return bool(cls.update(revoked=utc_now()).where((cls.name == name) & cls.revoked.is_null()).execute())

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split(",") if c]

    def may_read(self, category_slugs: list[str]) -> bool:
        """A partner limited to some categories may read feeds of those categories only."""
        return not self.category_list or (bool(category_slugs) and set(category_slugs) <= set(self.category_list))
