"""A document's `clicks` pages compiled into one SQL statement each, or None.

A document compiles when it is a query whose every root field is `clicks`, `report` (see
`api.compiled.report`) or `__typename`, and whose every field below a `clicks` is plain data
that `api.compiled.sql` writes:
connection fields (nodes, edges with cursors, pageInfo), the click's columns, the plain
fields of its campaign, offer and source, its event lists with their fields. Fragments and
inline fragments on the selected types are followed; directives, `totalCount`, the click's
IP, the catalog types' resolvers and anything else make it None, and the document runs
through the normal executor.

A statement's text depends on the page's order and size, on whether a cursor is given, and
on which `events(types, statuses)` arguments are null: each variant is built once, when first
asked for. The size is written into the text and null arguments leave their condition out,
so that PostgreSQL plans a prepared variant once (a generic plan) instead of at every
request: a custom plan cost ~0.5 ms of PostgreSQL's CPU for a flat page of 100 clicks and
~1.3 ms with their events (8 partitions a page), more than running them. Parameters: the
workspace, the non-null `events` arguments in selection order, then the cursor's time and
id. With a filter, the page comes from the normal path's statement, whose parameters come
first.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from cachetools import LRUCache
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

from api.compiled import report, sql
from api.pagination import CursorScope, cursor_prefix
from models import literals

# The root field, and the list its cursors name (api.clicks.queries).
CLICKS_FIELD = "clicks"
_MAX_PAIRS = 50  # json_build_object takes at most 100 arguments.
# Statement variants a `clicks` field keeps (orders x sizes x cursor x null arguments).
_VARIANTS = 64


class NotCompiled(Exception):
    """Something in the document the compiled path does not write."""


@dataclass(frozen=True, slots=True)
class EventArguments:
    """An `events` field whose arguments become parameters at request time."""

    definition: GraphQLField
    node: FieldNode


@dataclass(frozen=True, slots=True)
class Variant:
    """What a statement's text depends on, besides the document."""

    newest_first: bool
    order: str
    size: int
    after: bool
    # Per `events` field in selection order: whether its types and its statuses are given.
    events: tuple[tuple[bool, bool], ...]


