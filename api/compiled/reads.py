"""The compiled read path: hot documents answered by one SQL statement per root field.

The normal path costs ~6 ms of CPU for a page of 100 flat clicks and ~13 ms with their events
(Strawberry and graphql-core per field, SQLAlchemy per statement, DataLoaders, Python objects
per row); PostGraphile answers the same in ~1 ms by planning a document once and letting
PostgreSQL write the JSON. Here too: a document is parsed, validated and compiled once
(`api.compiled.plan`), and each request coerces its variables, checks the cost, and runs the
statements through asyncpg (prepared once per connection); PostgreSQL builds the JSON.

Only answers are taken from here: whatever the normal path would answer with an error (a
refused argument, a cursor of another list, a key without the read scope, a cost over the
limit, a failing statement) returns None, and the normal path runs the request and says
what it says. The answers are the normal path's byte for byte: tests/api/test_compiled.py
runs a corpus of documents through both.
"""

from dataclasses import dataclass
from typing import Any

import msgspec
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    VariableValues,
    get_argument_values,
    get_variable_values,
    parse,
    specified_rules,
    validate,
)
from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from strawberry.schema import BaseSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments

from api.auth import Principal
from api.click_filter import CLICKS
from api.clicks.queries import ClickOrder
from api.clicks.repository import page_statement
from api.compiled import sql
from api.compiled.attempt import Attempt
from api.compiled.plan import CLICKS_FIELD, ClicksField, Plan, Variant, compile_document
from api.compiled.report import Fallback, ReportField
from api.compiled.report import answer as answer_report
from api.compiled.sql import READ_SCOPES
from api.context import Context
from api.cost import MAX_INPUT_SIZE, Cost, operation_cost
from api.errors import QueryInputError, json_int
from api.limits import document_rules
from api.pagination import CursorScope, decode_cursor, page_size
from models.database import DATABASE_ERRORS, decode_json, driver_connection
from models.enums import ApiScope
from models.settings import Settings

# Documents a process remembers; dashboards send a handful of them.
CACHED_DOCUMENTS = 512
_CLICKS = CLICKS.alias("c")


