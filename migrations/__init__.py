"""Alembic migrations; run them with `clicktrail migrate`."""
