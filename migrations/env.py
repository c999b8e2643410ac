"""Alembic environment: runs on the connection clicktrail hands over (see models.migrate)."""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on the metadata
from models.database import create_engine
from models.embedded import database_url
from models.migrate import ON_STEP, include_name, include_object
from models.settings import get_settings

target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        compare_type=True,
        compare_server_default=True,
        on_version_apply=context.config.attributes.get(ON_STEP),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    """For `alembic revision --autogenerate` run by a developer from the repository root."""
    settings = get_settings()
    engine = create_engine(database_url(settings), settings, application_name="clicktrail-alembic")
    async with engine.begin() as conn:
        await conn.run_sync(run_migrations)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    asyncio.run(run_standalone())
