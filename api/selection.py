"""What a query selects below a field, so a parent resolver can load only what is asked for."""

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selected(selections: Iterable[Selection], *path: str) -> list[Selection]:
    """The selections under ``path`` (field names), through fragments, from ``selections``."""
    current: Sequence[Selection] = list(selections)
    for name in path:
        current = [
            child for field in _fields(current) if field.name == name for child in field.selections
        ]
    return list(current)


def names(selections: Iterable[Selection]) -> set[str]:
    """Names of the fields selected at this level, through fragments."""
    return {field.name for field in _fields(selections)}


def _fields(selections: Iterable[Selection]) -> list[SelectedField]:
    fields: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            fields.extend(_fields(selection.selections))
    return fields
