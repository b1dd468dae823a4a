"""The relational store: SQLAlchemy 2 (async) on SQLite (aiosqlite) or PostgreSQL (asyncpg), Alembic."""
