"""Static query cost: an operation too large to answer is refused before anything runs.

Every field costs 1; a field with a ``first`` argument (a page) multiplies the cost of its
selection by ``first``; any other field, list or not, counts its selection once. The cost is
an upper bound: fields under ``@skip``/``@include`` and under every type condition of an
abstract type all count.
"""

from collections.abc import Iterator
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

PAGE_ARGUMENT = "first"


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> int:
    """The cost of the operation to run; the document must have passed validation."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return 0
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # Variables that do not coerce stop the execution before any resolver runs; the
    # operation is then costed with its defaults.
    return _Costing(schema, document, None if isinstance(coerced, list) else coerced).selection(
        operation.selection_set, root
    )


class _Costing:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues | None
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }
        # A fragment costs the same wherever it is spread: costing it once keeps documents that
        # spread fragments into fragments from taking exponential time.
        self.fragment_costs: dict[str, int] = {}

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLCompositeType) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                total += self.selection(node.selection_set, self.condition(node) or parent)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value)
        return total

    def field(self, node: FieldNode, parent: GraphQLCompositeType) -> int:
        definition = self.schema.get_field(parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 1
        child = get_named_type(definition.type)
        assert is_composite_type(child)
        return 1 + self.page_size(definition, node) * self.selection(node.selection_set, child)

    def page_size(self, definition: GraphQLField, node: FieldNode) -> int:
        argument = definition.args.get(PAGE_ARGUMENT)
        if argument is None:
            return 1
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            # The executor reports the bad argument and skips the field.
            return 1
        value = arguments.get(argument.out_name or PAGE_ARGUMENT)
        if value is None:
            # An explicit null: the resolver falls back to its default page size.
            value = coerce_default_value(argument)
        return max(value, 0) if isinstance(value, int) else 1

    def fragment(self, name: str) -> int:
        if name not in self.fragment_costs:
            fragment = self.fragments[name]
            condition = self.condition(fragment)
            assert condition is not None
            self.fragment_costs[name] = self.selection(fragment.selection_set, condition)
        return self.fragment_costs[name]

    def condition(
        self, node: InlineFragmentNode | FragmentDefinitionNode
    ) -> GraphQLCompositeType | None:
        if node.type_condition is None:
            return None
        type_ = type_from_ast(self.schema, node.type_condition)
        assert is_composite_type(type_)
        return type_


class QueryCost(SchemaExtension):
    """Refuses operations that cost more than ``limit`` and reports the cost in ``extensions``."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.requested: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        # on_execute runs only for a parsed and validated document.
        assert context.graphql_document is not None
        self.requested = query_cost(
            context.schema._schema,
            context.graphql_document,
            operation_name=context.operation_name,
            variables=context.variables,
        )
        if self.requested > self.limit:
            # A result set here makes strawberry skip the execution.
            context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"query cost {self.requested} is over the limit of {self.limit}: ask "
                        "for smaller pages (first) or fewer nested fields",
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": self.requested,
                            "limit": self.limit,
                        },
                    )
                ],
            )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": self.requested, "limit": self.limit}}
