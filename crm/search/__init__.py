"""Search across partners, contacts, agreements, projects and activities.

`index` holds the database objects that make search fast and exact (SQLite FTS5 trigram
tables or PostgreSQL pg_trgm GIN indexes for substrings of 3+ characters, and the
`search_key` btree of names, word tails and CJK characters/pairs), all kept current by
triggers; `queries` reads each ranked tier from its index with a LIMIT (two statements
per kind at most); `views` the results page.
"""
