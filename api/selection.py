"""What a query selects below a field, so a parent resolver can load only what is asked for.

Read from graphql-core's nodes, one level at a time, each fragment read once per level:
Strawberry's `info.selected_fields` converts the whole subtree and expands every fragment
spread, which a document of fragments spreading each other twice makes exponential.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
)
from strawberry import Info


@dataclass(frozen=True, slots=True)
class Selection:
    """The selections at one level of a query, with the document's fragments."""

    nodes: tuple[SelectionNode, ...]
    fragments: Mapping[str, FragmentDefinitionNode]

    def under(self, *path: str) -> "Selection":
        """The selections under ``path`` (field names), through fragments."""
        current = self
        for name in path:
            current = Selection(
                tuple(
                    child
                    for field in current.fields()
                    if field.name.value == name and field.selection_set is not None
                    for child in field.selection_set.selections
                ),
                self.fragments,
            )
        return current

    def names(self) -> set[str]:
        """Names of the fields selected at this level, through fragments."""
        return {field.name.value for field in self.fields()}

    def fields(self) -> Iterator[FieldNode]:
        visited: set[str] = set()
        pending = list(reversed(self.nodes))
        while pending:
            node = pending.pop()
            if isinstance(node, FieldNode):
                yield node
            elif isinstance(node, InlineFragmentNode):
                pending.extend(reversed(node.selection_set.selections))
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in visited:
                visited.add(node.name.value)
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    pending.extend(reversed(fragment.selection_set.selections))

    def __add__(self, other: "Selection") -> "Selection":
        return Selection(self.nodes + other.nodes, self.fragments)


def selection(info: Info) -> Selection:
    """What the resolver's own field selects (all its nodes, when fields merge)."""
    # Strawberry keeps graphql-core's resolve info, which has the nodes and the fragments.
    raw = info._raw_info
    return Selection(
        tuple(
            child
            for node in raw.field_nodes
            if node.selection_set is not None
            for child in node.selection_set.selections
        ),
        raw.fragments,
    )
