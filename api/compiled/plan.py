"""A document's `clicks` pages compiled into one SQL statement each, or None.

A document compiles when it is a query whose every root field is `clicks` (or
`__typename`) and whose every field below is plain data that `api.compiled.sql` writes:
connection fields (nodes, edges with cursors, pageInfo), the click's columns, the plain
fields of its campaign, offer and source, its event lists with their fields. Fragments and
inline fragments on the selected types are followed; directives, `totalCount`, the click's
IP, the catalog types' resolvers and anything else make it None, and the document runs
through the normal executor.

Without a filter, the statement's text depends on the order and on whether a cursor is
given: each variant is built once, when first asked for. Parameters: the workspace, the page
size, one pair per `events(types, statuses)` field, then the cursor's time and id. With a
filter, the page comes from the normal path's statement, whose parameters come first.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from api.compiled import sql
from api.pagination import CursorScope, cursor_prefix

# The root field, and the list its cursors name (api.clicks.queries).
CLICKS_FIELD = "clicks"
_MAX_PAIRS = 50  # json_build_object takes at most 100 arguments.


class NotCompiled(Exception):
    """Something in the document the compiled path does not write."""


@dataclass(frozen=True, slots=True)
class EventArguments:
    """An `events` field whose arguments become parameters at request time."""

    definition: GraphQLField
    node: FieldNode


# Builds a statement: (newest first, cursor prefix, page, has a cursor, first parameter
# number) -> text, where page is the `page` CTE's text when a filter gave it (its parameters
# come first).
Build = Callable[[bool, str, str | None, bool, int], str]


@dataclass(slots=True)
class ClicksField:
    """One `clicks` root field."""

    key: str
    definition: GraphQLField
    node: FieldNode
    events: list[EventArguments]
    build: Build
    statements: dict[tuple[bool, bool], str] = field(default_factory=dict)

    def statement(self, *, newest_first: bool, order: str, after: bool) -> str:
        """The statement of a page without a filter: built once per order and cursor use."""
        key = (newest_first, after)
        text = self.statements.get(key)
        if text is None:
            text = self.build(newest_first, _prefix(order), None, after, 1)
            self.statements[key] = text
        return text

    def filtered_statement(
        self, *, newest_first: bool, order: str, after: bool, page: str, page_parameters: int
    ) -> str:
        """The statement around ``page``, a filtered page's SQL taking the first parameters."""
        return self.build(newest_first, _prefix(order), page, after, page_parameters + 1)


def _prefix(order: str) -> str:
    return cursor_prefix(CursorScope(CLICKS_FIELD, order))


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    document: DocumentNode
    # Root response keys in order: a constant (__typename) or a compiled `clicks` field.
    roots: tuple[tuple[str, str | ClicksField], ...]


