"""Column helpers and the metadata naming convention every table shares."""

from enum import StrEnum
from typing import Any

from sqlalchemy import CHAR, BigInteger, Column, DateTime, Enum, Identity, Numeric, Table, func
from sqlmodel import SQLModel

# One naming convention makes constraint names, and so migrations, deterministic.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money: 12 integer and 6 fractional digits covers CPM bids and large payouts alike.
MONEY = Numeric(18, 6)


def workspace_id_column() -> "Column[Any]":
    return Column(BigInteger, primary_key=True, autoincrement=False)


def identity_column() -> "Column[Any]":
    return Column(BigInteger, Identity(always=False), primary_key=True)


def timestamp_column(
    *, primary_key: bool = False, nullable: bool = False, default_now: bool = True
) -> "Column[Any]":
    return Column(
        DateTime(timezone=True),
        primary_key=primary_key,
        nullable=nullable,
        server_default=func.now() if default_now and not nullable else None,
    )


def money_column(*, nullable: bool = False) -> "Column[Any]":
    return Column(MONEY, nullable=nullable, server_default=None if nullable else "0")


def currency_column(*, nullable: bool = False, primary_key: bool = False) -> "Column[Any]":
    return Column(CHAR(3), nullable=nullable, primary_key=primary_key)


def enum_column(enum: type[StrEnum], *, default: StrEnum | None = None) -> "Column[Any]":
    """A text column with a CHECK of the allowed values: new values need no ALTER TYPE."""
    return Column(
        Enum(
            enum,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            name=enum.__name__.lower(),
        ),
        nullable=False,
        server_default=None if default is None else default.value,
    )


def table_of(model: type[SQLModel]) -> Table:
    """A table class's Core table, for reads that want rows rather than ORM objects."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
