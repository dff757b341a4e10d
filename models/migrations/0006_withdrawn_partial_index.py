"""Index only the withdrawn articles.

A full index on `withdrawn` tempted SQLite's planner to answer "withdrawn IS NULL" (every live article)
through it and then sort the whole archive, instead of walking the (published, id) index: a site feed
went from 5 ms to 73 ms at 10,000 articles. Tombstone queries only ever look for withdrawn ones.
"""


def up(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS article_withdrawn")
    db.execute_sql("CREATE INDEX article_withdrawn_only ON article (withdrawn) WHERE withdrawn IS NOT NULL")