class CompiledReads:
    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        self.strawberry_schema = schema
        self.schema: GraphQLSchema = schema._schema  # type: ignore[attr-defined]
        self.max_tokens = settings.api_max_tokens
        self.cost_limit = settings.api_max_query_cost
        self.rules = (
            *specified_rules,
            *document_rules(
                max_depth=settings.api_max_query_depth, max_aliases=settings.api_max_aliases
            ),
        )
        # (document, operation name) -> its plan and, without variables, its cost; None for a
        # document that does not compile.
        self._plans: LRUCache[tuple[str, str | None], tuple[Plan, Cost | None] | None] = LRUCache(
            maxsize=CACHED_DOCUMENTS
        )

    def plan(self, query: str, operation_name: str | None) -> tuple[Plan, Cost | None] | None:
        key = (query, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        planned = self._compile(query, operation_name)
        self._plans[key] = planned
        return planned

    def _compile(self, query: str, operation_name: str | None) -> tuple[Plan, Cost | None] | None:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        if _invalid(self.schema, document, self.rules):
            return None
        plan = compile_document(self.schema, document, operation_name)
        if plan is None:
            return None
        cost = None
        if not plan.operation.variable_definitions:
            cost = operation_cost(self.schema, document, plan.operation, None)
        return plan, cost

    def prepare(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        *,
        workspace_id: int,
        dialect: Dialect,
    ) -> "Prepared | None":
        """The statements answering the document with these variables for the workspace, or
        None when the normal path has to answer."""
        planned = self.plan(query, operation_name)
        if planned is None:
            return None
        plan, cost = planned
        coerced: VariableValues | None = None
        if plan.operation.variable_definitions:
            values = get_variable_values(
                self.schema, plan.operation.variable_definitions, variables or {}
            )
            if isinstance(values, list):
                return None
            coerced = values
            cost = operation_cost(self.schema, plan.document, plan.operation, coerced)
        assert cost is not None
        if cost.fields > self.cost_limit or cost.inputs > MAX_INPUT_SIZE:
            return None
        try:
            statements = [
                statement(root, coerced, workspace_id, self.strawberry_schema, dialect)
                for _, root in plan.roots
                if isinstance(root, ClicksField)
            ]
        except (GraphQLError, QueryInputError):
            return None
        extensions: dict[str, object] = {
            "cost": {"requested": json_int(cost.fields), "limit": self.cost_limit}
        }
        return Prepared(plan, statements, extensions, coerced)

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> ExecutionResult | None:
        """The answer, or None when the normal path has to give it."""
        if context.compiled_tried or not context.principal.scopes & READ_SCOPES:
            return None
        prepared = self.prepare(
            query,
            operation_name,
            variables,
            workspace_id=context.principal.workspace_id,
            dialect=context.engine.dialect,
        )
        if prepared is None:
            return None
        try:
            async with driver_connection(context.engine) as conn:
                texts = [await conn.fetchval(text, *params) for text, params in prepared.statements]
        except DATABASE_ERRORS:
            return None
        reports: dict[str, object] = {}
        for key, root in prepared.plan.roots:
            if isinstance(root, ReportField):
                try:
                    reports[key] = await answer_report(
                        root,
                        prepared.variables,
                        workspace_id=context.principal.workspace_id,
                        timeout_ms=context.settings.report_timeout_ms,
                        engine=context.engine,
                        strawberry_schema=self.strawberry_schema,
                        refusals=context.report_errors,
                    )
                except Fallback:
                    return None
        return ExecutionResult(
            data=prepared.data(texts, reports=reports), errors=None, extensions=prepared.extensions
        )

    async def execute_keyed(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        *,
        engine: AsyncEngine,
        workspace_id: int,
        secret_hash: bytes,
        report_timeout_ms: int,
        attempt: Attempt,
    ) -> tuple[dict[str, object], Principal] | None:
        """The response body's members and the principal of the key, read as the key lookup
        would (the workspace comes from the key directory) by the first page's statement (one
        round trip where the key's own statement made two) or, for a document of reports only,
        alone before them. None when the normal path has to answer, the key's refusal
        included; ``attempt`` says whether reports ran."""
        prepared = self.prepare(
            query, operation_name, variables, workspace_id=workspace_id, dialect=engine.dialect
        )
        if prepared is None:
            return None
        reports = [
            (key, root) for key, root in prepared.plan.roots if isinstance(root, ReportField)
        ]
        if not prepared.statements and not reports:
            return None
        # The key is read by the first page's statement, or alone before the reports.
        first: str | None = None
        params: list[object] = []
        rest = prepared.statements
        if rest:
            (first, params), *rest = rest
        at = len(params) + 1
        keyed = sql.keyed(first, workspace=f"${at}", secret_hash=f"${at + 1}")
        try:
            async with driver_connection(engine) as conn:
                row = await conn.fetchrow(keyed, *params, workspace_id, secret_hash)
                if row is None:
                    return None
                texts = [await conn.fetchval(text, *params) for text, params in rest]
        except DATABASE_ERRORS:
            return None
        if first is not None:
            texts.insert(0, row[2])
        answered: dict[str, object] = {}
        for key, root in reports:
            attempt.reports_run = True
            try:
                answered[key] = await answer_report(
                    root,
                    prepared.variables,
                    workspace_id=workspace_id,
                    timeout_ms=report_timeout_ms,
                    engine=engine,
                    strawberry_schema=self.strawberry_schema,
                    refusals=attempt.refusals,
                )
            except Fallback:
                return None
        principal = Principal(
            workspace_id=workspace_id,
            api_key_id=row[0],
            scopes=frozenset(ApiScope(scope) for scope in row[1]),
        )
        data = prepared.data(texts, verbatim=True, reports=answered)
        return {"data": data, "extensions": prepared.extensions}, principal


@dataclass(frozen=True, slots=True)
class Prepared:
    plan: Plan
    # Text and parameters, per `clicks` root field in order.
    statements: list[tuple[str, list[object]]]
    extensions: dict[str, object]
    # The operation's variables, coerced.
    variables: VariableValues | None

    def data(
        self,
        texts: list[str],
        *,
        verbatim: bool = False,
        reports: dict[str, object] | None = None,
    ) -> dict[str, object]:
        """The response's data from the statements' values (JSON texts), in order, and the
        `report` fields' values (api.compiled.report) by response key.

        ``verbatim``: a page whose JSON PostgreSQL writes as msgspec would, but for the
        whitespace, is only stripped of it (~25 us for 100 clicks, where decoding and
        encoding again took ~65 us), to be encoded as it is.
        """
        values = iter(texts)
        data: dict[str, object] = {}
        for key, root in self.plan.roots:
            if isinstance(root, str):
                data[key] = root
            elif isinstance(root, ReportField):
                assert reports is not None
                data[key] = reports[key]
            elif verbatim and isinstance(root, ClicksField) and root.verbatim:
                data[key] = msgspec.Raw(msgspec.json.format(next(values), indent=-1))
            else:
                data[key] = decode_json(next(values))
        return data


def _invalid(schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]) -> bool:
    try:
        return bool(validate(schema, document, rules))
    except GraphQLError:
        # Validation aborted: the normal path reports it.
        return True


