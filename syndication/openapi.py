"""The write API's OpenAPI 3.1 description, served at /api/v1/openapi.json (tests check the code
against it with schemathesis)."""

_ERROR = {"$ref": "#/components/schemas/Error"}
_TOO_MANY = {
    "description": "Over this client's budget (SYNDICATION_RATELIMIT_API); Retry-After says when to try again",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": _ERROR}},
}


_UNAVAILABLE = {
    "description": "The database is down, locked, read-only or full; Retry-After says when to try again",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": _ERROR}},
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def document() -> dict:
    names = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    article_id = {
        "name": "article_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[\w.-]{1,190}$"},
    }
    article = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Syndication server write API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/articles/{article_id}": {
                "parameters": [article_id],
                "put": {
                    "summary": "Create or replace an article (idempotent)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticleInput"}}},
                    },
                    "responses": {
                        "200": {"description": "Replaced, or unchanged", **article},
                        "201": {"description": "Created", **article},
                        "400": _error("Not a JSON object"),
                        "401": _error("No token"),
                        "403": _error("Token unknown, revoked or without the write scope"),
                        "404": _error("An id no article can have"),
                        "413": _error("Body larger than SYNDICATION_API_MAX_BYTES"),
                        "415": _error("Not application/json"),
                        "422": _error("Not a valid article; field names the problem"),
                        "429": _TOO_MANY,
                        "503": _UNAVAILABLE,
                    },
                },
                "get": {
                    "summary": "Read an article",
                    "responses": {
                        "200": {"description": "The article", **article},
                        "401": _error("No token"),
                        "403": _error("Token unknown or revoked"),
                        "404": _error("No such article"),
                        "410": _error("Withdrawn"),
                        "429": _TOO_MANY,
                        "503": _UNAVAILABLE,
                    },
                },
                "delete": {
                    "summary": "Withdraw an article (as flask delete-post; idempotent)",
                    "responses": {
                        "204": {"description": "Withdrawn"},
                        "401": _error("No token"),
                        "403": _error("Token unknown, revoked or without the write scope"),
                        "404": _error("No such article"),
                        "429": _TOO_MANY,
                        "503": _UNAVAILABLE,
                    },
                },
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}, "field": {"type": ["string", "null"]}},
                },
                "ArticleInput": {
                    "type": "object",
                    "required": ["title", "body"],
                    "additionalProperties": False,
                    "properties": {
                        "title": {"type": "string"},
                        "date": {"type": "string", "description": "2026-03-02 21:05:00 +0800; no offset: site zone"},
                        "updated": {"type": "string"},
                        "last_modified_at": {"type": "string"},
                        "categories": names,
                        "category": names,
                        "tags": names,
                        "tag": names,
                        "author": {"type": "string"},
                        "excerpt": {"type": "string"},
                        "image": {"type": "string"},
                        "source_url": {"type": "string"},
                        "body": {"type": "string", "description": "HTML, Markdown or both; sanitized"},
                    },
                },
                "Article": {
                    "type": "object",
                    "required": ["id", "url", "title", "date", "updated", "categories", "tags", "body"],
                    "properties": {
                        "id": {"type": "string"},
                        "url": {"type": "string"},
                        "title": {"type": "string"},
                        "date": {"type": "string"},
                        "updated": {"type": "string"},
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "author": {"type": "string"},
                        "excerpt": {"type": "string"},
                        "image": {"type": "string"},
                        "source_url": {"type": "string"},
                        "source_name": {"type": "string"},
                        "body": {"type": "string"},
                    },
                },
            },
        },
    }
