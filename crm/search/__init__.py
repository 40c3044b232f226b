"""Search across partners, contacts, agreements, projects and activities.

`index` holds the database objects that make substring search fast (SQLite FTS5 trigram
tables kept current by triggers; PostgreSQL pg_trgm GIN indexes), `queries` the one
statement per kind, `views` the results page.
"""
