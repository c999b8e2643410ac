"""Schema upgrades through Alembic, plus the partitions the coming months need."""

import time
from collections.abc import Callable
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, ForeignKeyConstraint, text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.distribution import DISTRIBUTED, Distribution
from models.partitions import is_partition, prepare_partitions

MIGRATION_LOCK_KEY = 0x636C6D67  # "clmg"
# Where upgrade() says what it did, a line per step (migrations/env.py hands it to Alembic).
ON_STEP = "clicktrail_on_step"

Report = Callable[[str], None]


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
    engine: AsyncEngine,
    *,
    revision: str = "head",
    months_ahead: int = 3,
    report: Report | None = None,
) -> list[Distribution]:
    """Apply migrations up to ``revision``, then create partitions through ``months_ahead``.

    ``report`` gets a line per migration applied and one for the partitions created, each with
    its time. Returns the tables the migrations distributed on Citus (none on plain PostgreSQL).
    """

    def run(connection: Connection) -> list[Distribution]:
        config = alembic_config(connection)
        if report is not None:
            config.attributes[ON_STEP] = _timed_steps(report)
        command.upgrade(config, revision)
        done: list[Distribution] = connection.info.pop(DISTRIBUTED, [])
        return done

    async with engine.begin() as conn:
        # Several instances may start at once; the first upgrades, the others then find head.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        distributed = await conn.run_sync(run)
    started = time.monotonic()
    created = await prepare_partitions(engine, months_ahead=months_ahead)
    if report is not None and created:
        report(
            f"partitions: created {len(created)} ({', '.join(created)}) "
            f"in {time.monotonic() - started:.2f} s"
        )
    return distributed


def _timed_steps(report: Report) -> Callable[..., None]:
    """Alembic's on_version_apply callback: a line per migration with the time it took (the
    time since the previous one ended, or since the upgrade began)."""
    last = time.monotonic()

    def on_version_apply(*, step: MigrationInfo, **_: object) -> None:
        nonlocal last
        now = time.monotonic()
        script = step.up_revision
        title = script.doc if isinstance(script, Script) else ""
        report(f"migration {step.up_revision_id}: {title} ({now - last:.2f} s)")
        last = now

    return on_version_apply


async def schema_revisions(engine: AsyncEngine) -> tuple[str | None, str]:
    """The database's schema revision (None before the first migration) and the code's head."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(current), head


async def downgrade(engine: AsyncEngine, *, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