@dataclass(slots=True)
class ClicksField:
    """One `clicks` root field."""

    key: str
    definition: GraphQLField
    node: FieldNode
    events: list[EventArguments]
    selection: list[SelectionSetNode]
    compiler: "_Compiler"
    # Whether PostgreSQL's JSON text is the answer's but for whitespace (sql.NUMBERS).
    verbatim: bool
    statements: LRUCache[Variant, str] = field(default_factory=lambda: LRUCache(maxsize=_VARIANTS))

    def statement(self, variant: Variant) -> str:
        """The statement of a page without a filter: built once per variant."""
        text = self.statements.get(variant)
        if text is None:
            text = self.build(variant, None, 1)
            self.statements[variant] = text
        return text

    def filtered_statement(self, variant: Variant, *, page: str, page_parameters: int) -> str:
        """The statement around ``page``, a filtered page's SQL taking the first parameters."""
        return self.build(variant, page, page_parameters + 1)

    def build(self, variant: Variant, page: str | None, first: int) -> str:
        statement = _Statement(self.compiler, variant, first=first)
        connection = statement.object("ClickConnection", self.selection)
        if page is None:
            cursor = (statement.parameter(), statement.parameter()) if variant.after else None
            page = sql.keyset_page(
                newest_first=variant.newest_first,
                after=cursor,
                workspace=statement.workspace,
                size=variant.size,
            )
        return sql.click_page(
            connection,
            page,
            newest_first=variant.newest_first,
            workspace=statement.workspace,
            size=variant.size,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    document: DocumentNode
    # Root response keys in order: a constant (__typename), a compiled `clicks` field or a
    # `report` field (api.compiled.report).
    roots: tuple[tuple[str, "Root"], ...]


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

    def roots(self, selection_set: SelectionSetNode) -> tuple[tuple[str, "Root"], ...]:
        query = self.schema.query_type
        assert query is not None
        roots: list[tuple[str, Root]] = []
        for key, nodes in self.collect(query.name, [selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                roots.append((key, query.name))
            elif name == CLICKS_FIELD:
                roots.append((key, self.clicks(key, query.fields[name], nodes)))
            elif name == report.REPORT_FIELD:
                try:
                    compiled = report.compile_report(
                        self.collect, self.fragments, key, query.fields[name], nodes
                    )
                except report.NotCompiled as error:
                    raise NotCompiled(name) from error
                roots.append((key, compiled))
            else:
                raise NotCompiled(name)
        return tuple(roots)

    def clicks(self, key: str, definition: GraphQLField, nodes: list[FieldNode]) -> ClicksField:
        # Built once now, with every `events` argument given, to refuse what cannot compile
        # and to list the `events` fields.
        probe = _Statement(self, Variant(True, "", 1, False, ()), first=1, probing=True)
        selection = _children(nodes)
        probe.object("ClickConnection", selection)
        return ClicksField(
            key, definition, nodes[0], probe.event_fields, selection, self, probe.verbatim
        )

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


Root = str | ClicksField | report.ReportField
# A field's JSON value: an expression, or one written from the field's nodes.
_Value = str | Callable[[list[FieldNode]], str]


class _Statement:
    """The JSON expression of one variant of a `clicks` field, parameters numbered in the
    order the fields are met (the same order every time)."""

    def __init__(
        self, compiler: _Compiler, variant: Variant, *, first: int, probing: bool = False
    ) -> None:
        self.compiler = compiler
        self.variant = variant
        self.number = first
        self.workspace = self.parameter()
        # Probing: every argument counts as given, and the `events` fields are listed.
        self.probing = probing
        self.event_fields: list[EventArguments] = []
        self.verbatim = True
        self.prefix = cursor_prefix(CursorScope(CLICKS_FIELD, variant.order))
        order = sql.order_by(variant.newest_first)
        last = sql.order_by(variant.newest_first, reverse=True)
        page_info: dict[str, _Value] = {
            "hasNextPage": f"((SELECT count(*) FROM page) > {variant.size})",
            "hasPreviousPage": "true" if variant.after else "false",
            "startCursor": f"(SELECT {sql.cursor(self.prefix)} FROM shown c ORDER BY {order} "
            "LIMIT 1)",
            "endCursor": f"(SELECT {sql.cursor(self.prefix)} FROM shown c ORDER BY {last} LIMIT 1)",
        }
        click: dict[str, _Value] = {
            **sql.CLICK_FIELDS,
            **{name: self._reference(reference) for name, reference in sql.REFERENCES.items()},
            **{name: self._event_list(name) for name in sql.EVENT_LISTS},
        }
        # GraphQL type -> its fields this path writes.
        self.types: Mapping[str, Mapping[str, _Value]] = {
            "ClickConnection": {
                "nodes": lambda nodes: sql.page_array(self._children("Click", nodes), order),
                "edges": lambda nodes: sql.page_array(self._children("ClickEdge", nodes), order),
                "pageInfo": lambda nodes: self._children("PageInfo", nodes),
            },
            "ClickEdge": {
                "cursor": sql.cursor(self.prefix),
                "node": lambda nodes: self._children("Click", nodes),
            },
            "PageInfo": page_info,
            "Click": click,
            "ConversionEvent": sql.EVENT_FIELDS,
            **{reference.type_name: reference.fields for reference in sql.REFERENCES.values()},
        }
        self._events = iter(variant.events)

    def parameter(self) -> str:
        name = f"${self.number}"
        self.number += 1
        return name

    def object(self, type_name: str, selection: list[SelectionSetNode]) -> str:
        """json_build_object of the selected fields of ``type_name``."""
        fields = self.types[type_name]
        pairs = []
        for key, nodes in self.compiler.collect(type_name, selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                pairs.append((key, literals.text(type_name) + "::text"))
                continue
            value = fields.get(name)
            if value is None:
                raise NotCompiled(name)
            if (type_name, name) in sql.NUMBERS:
                self.verbatim = False
            pairs.append((key, value if isinstance(value, str) else value(nodes)))
        if len(pairs) > _MAX_PAIRS:
            raise NotCompiled("too many fields")
        return sql.json_object(pairs)

    def _children(self, type_name: str, nodes: list[FieldNode]) -> str:
        return self.object(type_name, _children(nodes))

    def _reference(self, reference: sql.Reference) -> Callable[[list[FieldNode]], str]:
        return lambda nodes: reference.json(
            self._children(reference.type_name, nodes), self.workspace
        )

    def _event_list(self, name: str) -> Callable[[list[FieldNode]], str]:
        def value(nodes: list[FieldNode]) -> str:
            types = statuses = None
            if name == "events":
                if self.probing:
                    click_type = self.compiler.schema.type_map["Click"]
                    definition = click_type.fields[name]  # type: ignore[attr-defined]
                    self.event_fields.append(EventArguments(definition, nodes[0]))
                    given = (True, True)
                else:
                    given = next(self._events)
                types = self.parameter() if given[0] else None
                statuses = self.parameter() if given[1] else None
            condition = sql.EVENT_LISTS[name](types, statuses)
            return sql.event_list(
                self._children("ConversionEvent", nodes), condition, self.workspace
            )

        return value


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
