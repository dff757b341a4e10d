"""Who is asking: the bearer token (or ?key= for feed readers that cannot send headers)."""

from flask import request
from werkzeug.exceptions import Forbidden, Unauthorized

from models.token import Token


def presented_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.args.get("key")  # an empty key is "" (a wrong key), not None (no key)


def require_token(*scopes: str) -> Token:
    """The request's live token, of one of these scopes: 401 without one, 403 for any other."""
    secret = presented_secret()
    if secret is None:
        raise Unauthorized("Send a token: Authorization: Bearer <token>.")
    token = Token.authenticate(secret)
    if token is None:
        raise Forbidden("This token is unknown or revoked.")
    if token.scope not in scopes:
        raise Forbidden(f"This token's scope is {token.scope}; this needs {' or '.join(scopes)}.")
    return token
