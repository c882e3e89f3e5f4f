"""Alembic revisions of the database schema (`threadtag migrate`), shipped with the package."""