def compile_document(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan | None:
    """The plan of a parsed and validated document's operation, or None."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        # Several operations without a name are refused by the normal path.
        candidates = operations if len(operations) == 1 else []
    else:
        candidates = [o for o in operations if o.name and o.name.value == operation_name]
    if len(candidates) != 1 or candidates[0].operation is not OperationType.QUERY:
        return None
    operation = candidates[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    compiler = _Compiler(schema, fragments)
    try:
        roots = compiler.roots(operation.selection_set)
    except NotCompiled:
        return None
    return Plan(operation, document, roots)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def roots(self, selection_set: SelectionSetNode) -> tuple[tuple[str, str | ClicksField], ...]:
        query = self.schema.query_type
        assert query is not None
        roots: list[tuple[str, str | ClicksField]] = []
        for key, nodes in self.collect(query.name, [selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                roots.append((key, query.name))
            elif name == CLICKS_FIELD:
                roots.append((key, self.clicks(key, query.fields[name], nodes)))
            else:
                raise NotCompiled(name)
        return tuple(roots)

    def clicks(self, key: str, definition: GraphQLField, nodes: list[FieldNode]) -> ClicksField:
        events: list[EventArguments] = []
        connection = self.collect("ClickConnection", _children(nodes))

        def build(
            newest_first: bool, prefix: str, page: str | None, after: bool, first: int
        ) -> str:
            # The same numbering every time: workspace, page size, then the event lists'
            # arguments in selection order, then the cursor's time and id.
            params = _Params(start=first)
            workspace, size = params.next(), params.next()
            names = _Names(workspace, size, params)
            expression = self.connection(connection, newest_first, prefix, after, names)
            if page is None:
                cursor = (params.next(), params.next()) if after else None
                page = sql.keyset_page(
                    newest_first=newest_first, after=cursor, workspace=workspace, size=size
                )
            return sql.click_page(
                expression, page, newest_first=newest_first, workspace=workspace, size=size
            )

        # Built once now, to refuse what cannot compile and to list the `events` fields.
        names = _Names("$1", "$2", _Params(start=3))
        self.connection(connection, True, "", False, names, events)
        return ClicksField(key, definition, nodes[0], events, build)

    def connection(
        self,
        fields: dict[str, list[FieldNode]],
        newest_first: bool,
        prefix: str,
        after: bool,
        names: "_Names",
        events: list[EventArguments] | None = None,
    ) -> str:
        order = sql.order_by(newest_first)
        pairs = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                value = sql.literal("ClickConnection") + "::text"
            elif name == "nodes":
                click = self.click(_children(nodes), names, events)
                value = sql.page_array(click, order)
            elif name == "edges":
                edge = self.edge(_children(nodes), prefix, names, events)
                value = sql.page_array(edge, order)
            elif name == "pageInfo":
                value = self.page_info(_children(nodes), newest_first, prefix, after, names)
            else:
                raise NotCompiled(name)
            pairs.append((key, value))
        return _object(pairs)

    def edge(
        self,
        selection: list[SelectionSetNode],
        prefix: str,
        names: "_Names",
        events: list[EventArguments] | None,
    ) -> str:
        pairs = []
        for key, nodes in self.collect("ClickEdge", selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                value = sql.literal("ClickEdge") + "::text"
            elif name == "cursor":
                value = sql.cursor(prefix)
            elif name == "node":
                value = self.click(_children(nodes), names, events)
            else:
                raise NotCompiled(name)
            pairs.append((key, value))
        return _object(pairs)

    def page_info(
        self,
        selection: list[SelectionSetNode],
        newest_first: bool,
        prefix: str,
        after: bool,
        names: "_Names",
    ) -> str:
        first = sql.order_by(newest_first)
        last = sql.order_by(newest_first, reverse=True)
        expressions = {
            "__typename": sql.literal("PageInfo") + "::text",
            "hasNextPage": f"((SELECT count(*) FROM page) > {names.size})",
            "hasPreviousPage": "true" if after else "false",
            "startCursor": f"(SELECT {sql.cursor(prefix)} FROM shown c ORDER BY {first} LIMIT 1)",
            "endCursor": f"(SELECT {sql.cursor(prefix)} FROM shown c ORDER BY {last} LIMIT 1)",
        }
        pairs = []
        for key, nodes in self.collect("PageInfo", selection).items():
            value = expressions.get(nodes[0].name.value)
            if value is None:
                raise NotCompiled(nodes[0].name.value)
            pairs.append((key, value))
        return _object(pairs)

    def click(
        self,
        selection: list[SelectionSetNode],
        names: "_Names",
        events: list[EventArguments] | None,
    ) -> str:
        click_type = self.schema.type_map["Click"]
        pairs = []
        for key, nodes in self.collect("Click", selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                value = sql.literal("Click") + "::text"
            elif name in sql.CLICK_FIELDS:
                value = sql.CLICK_FIELDS[name]
            elif name in sql.REFERENCES:
                reference = sql.REFERENCES[name]
                value = reference.json(self.reference(reference, _children(nodes)), names.workspace)
            elif name in sql.EVENT_LISTS:
                types = statuses = ""
                if name == "events":
                    types, statuses = names.params.next(), names.params.next()
                    if events is not None:
                        definition = click_type.fields[name]  # type: ignore[attr-defined]
                        events.append(EventArguments(definition, nodes[0]))
                condition = sql.EVENT_LISTS[name](types, statuses)
                value = sql.event_list(self.event(_children(nodes)), condition, names.workspace)
            else:
                raise NotCompiled(name)
            pairs.append((key, value))
        return _object(pairs)

    def reference(self, reference: sql.Reference, selection: list[SelectionSetNode]) -> str:
        pairs = []
        for key, nodes in self.collect(reference.type_name, selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                value = sql.literal(reference.type_name) + "::text"
            elif name in reference.fields:
                value = reference.fields[name]
            else:
                raise NotCompiled(name)
            pairs.append((key, value))
        return _object(pairs)

    def event(self, selection: list[SelectionSetNode]) -> str:
        pairs = []
        for key, nodes in self.collect("ConversionEvent", selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                value = sql.literal("ConversionEvent") + "::text"
            elif name in sql.EVENT_FIELDS:
                value = sql.EVENT_FIELDS[name]
            else:
                raise NotCompiled(name)
            pairs.append((key, value))
        return _object(pairs)

    def collect(
        self, type_name: str, selection_sets: list[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key, in the order graphql-core's collect_fields gives them.

        Fragments are followed only on ``type_name`` itself (the selected types are object
        types, and implement no interface); any directive refuses the document.
        """
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for node in _walk(selection_sets, self.fragments, type_name, visited):
            key = node.alias.value if node.alias else node.name.value
            fields.setdefault(key, []).append(node)
        return fields


def _walk(
    selection_sets: list[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
    type_name: str,
    visited: set[str],
) -> Iterator[FieldNode]:
    for selection_set in selection_sets:
        for node in selection_set.selections:
            if node.directives:
                raise NotCompiled("directive")
            if isinstance(node, FieldNode):
                yield node
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                if condition is not None and condition.name.value != type_name:
                    raise NotCompiled("type condition")
                yield from _walk([node.selection_set], fragments, type_name, visited)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = fragments[name]
                if fragment.directives or fragment.type_condition.name.value != type_name:
                    raise NotCompiled("fragment")
                yield from _walk([fragment.selection_set], fragments, type_name, visited)


def _children(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [node.selection_set for node in nodes if node.selection_set is not None]


def _object(pairs: list[tuple[str, str]]) -> str:
    if len(pairs) > _MAX_PAIRS:
        raise NotCompiled("too many fields")
    return sql.json_object(pairs)


@dataclass(frozen=True, slots=True)
class _Names:
    """Parameters of a statement: the workspace's, the page size's, and those to number."""

    workspace: str
    size: str
    params: "_Params"


class _Params:
    def __init__(self, *, start: int) -> None:
        self.number = start

    def next(self) -> str:
        name = f"${self.number}"
        self.number += 1
        return name
