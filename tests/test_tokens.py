"""`flask tokens create|list|revoke`: secrets shown once and stored only as their SHA-256."""

import hashlib

import pytest

from models import Token, db


def create(runner, name: str, *options: str):
    return runner.invoke(args=["tokens", "create", name, *options])


def issue(runner, name: str, *options: str) -> str:
    result = create(runner, name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def listing(runner) -> dict[str, list[str]]:
    """{name: [scope, categories, state]} from `tokens list`."""
    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    assert all(len(row) == 4 for row in rows), result.stdout
    return {row[0]: row[1:] for row in rows}


def stored_rows(app) -> list[dict]:
    with app.app_context():
        cursor = db.execute_sql('SELECT * FROM "token"')
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        db.close()
    return rows


def test_create_prints_the_secret_once_and_stores_only_its_sha256(app, runner):
    result = create(runner, "newsroom", "--scope", "write")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # stdout carries the secret alone, for scripts
    secret = lines[0].strip()
    assert secret.startswith("syn_") and len(secret) >= 40, secret
    # The advice goes to stderr, without the secret.
    assert "newsroom" in result.stderr and "cannot be shown again" in result.stderr
    assert secret not in result.stderr

    # Not in the list...
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0, listed.output
    assert "newsroom" in listed.stdout
    assert secret not in listed.output
    assert secret[4:] not in listed.output

    # ...nor anywhere in the database: the row holds its SHA-256 only.
    rows = stored_rows(app)
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "newsroom"
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    for column, value in row.items():
        assert secret not in str(value), column
        assert secret[4:] not in str(value), column

    # Each token gets a secret of its own.
    other = issue(runner, "partner-a", "--scope", "partner")
    assert other != secret
    with app.app_context():
        assert Token.authenticate(secret).name == "newsroom"
        assert Token.authenticate(other).name == "partner-a"
        assert Token.authenticate(secret + "x") is None
        db.close()


def test_a_duplicate_name_fails_and_keeps_the_first_token(app, runner):
    first = issue(runner, "newsroom", "--scope", "write")
    result = create(runner, "newsroom", "--scope", "partner")
    assert result.exit_code != 0
    assert "newsroom" in result.stderr and "exists already" in result.stderr, result.stderr
    assert result.stdout.strip() == ""  # no secret printed
    assert listing(runner) == {"newsroom": ["write", "*", "live"]}
    with app.app_context():
        assert Token.authenticate(first).name == "newsroom"
        db.close()


def test_an_unknown_scope_fails_naming_the_choices(app, runner):
    result = create(runner, "newsroom", "--scope", "root")
    assert result.exit_code == 2, result.output
    assert "--scope" in result.stderr and "root" in result.stderr, result.stderr
    assert "write" in result.stderr and "partner" in result.stderr and "admin" in result.stderr, result.stderr
    assert result.stdout.strip() == ""
    assert stored_rows(app) == []


def test_the_scope_is_required(app, runner):
    result = create(runner, "newsroom")
    assert result.exit_code == 2, result.output
    assert "--scope" in result.stderr, result.stderr
    assert stored_rows(app) == []


def test_categories_must_exist(app, runner, good_posts):
    result = create(runner, "wire", "--scope", "partner", "--categories", "harbour,nowhere")
    assert result.exit_code != 0
    assert "nowhere" in result.stderr and "category" in result.stderr.lower(), result.stderr
    assert result.stdout.strip() == ""
    assert stored_rows(app) == []

    issue(runner, "wire", "--scope", "partner", "--categories", "harbour, culture")
    assert listing(runner) == {"wire": ["partner", "harbour,culture", "live"]}


def test_list_shows_name_scope_categories_and_state(app, runner, good_posts):
    issue(runner, "newsroom", "--scope", "write")
    issue(runner, "wire", "--scope", "partner", "--categories", "harbour")
    issue(runner, "archive", "--scope", "partner")
    revoked = runner.invoke(args=["tokens", "revoke", "archive"])
    assert revoked.exit_code == 0, revoked.output

    rows = listing(runner)
    assert list(rows) == ["archive", "newsroom", "wire"]  # by name
    assert rows["newsroom"] == ["write", "*", "live"]
    assert rows["wire"] == ["partner", "harbour", "live"]
    scope, categories, state = rows["archive"]
    assert (scope, categories) == ("partner", "*")
    assert state.startswith("revoked "), state


def test_list_of_no_tokens_is_empty(runner):
    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""


def test_revoke_twice_the_second_fails(app, runner):
    secret = issue(runner, "newsroom", "--scope", "write")
    first = runner.invoke(args=["tokens", "revoke", "newsroom"])
    assert first.exit_code == 0, first.output
    assert "newsroom" in first.stdout and "revoked" in first.stdout
    with app.app_context():
        assert Token.authenticate(secret) is None
        db.close()

    second = runner.invoke(args=["tokens", "revoke", "newsroom"])
    assert second.exit_code != 0
    assert "newsroom" in second.stderr and "No live token" in second.stderr, second.stderr

    unknown = runner.invoke(args=["tokens", "revoke", "nobody"])
    assert unknown.exit_code != 0
    assert "nobody" in unknown.stderr, unknown.stderr
    assert listing(runner)["newsroom"][2].startswith("revoked")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["tokens", "--help"], ["create", "list", "revoke", "write", "partner"]),
        (["tokens", "create", "--help"], ["NAME", "--scope", "--categories", "secret"]),
        (["tokens", "list", "--help"], ["scope", "categories"]),
        (["tokens", "revoke", "--help"], ["NAME", "Revoke"]),
    ],
)
def test_help(runner, args, words):
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:"), result.stdout
    for word in words:
        assert word in result.stdout, (word, result.stdout)
