"""Schema upgrades through Alembic, plus the partitions the coming months need."""

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, ForeignKeyConstraint, text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.distribution import DISTRIBUTED, Distribution
from models.partitions import is_partition, prepare_partitions

MIGRATION_LOCK_KEY = 0x636C6D67  # "clmg"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: monthly partitions are made at run time, not by migrations."""
    return not (type_ == "table" and name is not None and is_partition(name))


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: PostgreSQL adds a foreign key per referenced partition; ignore those."""
    if type_ == "foreign_key_constraint" and isinstance(obj, ForeignKeyConstraint):
        return not is_partition(obj.referred_table.name)
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.attributes["connection"] = connection
    return config


async def upgrade(
    engine: AsyncEngine, *, revision: str = "head", months_ahead: int = 3
) -> list[Distribution]:
    """Apply migrations up to ``revision``, then create partitions through ``months_ahead``.

    Returns the tables the migrations distributed on Citus (none on plain PostgreSQL).
    """

    def run(connection: Connection) -> list[Distribution]:
        command.upgrade(alembic_config(connection), revision)
        done: list[Distribution] = connection.info.pop(DISTRIBUTED, [])
        return done

    async with engine.begin() as conn:
        # Several instances may start at once; the first upgrades, the others then find head.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        distributed = await conn.run_sync(run)
    await prepare_partitions(engine, months_ahead=months_ahead)
    return distributed


async def downgrade(engine: AsyncEngine, *, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
