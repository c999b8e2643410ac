"""Static query cost: an operation too large to answer is refused before anything runs.

Every field costs 1; a field with a ``first`` argument (a page) multiplies the cost of its
selection by ``first``; any other field, list or not, counts its selection once. The cost is
an upper bound: fields under ``@skip``/``@include`` and under every type condition of an
abstract type all count.

The arguments have a size of their own: each field of an input object counts 25 and each list
item 1, every time the field runs (aliases, fragment spreads and pages count as the cost
does). Turning a filter object into Python costs Strawberry about 25 us a field, whether the
field was sent or left to its default, so the size bounds the work of reading the arguments
(about 50 ms at the limit), which the cost does not see: thirty aliases of one field
with a large filter variable would otherwise convert it thirty times.

Each fragment is measured once, in the order `api.fragments` gives, so the time is linear in
the document whatever its spreads expand to.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableValues,
    get_argument_values,
    get_named_type,
    get_operation_ast,
    get_variable_values,
    is_composite_type,
    type_from_ast,
)
from graphql.utilities.coerce_input_value import coerce_default_value
from strawberry.extensions import SchemaExtension

from api.errors import ErrorCode, json_int, with_code
from api.fragments import dependency_order

PAGE_ARGUMENT = "first"
MAX_INPUT_SIZE = 50_000
INPUT_OBJECT_FIELD_SIZE = 25


@dataclass(frozen=True, slots=True)
class Cost:
    fields: int
    inputs: int


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> int:
    """The cost of the operation to run; the document must have passed validation."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # Variables that do not coerce stop the execution before any resolver runs; the
    # operation is then costed with its defaults.
    return operation_cost(
        schema, document, operation, None if isinstance(coerced, list) else coerced
    ).fields


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues | None,
) -> Cost:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Cost(0, 0)
    costing = _Costing(schema, variables)
    fragments = {
        node.name.value: costing.shape(node.selection_set, costing.fragment_type(node))
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    costs: dict[str, Cost] = {}
    spreads = {name: [spread for spread, _ in shape.spreads] for name, shape in fragments.items()}
    for name in dependency_order(spreads):
        costs[name] = fragments[name].total(costs)
    return costing.shape(operation.selection_set, root).total(costs)


@dataclass(slots=True)
class _Shape:
    """A selection's own cost and input size; the fragments it spreads are added later."""

    fields: int = 0
    inputs: int = 0
    # Each spread with the product of the page sizes above it.
    spreads: list[tuple[str, int]] = field(default_factory=list)

    def total(self, fragments: dict[str, Cost]) -> Cost:
        fields, inputs = self.fields, self.inputs
        for name, times in self.spreads:
            spread = fragments.get(name)
            if spread is not None:
                fields += times * spread.fields
                inputs += times * spread.inputs
        return Cost(fields, inputs)


class _Costing:
    def __init__(self, schema: GraphQLSchema, variables: VariableValues | None) -> None:
        self.schema = schema
        self.variables = variables
        # A variable used by many fields is one value: sized once. The value is kept with its
        # size, so that its id cannot name another value meanwhile.
        self.sizes: dict[int, tuple[object, int]] = {}

    def shape(self, selection_set: SelectionSetNode, parent: GraphQLCompositeType) -> _Shape:
        shape = _Shape()
        pending: list[tuple[SelectionSetNode, GraphQLCompositeType, int]] = [
            (selection_set, parent, 1)
        ]
        while pending:
            current, parent_type, times = pending.pop()
            for node in current.selections:
                if isinstance(node, FieldNode):
                    shape.fields += times
                    definition = self.schema.get_field(parent_type, node.name.value)
                    if definition is None:
                        continue
                    page = 1
                    if definition.args:
                        arguments = self.arguments(definition, node)
                        shape.inputs += times * self.input_size(arguments)
                        page = self.page_size(definition, arguments)
                    if node.selection_set is not None:
                        child = get_named_type(definition.type)
                        assert is_composite_type(child)
                        pending.append((node.selection_set, child, times * page))
                elif isinstance(node, InlineFragmentNode):
                    inner = self.condition(node) or parent_type
                    pending.append((node.selection_set, inner, times))
                elif isinstance(node, FragmentSpreadNode):
                    shape.spreads.append((node.name.value, times))
        return shape

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:
            # The executor reports the bad argument and skips the field.
            return None

    def page_size(self, definition: GraphQLField, arguments: dict[str, Any] | None) -> int:
        argument = definition.args.get(PAGE_ARGUMENT)
        if argument is None or arguments is None:
            return 1
        value = arguments.get(argument.out_name or PAGE_ARGUMENT)
        if value is None:
            # An explicit null: the resolver falls back to its default page size.
            value = coerce_default_value(argument)
        return max(value, 0) if isinstance(value, int) else 1

    def input_size(self, arguments: dict[str, Any] | None) -> int:
        size = 0
        for value in (arguments or {}).values():
            if isinstance(value, dict | list):
                known = self.sizes.get(id(value))
                if known is None:
                    known = self.sizes[id(value)] = (value, _size(value))
                size += known[1]
        return size

    def fragment_type(self, node: FragmentDefinitionNode) -> GraphQLCompositeType:
        type_ = self.condition(node)
        assert type_ is not None
        return type_

    def condition(
        self, node: InlineFragmentNode | FragmentDefinitionNode
    ) -> GraphQLCompositeType | None:
        if node.type_condition is None:
            return None
        type_ = type_from_ast(self.schema, node.type_condition)
        assert is_composite_type(type_)
        return type_


def _size(value: dict[str, Any] | list[Any]) -> int:
    size = 0
    pending: list[Any] = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            size += INPUT_OBJECT_FIELD_SIZE * len(current)
            pending.extend(current.values())
        elif isinstance(current, list):
            size += len(current)
            pending.extend(current)
    return size


class QueryCost(SchemaExtension):
    """Refuses an operation whose variables do not coerce, whose cost is over ``limit`` or
    whose arguments are over MAX_INPUT_SIZE, before anything runs; reports the cost in
    ``extensions``."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.requested: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        # on_execute runs only for a parsed and validated document; an extension before this
        # one may have answered already.
        assert context.graphql_document is not None
        if context.result is None:
            context.result = self._refusal(context.graphql_document, context.operation_name)
        yield

    def _refusal(
        self, document: DocumentNode, operation_name: str | None
    ) -> ExecutionResult | None:
        schema = self.execution_context.schema._schema
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return None
        coerced = get_variable_values(
            schema, operation.variable_definitions or (), self.execution_context.variables or {}
        )
        if isinstance(coerced, list):
            # What graphql-core would answer, without coercing them a second time.
            return ExecutionResult(
                data=None, errors=[with_code(error, ErrorCode.INVALID_INPUT) for error in coerced]
            )
        cost = operation_cost(schema, document, operation, coerced)
        self.requested = cost.fields
        if cost.fields > self.limit:
            return _refused(
                f"query cost {cost.fields} is over the limit of {self.limit}: ask for smaller "
                "pages (first) or fewer nested fields",
                code=ErrorCode.QUERY_TOO_COSTLY,
                cost=cost.fields,
                limit=self.limit,
            )
        if cost.inputs > MAX_INPUT_SIZE:
            return _refused(
                f"the arguments are too large: they count {cost.inputs} (each input object field "
                f"{INPUT_OBJECT_FIELD_SIZE}, each list item 1, every time their field runs), "
                f"over the limit of {MAX_INPUT_SIZE}: send fewer or smaller filters, or the same "
                "one fewer times",
                code=ErrorCode.INPUT_TOO_LARGE,
                size=cost.inputs,
                limit=MAX_INPUT_SIZE,
            )
        return None

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": json_int(self.requested), "limit": self.limit}}


def _refused(message: str, *, code: ErrorCode, **figures: int) -> ExecutionResult:
    # A result set before execution makes strawberry skip it.
    extensions = {"code": code, **{name: json_int(value) for name, value in figures.items()}}
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])
