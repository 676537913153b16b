"""Alembic migrations of the venue database, shipped in the package and run by ``marginlab venue``."""
