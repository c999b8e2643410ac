"""What a request's document and variables may hold: depth, aliases, size, NUL characters.

Depth and aliases are measured in time linear in the document's size.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every expansion of every fragment
spread, so each fragment that spreads the next one twice doubles their time: a 971-byte
document of 24 such fragments took 158 s to be refused, and blocked the worker meanwhile.
Here each fragment is measured once, from its own selections and the figures of the
fragments it spreads, and without recursion (a chain of fragments may be as long as the token
limit allows). The figures and messages are those of Strawberry's limiters: depth counts
fields with selections, introspection fields (`__schema`...) do not count, and aliases count
once per expansion, so a fragment spread twice counts its aliases twice.
"""

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
)

from api.errors import ErrorCode, json_int
from api.fragments import dependency_order


@dataclass(slots=True)
class _Shape:
    """What one definition holds by itself; the fragments it spreads are resolved later."""

    depth: int = 0
    aliases: int = 0
    # Each spread with the field nesting it sits at; None under an introspection field,
    # whose depth does not count.
    spreads: list[tuple[str, int | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int


def measure(document: DocumentNode) -> dict[OperationDefinitionNode, Measure]:
    """Depth and expanded alias count of every operation of the document."""
    fragments = {
        node.name.value: _shape(node.selection_set)
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    resolved = _resolve(fragments)
    measures = {}
    for node in document.definitions:
        if isinstance(node, OperationDefinitionNode):
            measures[node] = _combine(_shape(node.selection_set), resolved)
    return measures


def _shape(selection_set: SelectionSetNode) -> _Shape:
    shape = _Shape()
    pending: list[tuple[SelectionSetNode, int | None]] = [(selection_set, 0)]
    while pending:
        current, level = pending.pop()
        for node in current.selections:
            if isinstance(node, FieldNode):
                if node.alias is not None:
                    shape.aliases += 1
                if node.selection_set is not None:
                    inner = None
                    if level is not None and not node.name.value.startswith("__"):
                        inner = level + 1
                        shape.depth = max(shape.depth, inner)
                    pending.append((node.selection_set, inner))
            elif isinstance(node, InlineFragmentNode):
                pending.append((node.selection_set, level))
            elif isinstance(node, FragmentSpreadNode):
                shape.spreads.append((node.name.value, level))
    return shape


def _combine(shape: _Shape, resolved: dict[str, Measure]) -> Measure:
    depth, aliases = shape.depth, shape.aliases
    for name, level in shape.spreads:
        # Unknown fragments and the spread closing a cycle are other rules' errors.
        spread = resolved.get(name)
        if spread is None:
            continue
        aliases += spread.aliases
        if level is not None:
            depth = max(depth, level + spread.depth)
    return Measure(depth, aliases)


def _resolve(shapes: dict[str, _Shape]) -> dict[str, Measure]:
    resolved: dict[str, Measure] = {}
    spreads = {name: [spread for spread, _ in shape.spreads] for name, shape in shapes.items()}
    for name in dependency_order(spreads):
        resolved[name] = _combine(shapes[name], resolved)
    return resolved


class NoNulInStrings(ValidationRule):
    """Refuses string values holding a NUL character: PostgreSQL cannot store one, so such a
    value could only fail later, less clearly."""

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "a string value holds a NUL character (\\u0000), which no text field can store",
                    node,
                    extensions={"code": ErrorCode.INVALID_INPUT},
                )
            )


def document_rules(*, max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """Validation rules refusing documents nested deeper than ``max_depth``, holding more than
    ``max_aliases`` aliases (in all operations, fragments counted where spread), or a string
    value with a NUL character.

    Build them once: Strawberry's ValidationCache keys on the rule classes.
    """

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            total_aliases = 0
            for operation, figures in measure(context.document).items():
                total_aliases += figures.aliases
                if figures.depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            operation,
                            extensions=_extensions(
                                ErrorCode.QUERY_TOO_DEEP, depth=figures.depth, limit=max_depth
                            ),
                        )
                    )
            if total_aliases > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"{total_aliases} aliases found. Allowed: {max_aliases}",
                        extensions=_extensions(
                            ErrorCode.TOO_MANY_ALIASES, aliases=total_aliases, limit=max_aliases
                        ),
                    )
                )

    return [DocumentLimits, NoNulInStrings]


def _extensions(code: ErrorCode, **figures: int) -> dict[str, Any]:
    return {"code": code, **{name: json_int(value) for name, value in figures.items()}}


MAX_VARIABLE_DEPTH = 32
MAX_VARIABLE_VALUES = 10_000


def variables_problem(variables: dict[str, Any] | None) -> str | None:
    """What makes these request variables unusable, or None.

    Checked before graphql-core reads them: coercing, then converting, values costs time in
    their number (a 630 kB filter took seconds), and PostgreSQL cannot store a NUL character,
    so a string holding one could only fail later, less clearly. Filters take far fewer values
    and nest far less deeply (api.click_filter).
    """
    if not variables:
        return None
    count = 0
    pending: list[tuple[object, int]] = [(variables, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "a variable holds a NUL character (\\u0000), which no text field can store"
        elif isinstance(value, dict | list):
            if depth == MAX_VARIABLE_DEPTH:
                return f"variables nest deeper than {MAX_VARIABLE_DEPTH} levels"
            # Counted before they are walked: a list of a million items is refused at once.
            count += len(value)
            if count > MAX_VARIABLE_VALUES:
                return f"variables hold more than {MAX_VARIABLE_VALUES} values"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    return "a variable's field name holds a NUL character (\\u0000)"
                pending.append((item, depth + 1))
    return None
