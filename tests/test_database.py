"""The database connection's own rules."""

import sqlite3
import threading
import time

from models import Category, db
from tests.conftest import fresh_schema, make_app


def test_sqlite_write_transactions_wait_for_each_other_instead_of_failing(tmp_path):
    """A transaction that reads, then writes after another connection committed, must not fail with
    "database is locked" (what a DEFERRED transaction in WAL mode does, whatever busy_timeout says)."""
    path = tmp_path / "t.db"
    app = make_app(f"sqlite:///{path}")
    fresh_schema(app)
    read, errors = threading.Event(), []

    def other_writer():
        read.wait(5)
        try:
            with sqlite3.connect(path, timeout=5) as conn:
                conn.execute("INSERT INTO category (slug, name) VALUES ('other', 'Other')")
        except sqlite3.Error as e:
            errors.append(e)

    thread = threading.Thread(target=other_writer)
    thread.start()
    with app.app_context():
        with db.atomic():
            Category.select().count()  # the transaction has read
            read.set()
            time.sleep(0.3)  # the other connection tries to commit now
            Category.create(slug="ours", name="Ours")
        thread.join(10)
        assert sorted(c.slug for c in Category.select()) == ["other", "ours"]
        db.close()
    assert errors == []
