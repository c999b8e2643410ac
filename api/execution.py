"""A graphql-core executor that completes plain data without its per-field machinery.

graphql-core spends ~15 us on every field of every object: a response path, a resolve info,
Strawberry's resolver wrapper, then completion by type. For a field Strawberry answers by
reading an attribute that is wasted: a thousand report rows of fifteen fields cost ~80 ms.

A field is *plain* when Strawberry would only read an attribute for it (no resolver, no
arguments, no permission classes or field extensions), carries no directive but @skip/@include,
and everything it selects is plain too: scalars, enums, objects of plain fields (without
`is_type_of`), lists of those, `__typename`. For each plain field the executor builds, once per
operation and selection, a function that reads the attribute and completes the value as
graphql-core would (scalars and enums serialized, aliases, nested objects and lists), and it
calls that function instead of executing the field.

Whatever the function cannot complete as graphql-core would without help (a null where the
type forbids one, a value a scalar refuses, an awaitable, an iterable that is not a list or
tuple), it refuses by raising; the field then runs through graphql-core's own path, which
reports the error (with its path and null propagation) exactly as always. A plain field is an
attribute read, so reading it again changes nothing (short of a property with side effects).
Every other field, field middleware (a schema extension with a `resolve` hook) and
@defer/@stream run graphql-core's path only.
"""

from collections.abc import Callable
from enum import Enum
from math import isfinite
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.incremental.incremental_executor import DeliveryGroupMap
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

Complete = Callable[[object], object]
# The directives graphql-core applies while collecting fields; any other one is left to it.
_COLLECTION_DIRECTIVES = frozenset({"skip", "include"})
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1
# A type and the identity of a list of field nodes.
_Key = tuple[object, int]
# A response name, its field nodes, and the function completing it if the field is plain.
_Planned = tuple[str, FieldDetailsList, Complete | None]


class NotPlain(Exception):
    """A value the fast completion leaves to graphql-core (which may well accept it)."""


class PlainDataExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing plain fields directly (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        # Field middleware must see every field: with any, nothing takes the fast path.
        manager = self.middleware_manager
        self._fast = not (manager is not None and manager.middlewares)
        # Memos keyed like graphql-core's own, on the identity of collected field lists; each
        # entry keeps its list alive so that the identity cannot be reused while it runs.
        self._plans: dict[_Key, tuple[GroupedFieldSet, tuple[_Planned, ...]]] = {}
        self._fields: dict[_Key, tuple[FieldDetailsList, Complete | None]] = {}
        self._values: dict[_Key, tuple[FieldDetailsList, Complete | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: object,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: DeliveryGroupMap | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's execute_fields, with plain fields completed directly."""
        # A position context means deferred or streamed delivery: graphql-core's business.
        if not self._fast or position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, complete in self._plan(
                parent_type, grouped_field_set
            ):
                if complete is not None:
                    try:
                        results[response_name] = complete(source_value)
                        continue
                    except Exception:  # noqa: S110
                        # graphql-core's path below completes it, or reports what is wrong.
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    None,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather(results, awaitable_fields)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: object,
        position_context: DeliveryGroupMap | None,
    ) -> AwaitableOrValue[Any]:
        """What a resolver returned, completed directly when all it selects is plain.

        This takes a resolver's list of plain objects (a page's nodes) in one loop.
        """
        if self._fast and position_context is None:
            complete = self._value(return_type, field_details_list)
            if complete is not None:
                try:
                    return complete(result)
                except Exception:  # noqa: S110
                    pass
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[_Planned, ...]:
        key = (parent_type, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is None:
            plan = tuple(
                (name, field_details_list, self._field(parent_type, field_details_list))
                for name, field_details_list in grouped_field_set.items()
            )
            cached = (grouped_field_set, plan)
            self._plans[key] = cached
        return cached[1]

    def _field(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        """The function completing this field of a `parent_type` value; None unless plain."""
        key = (parent_type, id(field_details_list))
        cached = self._fields.get(key)
        if cached is None:
            cached = (field_details_list, self._build_field(parent_type, field_details_list))
            self._fields[key] = cached
        return cached[1]

    def _build_field(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        name = field_details_list[0].node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda _source: type_name
        field_def = parent_type.fields.get(name)
        if field_def is None or field_def.args:
            return None
        attribute = _plain_attribute(
            field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        )
        if attribute is None:
            return None
        complete = self._value(field_def.type, field_details_list)
        if complete is None:
            return None
        return _reading(attrgetter(attribute), field_def.type, complete)

    def _value(
        self, type_: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        """The function completing a value of `type_`; None unless all it selects is plain."""
        key = (type_, id(field_details_list))
        cached = self._values.get(key)
        if cached is None:
            complete = (
                self._build_value(type_, field_details_list)
                if _plain_nodes(field_details_list)
                else None
            )
            cached = (field_details_list, complete)
            self._values[key] = cached
        return cached[1]

    def _build_value(
        self, type_: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        if is_non_null_type(type_):
            inner = self._build_value(type_.of_type, field_details_list)
            if inner is None:
                return None

            def complete_non_null(value: object) -> object:
                if value is None:
                    raise NotPlain
                return inner(value)

            return complete_non_null
        if is_list_type(type_):
            item = self._build_value(type_.of_type, field_details_list)
            if item is None:
                return None

            def complete_list(value: object) -> object:
                if value is None:
                    return None
                if value.__class__ is not list and value.__class__ is not tuple:
                    raise NotPlain
                return [item(element) for element in value]

            return complete_list
        if is_leaf_type(type_):
            return self._leaf(type_)
        if is_object_type(type_) and type_.is_type_of is None:
            return self._object(type_, field_details_list)
        return None

    def _object(
        self, type_: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(type_, field_details_list)
        if new_defer_usages:
            return None
        fields = []
        for name, sub_field_details_list in grouped_field_set.items():
            complete = self._field(type_, sub_field_details_list)
            if complete is None:
                return None
            fields.append((name, complete))
        is_awaitable = self.is_awaitable

        def complete_object(value: object) -> object:
            if value is None:
                return None
            # What graphql-core would raise or await rather than read from.
            if value is Undefined or isinstance(value, Exception) or is_awaitable(value):
                raise NotPlain
            return {name: complete(value) for name, complete in fields}

        return complete_object

    def _leaf(self, type_: GraphQLLeafType) -> Complete:
        coerce = type_.coerce_output_value
        is_awaitable = self.is_awaitable

        def complete_leaf(value: object) -> object:
            if value is None:
                return None
            if value is Undefined or isinstance(value, Exception) or is_awaitable(value):
                raise NotPlain
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise NotPlain
            return coerced

        if isinstance(type_, GraphQLEnumType):
            return _enum(type_, complete_leaf)
        return complete_leaf


def _plain_nodes(field_details_list: FieldDetailsList) -> bool:
    """No @defer above the nodes, no directive on them that graphql-core applies later."""
    return all(
        details.defer_usage is None
        and all(
            directive.name.value in _COLLECTION_DIRECTIVES
            for directive in details.node.directives or ()
        )
        for details in field_details_list
    )


def _reading(
    read: Callable[[object], object], type_: GraphQLOutputType, complete: Complete
) -> Complete:
    """A field's completion: `complete` what `read` returns.

    Values the built-in scalars return unchanged skip `complete`: most fields of most rows.
    """
    scalar = get_nullable_type(type_)
    if scalar is GraphQLString or scalar is GraphQLID or scalar is GraphQLBoolean:
        unchanged = bool if scalar is GraphQLBoolean else str

        def complete_exact(source: object) -> object:
            value = read(source)
            return value if value.__class__ is unchanged else complete(value)

        return complete_exact
    if scalar is GraphQLInt:

        def complete_int(source: object) -> object:
            value = read(source)
            if value.__class__ is int and _MIN_INT <= value <= _MAX_INT:
                return value
            return complete(value)

        return complete_int
    if scalar is GraphQLFloat:

        def complete_float(source: object) -> object:
            value = read(source)
            if value.__class__ is float and isfinite(value):
                return value
            return complete(value)

        return complete_float

    def complete_read(source: object) -> object:
        return complete(read(source))

    return complete_read


def _enum(type_: GraphQLEnumType, otherwise: Complete) -> Complete:
    """Members of the Python enum a Strawberry enum wraps map to their names by lookup."""
    wrapped = getattr(type_, "wrapped_cls", None)
    if not (isinstance(wrapped, type) and issubclass(wrapped, Enum)):
        return otherwise
    names = {}
    for member in wrapped:
        try:
            names[member] = type_.coerce_output_value(member)
        except Exception:  # noqa: S112
            # graphql-core reports it when a query meets it.
            continue

    def complete_enum(value: object) -> object:
        if value.__class__ is wrapped:
            name = names.get(value)
            if name is not None:
                return name
        return otherwise(value)

    return complete_enum


def _plain_attribute(definition: object) -> str | None:
    """The attribute Strawberry reads for a field with no resolver and nothing around it."""
    if (
        isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and not definition.arguments
        and definition.default_resolver is getattr
    ):
        return definition.python_name
    return None


async def _gather(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """The results with their awaitables awaited, as graphql-core's execute_fields does it."""
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results