def statement(
    root: ClicksField,
    variables: VariableValues | None,
    workspace_id: int,
    strawberry_schema: BaseSchema,
    dialect: Dialect,
) -> tuple[str, list[object]]:
    """The SQL text answering ``root`` with these variables for the workspace, and its
    parameters; GraphQLError or QueryInputError for arguments the normal path refuses."""
    field = root.definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    arguments = convert_arguments(
        get_argument_values(root.definition, root.node, variables),
        field.arguments,
        scalar_registry=strawberry_schema.schema_converter.scalar_registry,
        config=strawberry_schema.config,
    )
    size = page_size(arguments["first"])
    order: ClickOrder = arguments["order_by"]
    newest_first = order is ClickOrder.NEWEST_FIRST
    after = arguments["after"]
    position = (
        None if after is None else decode_cursor(after, CursorScope(CLICKS_FIELD, order.name))
    )
    events: list[object] = []
    given: list[tuple[bool, bool]] = []
    for event_list in root.events:
        values = get_argument_values(event_list.definition, event_list.node, variables)
        types, statuses = values.get("types"), values.get("statuses")
        given.append((types is not None, statuses is not None))
        if types is not None:
            events.append(types)
        if statuses is not None:
            events.append([status.value for status in statuses])
    variant = Variant(newest_first, order.name, size, after is not None, tuple(given))
    filter_ = arguments["filter"]
    if filter_ is None:
        cursor = [] if position is None else [position.time, position.id]
        return root.statement(variant), [workspace_id, *events, *cursor]
    # The normal path's own statement for the filtered page (SQLAlchemy Core compiled here,
    # ~0.3 ms), its parameters first.
    page = page_statement(
        _CLICKS,
        workspace_id=workspace_id,
        filter_=filter_,
        after=position,
        size=size,
        newest_first=newest_first,
    ).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(page, SQLCompiler)
    page_params = _positional(page)
    text = root.filtered_statement(variant, page=str(page), page_parameters=len(page_params))
    return text, [*page_params, workspace_id, *events]


def _positional(compiled: SQLCompiler) -> list[object]:
    """A compiled statement's parameter values in $n order, as SQLAlchemy would bind them."""
    assert compiled.positiontup is not None
    processors = compiled._bind_processors
    values = []
    for name in compiled.positiontup:
        value = compiled.params[name]
        # An IN list's values are named after the list's parameter: `status_1_2`.
        process = processors.get(name) or processors.get(name.rpartition("_")[0])
        values.append(process(value) if callable(process) else value)
    return values
