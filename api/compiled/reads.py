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

from typing import Any

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
from strawberry.types import ExecutionResult

from api.clicks.queries import ClickOrder
from api.compiled.plan import CLICKS_FIELD, ClicksField, Plan, compile_document
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
_READ_SCOPES = frozenset({ApiScope.READ, ApiScope.ADMIN})


class _Refused(Exception):
    """The normal path would answer with an error."""


class CompiledReads:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
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

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> ExecutionResult | None:
        """The answer, or None when the normal path has to give it."""
        planned = self.plan(query, operation_name)
        if planned is None or not context.principal.scopes & _READ_SCOPES:
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
        workspace_id = context.principal.workspace_id
        try:
            statements = [
                (key, *_statement(root, coerced, workspace_id))
                for key, root in plan.roots
                if isinstance(root, ClicksField)
            ]
        except (GraphQLError, QueryInputError, _Refused):
            return None
        texts: dict[str, str] = {}
        try:
            async with driver_connection(context.engine) as conn:
                for key, text, params in statements:
                    texts[key] = await conn.fetchval(text, *params)
        except DATABASE_ERRORS:
            return None
        data = {
            key: root if isinstance(root, str) else decode_json(texts[key])
            for key, root in plan.roots
        }
        extensions = {"cost": {"requested": json_int(cost.fields), "limit": self.cost_limit}}
        return ExecutionResult(data=data, errors=None, extensions=extensions)


def _invalid(schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]) -> bool:
    try:
        return bool(validate(schema, document, rules))
    except GraphQLError:
        # Validation aborted: the normal path reports it.
        return True


def _statement(
    root: ClicksField, variables: VariableValues | None, workspace_id: int
) -> tuple[str, list[object]]:
    arguments = get_argument_values(root.definition, root.node, variables)
    if arguments.get("filter") is not None:
        # Filters are turned into SQL by the normal path only.
        raise _Refused
    size = page_size(arguments.get("first"))
    order = ClickOrder(arguments.get("orderBy") or ClickOrder.NEWEST_FIRST)
    after = arguments.get("after")
    position = (
        None if after is None else decode_cursor(after, CursorScope(CLICKS_FIELD, order.name))
    )
    params: list[object] = [workspace_id, size]
    for events in root.events:
        values = get_argument_values(events.definition, events.node, variables)
        statuses = values.get("statuses")
        params += [
            values.get("types"),
            None if statuses is None else [status.value for status in statuses],
        ]
    if position is not None:
        params += [position.time, position.id]
    text = root.statement(
        newest_first=order is ClickOrder.NEWEST_FIRST, order=order.name, after=position is not None
    )
    return text, params
